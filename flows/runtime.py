"""Prefect and MLflow switches for an offline, self-contained run.

Set before Prefect or MLflow is imported (NOTES.md): no telemetry or
analytics calls out of a council's network, Prefect's own files under the
product's home rather than the user's, a start-up timeout that a cold
two-core machine can meet. Values already in the environment win, so an
operator can point ``PREFECT_API_URL`` at a real Prefect server.
"""

from __future__ import annotations

import os
from pathlib import Path

OFFLINE_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # The project's own loggers reach the flow run's logs in Prefect's UI (at INFO while a
    # night runs, :mod:`flows.night_log`); outside a run they stay on the console only.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "early_warning,flows,features,models",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    # Dask's workers and scheduler (a fanned-out night) say only what needs attention.
    "DASK_LOGGING__DISTRIBUTED": "warning",
}


def configure_runtime(home: Path) -> None:
    """Point Prefect at ``<home>/prefect`` and switch off everything that calls out."""
    prefect_home = (home / "prefect").resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
