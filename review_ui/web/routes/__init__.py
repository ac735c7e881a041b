"""The review app's pages and API, one module per area."""
