"""Faults a night must survive, on real processes (issue 21 items 4, 6 and 7; issue 17 item 5).

Each night here is a real ``early-warning nightly`` process with no Prefect server
configured (so its API runs inside it and its runs land in the home's own
``prefect.db``), on a tiny borough of its own to keep the runs short. A test hook
(``EARLY_WARNING_TEST_PAUSE_AT``, :mod:`flows.night_log`) holds a night at the start
of a chosen stage, so it can be killed there or raced.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import psutil
import pytest

from early_warning.exit_codes import ALREADY_RUNNING, ROUTED
from early_warning.status import gather
from flows.night_log import PAUSE_AT_ENV, log_path
from review_ui.migrations import upgrade_to_head
from tests.flows.conftest import tiny_council
from tests.flows.test_nightly_flow import queue_dump
from tests.support.databases import empty_database

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
KILLED_IN = ("ingest", "link", "score", "route")


def _env(queue: Path | str, **extra: str) -> dict[str, str]:
    """A user's shell: no Prefect server configured; the queue in ``queue`` (a SQLite file, or a URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EARLY_WARNING_"))}
    url = queue if isinstance(queue, str) else f"sqlite:///{queue}"
    return env | {"EARLY_WARNING_DATABASE_URL": url, **extra}


def _start(
    extracts: Path,
    home: Path,
    env: dict[str, str],
    name: str,
    *,
    as_of: str = AS_OF,
    logs: Path | None = None,
) -> psutil.Popen:
    """A night as its own process; its console in ``logs/name.out`` and ``.err`` (default: beside the home)."""
    command = [sys.executable, "-m", "early_warning.cli", "nightly", "--extracts", str(extracts)]
    command += ["--as-of", as_of, "--home", str(home), "--config", str(tiny_council(extracts))]
    logs = logs or home.parent
    # The child has its own copies of the two files: ours are closed at once, not left to the GC.
    with open(logs / f"{name}.out", "w") as out, open(logs / f"{name}.err", "w") as err:
        return psutil.Popen(command, env=env, stdout=out, stderr=err)


def _log_lines(home: Path) -> list[dict[str, object]]:
    path = log_path(home)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_paused_at(night: psutil.Popen, home: Path, stage: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not any(
        line["stage"] == stage and str(line["message"]).startswith("paused") for line in _log_lines(home)
    ):
        assert night.poll() is None, f"the night ended before reaching {stage}"
        assert time.monotonic() < deadline, f"the night never reached {stage}"
        time.sleep(0.2)


def _kill(night: psutil.Popen) -> None:
    family = night.children(recursive=True)
    night.send_signal(signal.SIGKILL)
    night.wait(timeout=30)
    _, alive = psutil.wait_procs(family, timeout=10)
    assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"


def _flow_run_states(home: Path) -> list[str]:
    with sqlite3.connect(home / "prefect" / "prefect.db") as db:
        return [row[0] for row in db.execute("SELECT state_type FROM flow_run ORDER BY created")]


@pytest.fixture(scope="module")
def undisturbed(tiny_borough: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A night run once, start to end, with nothing in its way: what the others must match."""
    root = tmp_path_factory.mktemp("undisturbed")
    home, queue = root / "home", root / "queue.sqlite3"
    home.mkdir()
    night = _start(tiny_borough, home, _env(queue), "night")
    assert night.wait(timeout=600) == ROUTED, (root / "night.err").read_text()[-3000:]
    return home, queue


def _surfaced(home: Path) -> pl.DataFrame:
    return pl.read_parquet(home / "runs" / AS_OF / "surfaced.parquet").sort("person_id")


def test_a_second_night_on_the_same_home_exits_already_running_and_says_which_night_holds_it(
    tiny_borough: Path, tmp_path: Path
) -> None:
    home, queue = tmp_path / "home", tmp_path / "queue.sqlite3"
    home.mkdir()
    first = _start(tiny_borough, home, _env(queue, **{PAUSE_AT_ENV: "ingest"}), "first")
    try:
        _wait_paused_at(first, home, "ingest")
        started = time.monotonic()
        second = _start(tiny_borough, home, _env(queue), "second")
        assert second.wait(timeout=120) == ALREADY_RUNNING
        assert time.monotonic() - started < 60, "the second night should refuse at once"
        said = (tmp_path / "second.err").read_text()
        assert f"night {AS_OF}, since 20" in said, said
        assert f"PID {first.pid}" in said, said
        assert "Traceback" not in said
        # Nothing interleaved: the second night wrote no line of its own and never opened
        # Prefect's database (the first holds it, paused in ingest).
        said_in_log = [str(line["message"]) for line in _log_lines(home)]
        assert said_in_log[0].startswith(f"night {AS_OF} started: flow run"), said_in_log
        assert said_in_log[0].endswith(f"PID {first.pid}"), said_in_log
        assert said_in_log[1:] == [
            "ingest started",
            f"paused at the start of ingest for a test ({PAUSE_AT_ENV})",
        ]
        assert _flow_run_states(home) == ["RUNNING"]
        running = gather(home, f"sqlite:///{queue}").running
        assert running is not None
        assert (running["night"], running["pid"]) == (AS_OF, first.pid)
    finally:
        _kill(first)


@pytest.mark.timeout(1800)  # five nights as processes; about 10 minutes on a loaded two-core machine
def test_a_night_killed_in_each_stage_in_turn_then_re_run_gives_the_undisturbed_list_and_queue(
    tiny_borough: Path, tmp_path: Path, undisturbed: tuple[Path, Path]
) -> None:
    home, queue = tmp_path / "home", tmp_path / "queue.sqlite3"
    home.mkdir()
    for stage in KILLED_IN:
        night = _start(tiny_borough, home, _env(queue, **{PAUSE_AT_ENV: stage}), f"killed-in-{stage}")
        _wait_paused_at(night, home, stage)
        _kill(night)
        assert night.returncode == -signal.SIGKILL

    again = _start(tiny_borough, home, _env(queue), "again")
    assert again.wait(timeout=600) == ROUTED, (tmp_path / "again.err").read_text()[-3000:]
    said = (tmp_path / "again.err").read_text()
    assert "Took over the lock of night 2026-06-30" in said, said
    assert "which is no longer running" in said, said
    assert re.search(r"\[\s*\d+ s\] link finished in \d+\.\d s: records \d", said), said
    # The killed nights' runs, left RUNNING in Prefect, were marked Crashed by the re-run.
    assert _flow_run_states(home) == ["CRASHED"] * len(KILLED_IN) + ["COMPLETED"]

    undisturbed_home, undisturbed_queue = undisturbed
    assert _surfaced(home).equals(_surfaced(undisturbed_home))
    assert queue_dump(f"sqlite:///{queue}") == queue_dump(f"sqlite:///{undisturbed_queue}")
    status = gather(home, f"sqlite:///{queue}")
    assert status.last_whole == AS_OF
    assert status.running is None
    assert sum((status.open_items or {}).values()) == _surfaced(home).height


def test_a_queue_held_by_another_writer_is_named_at_once_and_the_night_routes_once_it_is_free(
    tiny_borough: Path, tmp_path: Path, undisturbed: tuple[Path, Path]
) -> None:
    """issue 21: a write-locked queue was silent for 2.5 minutes, then said only
    ``database is locked``; now each attempt names the file and who holds it."""
    home, queue = tmp_path / "home", tmp_path / "queue.sqlite3"
    home.mkdir()
    env = _env(queue, EARLY_WARNING_QUEUE_BUSY_SECONDS="2")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys,time; db=sqlite3.connect(sys.argv[1], isolation_level=None); "
            "db.execute('PRAGMA journal_mode=WAL'); db.execute('BEGIN IMMEDIATE'); "
            "print('held', flush=True); time.sleep(600)",
            str(queue),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        night = _start(tiny_borough, home, env, "night")
        deadline = time.monotonic() + 600
        while f"The review queue database {queue} is locked" not in (tmp_path / "night.err").read_text():
            assert night.poll() is None, (tmp_path / "night.err").read_text()[-3000:]
            assert time.monotonic() < deadline, "the locked queue was never named"
            time.sleep(0.5)
        said = (tmp_path / "night.err").read_text()
        assert f"PID {holder.pid} (python" in said, said
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    assert night.wait(timeout=600) == ROUTED, (tmp_path / "night.err").read_text()[-3000:]
    # Released, the route stage's next attempt routes the night as if nothing had happened.
    assert _surfaced(home).equals(_surfaced(undisturbed[0]))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs of its own (needs root, as in CI's container); skipped, saying why, without."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def queue_beside_small_disk(
    request: pytest.FixtureRequest, small_disk: Path, tmp_path: Path
) -> Iterator[str]:
    """The full-disk night's queue: a SQLite file on the small disk itself, or a PostgreSQL
    schema (off it, as on a council's database server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{small_disk / 'queue.sqlite3'}"
    else:
        with empty_database("postgresql", tmp_path) as url:
            yield url


def test_a_disk_that_fills_during_a_night_fails_it_cleanly_and_keeps_the_last_night_and_queue(
    tiny_borough: Path, tmp_path: Path, small_disk: Path, queue_beside_small_disk: str
) -> None:
    home, queue = small_disk / "home", queue_beside_small_disk
    home.mkdir()
    # Prefect's own database off the small disk: what fills is the night's outputs.
    env = _env(queue, PREFECT_HOME=str(tmp_path / "prefect"))
    first = _start(tiny_borough, home, env, "first", logs=tmp_path)
    assert first.wait(timeout=600) == ROUTED, (tmp_path / "first.err").read_text()[-3000:]
    last_night, last_queue = _files(home / "runs" / AS_OF), queue_dump(queue)

    free = os.statvfs(small_disk)
    filler = small_disk / "filler"
    with filler.open("wb") as out:
        out.truncate(0)
        out.write(b"\0" * (free.f_bavail * free.f_frsize - 64 * 1024))
    night = _start(tiny_borough, home, env, "full", as_of="2026-07-01", logs=tmp_path)
    code = night.wait(timeout=600)
    filler.unlink()
    said = (tmp_path / "full.err").read_text()
    assert code == 1, said[-3000:]
    assert "No space left on device" in said
    assert _files(home / "runs" / AS_OF) == last_night, "the last whole night's files changed"
    assert queue_dump(queue) == last_queue
    assert not list((home / "runs").rglob(".*.tmp-*")), "a half-written temporary file was left"


@pytest.fixture
def postgres_queue(tmp_path: Path) -> Iterator[str]:
    """An empty PostgreSQL schema for the queue (skipped, saying why, without a server)."""
    with empty_database("postgresql", tmp_path) as url:
        yield url


def _hold_postgres_queue(url: str) -> subprocess.Popen[bytes]:
    """Another session that write-locks the queue's main table (``EXCLUSIVE``: readers go on,
    writers wait) and keeps its transaction open until killed; prints its backend PID."""
    from sqlalchemy import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import psycopg,sys,time; db=psycopg.connect(sys.argv[1], application_name='holder'); "
            "db.execute('LOCK TABLE review_items IN EXCLUSIVE MODE'); "
            "print(db.execute('SELECT pg_backend_pid()').fetchone()[0], flush=True); time.sleep(600)",
            plain,
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    return holder


@pytest.mark.postgres
def test_a_postgres_queue_locked_by_another_session_is_named_and_the_night_routes_once_it_is_free(
    tiny_borough: Path, tmp_path: Path, undisturbed: tuple[Path, Path], postgres_queue: str
) -> None:
    """The PostgreSQL side of the test above: without a lock timeout the night waited for ever
    on the held table, saying nothing; now each attempt fails after the busy timeout naming
    the session that holds the lock, and the next attempt routes once it is gone."""
    home = tmp_path / "home"
    home.mkdir()
    upgrade_to_head(postgres_queue)  # the queue exists, as it does on a council's server
    holder = _hold_postgres_queue(postgres_queue)
    try:
        backend_pid = int(holder.stdout.readline())  # type: ignore[union-attr]
        night = _start(
            tiny_borough, home, _env(postgres_queue, EARLY_WARNING_QUEUE_BUSY_SECONDS="2"), "night"
        )
        deadline = time.monotonic() + 600
        while "The review queue database postgresql" not in (tmp_path / "night.err").read_text():
            assert night.poll() is None, (tmp_path / "night.err").read_text()[-3000:]
            assert time.monotonic() < deadline, "the locked queue was never named"
            time.sleep(0.5)
        said = (tmp_path / "night.err").read_text()
        assert "is locked by another session" in said, said
        assert f"PID {backend_pid} (holder, from " in said, said
        assert "waited 2 s. Nothing was routed by this attempt." in said, said
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    assert night.wait(timeout=600) == ROUTED, (tmp_path / "night.err").read_text()[-3000:]
    assert _surfaced(home).equals(_surfaced(undisturbed[0]))


def _sessions_waiting_on(url: str, holder_backend_pid: int) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
            return int(connection.execute(text(query), {"pid": holder_backend_pid}).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.timeout(1200)
def test_a_night_on_postgres_killed_before_and_inside_routing_then_re_run_gives_the_undisturbed_list(
    tiny_borough: Path, tmp_path: Path, undisturbed: tuple[Path, Path], postgres_queue: str
) -> None:
    """The queue-side kills of the SQLite test above on PostgreSQL: a night killed at the start
    of scoring, then one killed inside routing's transaction (held there by another session's
    lock until it is killed), leave no half-routed night and no lock behind (the server ends a
    dead session's transaction), and the re-run routes what an undisturbed night routes."""
    home = tmp_path / "home"
    home.mkdir()
    night = _start(tiny_borough, home, _env(postgres_queue, **{PAUSE_AT_ENV: "score"}), "killed-in-score")
    _wait_paused_at(night, home, "score")
    _kill(night)

    upgrade_to_head(postgres_queue)
    holder = _hold_postgres_queue(postgres_queue)
    try:
        backend_pid = int(holder.stdout.readline())  # type: ignore[union-attr]
        night = _start(tiny_borough, home, _env(postgres_queue), "killed-in-route")
        deadline = time.monotonic() + 600
        while _sessions_waiting_on(postgres_queue, backend_pid) == 0:
            assert night.poll() is None, (tmp_path / "killed-in-route.err").read_text()[-3000:]
            assert time.monotonic() < deadline, "the night never reached routing's transaction"
            time.sleep(0.5)
        _kill(night)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]

    again = _start(tiny_borough, home, _env(postgres_queue, EARLY_WARNING_QUEUE_BUSY_SECONDS="5"), "again")
    assert again.wait(timeout=600) == ROUTED, (tmp_path / "again.err").read_text()[-3000:]
    assert "is locked" not in (tmp_path / "again.err").read_text()
    assert _surfaced(home).equals(_surfaced(undisturbed[0]))
    undisturbed_queue = queue_dump(f"sqlite:///{undisturbed[1]}")
    assert {t: len(rows) for t, rows in queue_dump(postgres_queue).items()} == {
        t: len(rows) for t, rows in undisturbed_queue.items()
    }
