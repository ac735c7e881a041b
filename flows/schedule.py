"""``early-warning schedule``: serve the nightly flow on a cron schedule.

Prefect cannot schedule against its temporary in-process API (NOTES.md), so
with no ``PREFECT_API_URL`` this starts a local Prefect server (SQLite under
``<home>/prefect``) and points the serving process at it. In production set
``PREFECT_API_URL`` to the council's Prefect server, or deploy with
``prefect deploy`` from ``prefect.yaml`` to a work pool instead.

The local server serves Prefect's UI on 127.0.0.1 (the flow runs, each
stage's log lines, the nightly artefact); its address is printed only once
it answers. The deployment runs one night at a time (a concurrency limit of
one; a run due while another is going waits for it), and each night takes
the home's lock as well (:mod:`flows.night_lock`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Europe/London"
DEPLOYMENT_NAME = "nightly"


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def ui_address(api_url: str) -> str | None:
    """The Prefect UI's address next to ``api_url`` if it answers with a page, else None."""
    ui = api_url.removesuffix("/api") + "/"
    try:
        with urllib.request.urlopen(ui, timeout=5) as response:
            page = response.read(4096).decode("utf-8", "replace").lower()
            return ui if response.status == 200 and "<html" in page else None
    except OSError:
        return None


@contextmanager
def local_prefect_server(home: Path, port: int, startup_timeout: float = 120) -> Iterator[str]:
    """Run ``prefect server start`` for as long as the block lasts; yield its API URL."""
    api_url = f"http://127.0.0.1:{port}/api"
    log = (home / "prefect").resolve()
    log.mkdir(parents=True, exist_ok=True)
    prefect = Path(sys.executable).parent / "prefect"
    with (log / "server.log").open("ab") as out:
        server = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            # The UI on (loopback only), unless the operator switched it off for this server.
            env=os.environ | {"PREFECT_UI_ENABLED": os.environ.get("EARLY_WARNING_PREFECT_UI", "true")},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        deadline = time.monotonic() + startup_timeout
        while not _healthy(api_url):
            if server.poll() is not None:
                raise RuntimeError(f"the Prefect server stopped while starting; see {log / 'server.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start within {startup_timeout:.0f} s")
            time.sleep(0.5)
        yield api_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _die_with_parent() -> None:
    """In the server's process, before it starts (Linux): ask the kernel for SIGTERM when the
    process that started it dies, however it dies (SIGKILL included), so a killed
    ``schedule`` never leaves a Prefect server behind (issue 21: four piled up)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the ``finally`` below is the only clean-up


def serve_nightly(
    *, extracts: Path, home: Path, config_dir: Path | None, cron: str, timezone: str, port: int = 4200
) -> None:
    """Serve the nightly deployment until stopped (SIGTERM or Ctrl-C); each run's night is its date."""
    from flows.runtime import configure_runtime

    configure_runtime(home)
    # A service manager stops us with SIGTERM: leave through ``finally`` so the
    # local server is stopped too and no process is left behind.
    signal.signal(signal.SIGTERM, _stop)
    if os.environ.get("PREFECT_API_URL"):
        _serve(extracts, home, config_dir, cron, timezone)
        return
    with local_prefect_server(home, port) as api_url:
        os.environ["PREFECT_API_URL"] = api_url
        print(f"Started a local Prefect server (logs in {home / 'prefect' / 'server.log'})", flush=True)
        ui = ui_address(api_url)
        if ui:
            print(f"Prefect UI (runs, each stage's log, the nightly summary): {ui}", flush=True)
        _serve(extracts, home, config_dir, cron, timezone)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serve(extracts: Path, home: Path, config_dir: Path | None, cron: str, timezone: str) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    from flows.nightly import nightly

    print(f"Serving the nightly run on '{cron}' ({timezone}); stop with Ctrl-C.", flush=True)
    nightly.serve(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={
            "extracts": str(extracts.resolve()),
            "as_of": "today",
            "home": str(home.resolve()),
            "config_dir": str(config_dir.resolve()) if config_dir else None,
        },
        pause_on_shutdown=False,
        # One night at a time: a run due while the last is still going waits for it.
        global_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
        limit=1,
    )
