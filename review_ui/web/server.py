"""``early-warning serve``: run the review app with uvicorn, one worker process per core.

One Python process renders pages on one core at a time (the GIL), so on a
two-core machine a single process left half the machine idle while requests
queued. Workers are safe because nothing a request needs lives in a process:
sessions, throttling and the audit log are in the queue database, and the
cookie-signing key comes from the settings or ``<home>/web_secret_key``.

With more than one worker the parent process builds the app once first (it
migrates the database, checks the front-end files and makes the secret key
file, so those happen once and an error is reported once), then uvicorn's
supervisor starts the workers on one shared socket. Each worker builds its
own app from the same settings (passed to it, not re-read from the
environment) with its own database connections. SIGINT or SIGTERM to the
parent stops the workers cleanly.
"""

from __future__ import annotations

import os
from functools import partial

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from early_warning.settings import Settings
from review_ui.web.app import create_app

#: Without a setting, one worker per core, but no more than this: each worker
#: holds its own pool of database connections (up to 15 on PostgreSQL).
DEFAULT_MAX_WORKERS = 4

#: How long uvicorn's supervisor waits for a worker to answer its health check. Its default,
#: 5 s, is why the first ``serve`` logged "Child process [...] died": a worker is a *spawned*
#: process, which must import the app (FastAPI, SQLAlchemy, Alembic, polars: 18-20 s measured
#: on a loaded two-core machine, more on a cold first start) before the thread that answers
#: the supervisor's ping starts; the supervisor pings 0.5 s after starting it, gave up after
#: 5 s, killed the worker and started another - which then started, its imports now cached.
WORKER_HEALTHCHECK_SECONDS = 120


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(settings: Settings, workers: int | None = None) -> int:
    """The command line's ``--workers``, else ``EARLY_WARNING_WORKERS``, else one per core (at most 4)."""
    chosen = workers if workers is not None else settings.workers
    if chosen is not None:
        if chosen < 1:
            raise ValueError(f"workers must be at least 1, not {chosen}")
        return chosen
    return min(available_cores(), DEFAULT_MAX_WORKERS)


def _worker_app(settings: Settings) -> FastAPI:
    """What each worker process serves (uvicorn calls it in the worker)."""
    return create_app(settings)


def serve(
    settings: Settings, *, host: str | None = None, port: int | None = None, workers: int | None = None
) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM); put a TLS proxy in front in production."""
    count = worker_count(settings, workers)
    if count == 1:
        uvicorn.run(
            create_app(settings),
            host=host or settings.host,
            port=port or settings.port,
            log_level="info",
            access_log=False,  # request paths hold item ids: the audit log is the record of who saw what
            server_header=False,
            proxy_headers=False,
        )
        return
    create_app(settings).state.engine.dispose()  # migrate, check and make the key once, here
    config = uvicorn.Config(
        partial(_worker_app, settings),
        factory=True,
        workers=count,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
