"""A Prefect API inside the nightly process, for a one-off night with no Prefect server.

With no ``PREFECT_API_URL``, Prefect 3 starts a temporary server in a second
Python process (``SubprocessASGIServer``): that process imports Prefect and
its server again, and the flow waits for it; on two cores that cost more
than every stage of a 6,000-resident night (issue 18). It is also left
running if the night is killed with SIGKILL, because only an ``atexit``
hook stops it. Here the same server application (``create_app(ephemeral=True)``,
the services Prefect runs for its temporary server, the home's
``prefect.db``) is served by uvicorn on a thread of the nightly process
itself, on a loopback port the kernel picks: no second interpreter, no second
import of Prefect, and nothing that can outlive the night.

The flow, its task runs and its artefact are recorded exactly as before;
only where the API runs changes. ``early-warning schedule`` still starts a
real server (scheduling needs one), and ``PREFECT_API_URL`` still wins.
"""

from __future__ import annotations

import contextvars
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Block types are for Prefect's UI and deployments, which a one-off night does not
#: use; registering them imports every installed Prefect collection (prefect-dask,
#: so Dask) on each start. ``early-warning schedule``'s server still registers them.
SETTINGS = {"PREFECT_API_BLOCKS_REGISTER_ON_START": "false"}


class LocalApiDidNotStart(RuntimeError):
    """The in-process Prefect API did not answer within its start-up timeout."""


@contextmanager
def in_process_prefect_api(startup_timeout: float = 120) -> Iterator[str]:
    """Serve Prefect's API on a thread for as long as the block lasts; yield its URL.

    ``PREFECT_API_URL`` is set for the block (in the environment, for code
    that reads it afresh, and in Prefect's settings context, which the
    server's thread shares) and restored afterwards. On leaving, the flow's
    queued events and logs are sent first, then the server's services stop
    and the thread is joined, so every task run is in ``prefect.db`` before
    the process exits.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    api_url = f"http://127.0.0.1:{listener.getsockname()[1]}/api"
    wanted = {"PREFECT_API_URL": api_url, **SETTINGS}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        from prefect.settings import PREFECT_API_BLOCKS_REGISTER_ON_START, PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url, PREFECT_API_BLOCKS_REGISTER_ON_START: False}):
            server, thread = _start(listener, startup_timeout)
            try:
                yield api_url
                _drain_prefect_workers()
            finally:
                server.should_exit = True
                thread.join(timeout=60)
    finally:
        listener.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _start(listener: socket.socket, startup_timeout: float) -> tuple[Any, threading.Thread]:
    """Start uvicorn on ``listener`` in a thread that sees this thread's Prefect settings."""
    import uvicorn
    from prefect.server.api.server import create_app

    app = create_app(ephemeral=True, final=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run,
        args=(server.run,),
        kwargs={"sockets": [listener]},
        name="prefect-api",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise LocalApiDidNotStart("Prefect's API stopped while starting (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise LocalApiDidNotStart(f"Prefect's API did not start within {startup_timeout:.0f} s")
        time.sleep(0.05)
    return server, thread


def _drain_prefect_workers() -> None:
    """Send the events (task-run states) and logs Prefect still holds before the API goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=30)
    APILogWorker.drain_all(timeout=30)
