"""``early-warning serve``: run the review app with uvicorn."""

from __future__ import annotations

import uvicorn

from early_warning.settings import Settings
from review_ui.web.app import create_app


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM). One process; put a TLS proxy in front in production."""
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,  # request paths hold item ids: the audit log is the record of who saw what
        server_header=False,
        proxy_headers=False,
    )
