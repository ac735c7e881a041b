"""early_warning."""
