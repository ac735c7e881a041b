"""The pieces the person on call relies on, each on its own (issue 21 items 4-6): the home's
night lock against a real second process, the JSON-lines log file, the terminal's stage
lines and ``early-warning status`` on a home with whole, held and killed nights."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from early_warning import exit_codes
from early_warning.cli import main
from early_warning.progress import Progress, ProgressHandler
from flows.night_lock import NightAlreadyRunning, is_running, lock_path, night_lock
from flows.night_log import log_path, night_logging, stage

HOLD = (
    "import sys, time; from pathlib import Path; from flows.night_lock import night_lock\n"
    "with night_lock(Path(sys.argv[1]), '2026-12-07'):\n"
    "    print('held', flush=True); time.sleep(600)\n"
)


PROBE = (
    "import sys, time; from pathlib import Path; from flows.night_lock import is_running\n"
    "home = Path(sys.argv[1]); print('probing', flush=True); end = time.monotonic() + 120\n"
    "while time.monotonic() < end:\n"
    "    is_running(home)\n"
)


@contextmanager
def _holder(home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A second process holding the night lock; killed, reaped and its pipe closed at the end
    (an open pipe left to the garbage collector fails a later test with a ResourceWarning)."""
    with subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == b"held"
            yield holder
        finally:
            holder.kill()


def test_a_second_taker_is_refused_with_the_holders_night_start_and_pid(tmp_path: Path) -> None:
    with _holder(tmp_path) as holder:
        with pytest.raises(NightAlreadyRunning) as refused, night_lock(tmp_path, "2026-12-08"):
            pass
        message = str(refused.value)
        assert "night 2026-12-07, since 20" in message
        assert f"PID {holder.pid} on " in message
        assert str(lock_path(tmp_path)) in message
        assert is_running(tmp_path)["pid"] == holder.pid  # type: ignore[index]


def test_a_killed_holders_lock_is_taken_over_with_a_message(tmp_path: Path) -> None:
    with _holder(tmp_path) as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert is_running(tmp_path) is None, "the kernel releases a dead process's flock"
    with night_lock(tmp_path, "2026-12-08") as taken:
        assert taken.message is not None
        assert f"by PID {holder.pid}" in taken.message
        assert "no longer running" in taken.message
        assert json.loads(lock_path(tmp_path).read_text())["pid"] == os.getpid()
        with night_lock(tmp_path, "2026-12-08") as again:  # the flow inside the command: re-entrant
            assert again.message is None
    assert lock_path(tmp_path).read_text() == "", "a night that ends cleanly leaves no record"
    with night_lock(tmp_path, "2026-12-09") as clean:
        assert clean.message is None


def test_asking_whether_a_night_runs_never_refuses_a_night_starting_at_that_moment(tmp_path: Path) -> None:
    """``status`` used to ask by taking the lock for an instant: a night starting in that instant
    was refused. A second process asks over and over; it is frozen (SIGSTOP) at a thousand
    random points of its asking, and each time a night's first step - the non-blocking lock -
    must succeed. (Taking the lock to ask, it was frozen holding it 15-38 times in 1,000.)"""
    with night_lock(tmp_path, "2026-12-07"):
        pass  # the lock file exists, as on any home that has run a night
    refused = 0
    with subprocess.Popen([sys.executable, "-c", PROBE, str(tmp_path)], stdout=subprocess.PIPE) as prober:
        try:
            assert prober.stdout is not None
            assert prober.stdout.readline().strip() == b"probing"
            for _ in range(1000):
                os.kill(prober.pid, signal.SIGSTOP)
                try:
                    _wait_until_stopped(prober.pid)
                    refused += _lock_refused(lock_path(tmp_path))
                finally:
                    os.kill(prober.pid, signal.SIGCONT)
                time.sleep(0.001)
            assert prober.poll() is None, "the prober was asking throughout"
        finally:
            prober.kill()
    assert refused == 0, f"a night starting while status asked was refused {refused} times in 1,000"
    with night_lock(tmp_path, "2026-12-08"):
        pass


def _wait_until_stopped(pid: int) -> None:
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, "the prober did not stop"
        time.sleep(0.0005)


def _lock_refused(path: Path) -> int:
    """1 if the night lock cannot be taken now (what refuses a night), else 0."""
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 1
    return 0


def test_the_probe_reads_the_record_and_checks_the_process(tmp_path: Path) -> None:
    """A record whose process is gone, or whose PID now belongs to a process started after the
    record was written (reused), is not a running night; one on another host cannot be checked."""
    path = lock_path(tmp_path)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "night": "2026-12-07"}
    path.write_text(json.dumps({**record, "started": datetime.now(UTC).isoformat(timespec="seconds")}))
    assert is_running(tmp_path) == json.loads(path.read_text()), "this process is alive and began first"
    path.write_text(json.dumps({**record, "started": "2020-01-01T00:00:00+00:00"}))
    assert is_running(tmp_path) is None, "this process started years after that record: a reused PID"
    with subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        gone.wait()
    path.write_text(json.dumps({**record, "pid": gone.pid, "started": "2026-12-07T02:00:00+00:00"}))
    assert is_running(tmp_path) is None
    elsewhere = {**record, "host": "another-host", "started": "2026-12-07T02:00:00+00:00"}
    path.write_text(json.dumps(elsewhere))
    assert is_running(tmp_path) == elsewhere
    path.write_text("")
    assert is_running(tmp_path) is None, "a night that ended cleanly emptied the record"


def test_the_log_file_is_json_lines_with_night_stage_and_counts_only(tmp_path: Path) -> None:
    console = io.StringIO()
    root = logging.StreamHandler(console)
    logging.getLogger().addHandler(root)
    try:
        _a_night_with_a_failed_stage(tmp_path)
    finally:
        logging.getLogger().removeHandler(root)
    # The console: the failure in one line, no INFO chatter, no traceback (that is in the file).
    assert console.getvalue().splitlines()[-1].startswith("link failed after")
    assert "ingest started" not in console.getvalue()
    assert "Traceback" not in console.getvalue()
    _the_file_says_it(tmp_path)


def _a_night_with_a_failed_stage(tmp_path: Path) -> None:
    with night_logging(tmp_path, "2026-12-07"):
        with stage("ingest") as said:
            logging.getLogger("features.ingest").info("read the files")
            said["summary"] = {"rows_read": 1200, "quarantined": 3, "note": "a value", "ok": True}
        with pytest.raises(ValueError, match="boom"), stage("link"):
            raise ValueError("boom")


def _the_file_says_it(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in log_path(tmp_path).read_text().splitlines()]
    assert [(line["stage"], line["level"], line["message"]) for line in lines[:3]] == [
        ("ingest", "INFO", "ingest started"),
        ("ingest", "INFO", "read the files"),
        ("ingest", "INFO", "ingest finished in 0.0 s: rows read 1,200, quarantined 3"),
    ]
    assert {line["night"] for line in lines} == {"2026-12-07"}
    assert set(lines[0]) == {"time", "night", "stage", "level", "logger", "message"}
    failed = lines[-1]
    assert failed["level"] == "ERROR"
    assert failed["message"].startswith("link failed after")
    assert "ValueError: boom" in failed["traceback"]
    # Outside the night, the project's loggers are as they were.
    assert logging.getLogger("features").level == logging.NOTSET
    assert logging.getLogger("features").propagate


def test_a_night_that_fails_before_its_flow_is_in_the_one_log_file_with_its_traceback(tmp_path: Path) -> None:
    """One log file for the home: the command line's tracebacks (here a failure at start-up,
    before Prefect or the flow) go to ``nightly.jsonl`` with the night, not to a second file."""
    home = tmp_path / "home"
    lock_path(home).mkdir(parents=True)  # the lock cannot be opened: the night fails at start-up
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "EARLY_WARNING_"))}
    args = ["nightly", "--extracts", str(tmp_path), "--as-of", "2026-12-07", "--home", str(home), "--quiet"]
    failed = subprocess.run(
        [sys.executable, "-m", "early_warning.cli", *args],
        env={**env, "EARLY_WARNING_DATABASE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}"},
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )
    assert failed.returncode == exit_codes.FAILED, failed.stderr[-3000:]
    console = failed.stdout + failed.stderr
    assert "Traceback" not in console
    last = console.strip().splitlines()[-1]
    assert last.startswith("FAILED in start-up: "), last
    assert f"Details: {log_path(home.resolve())}." in last
    [line] = [json.loads(text) for text in log_path(home).read_text().splitlines()]
    assert (line["night"], line["level"], line["message"]) == (
        "2026-12-07",
        "ERROR",
        "the night failed in start-up",
    )
    assert "IsADirectoryError" in line["traceback"]
    assert [p.name for p in (home / "logs").iterdir()] == ["nightly.jsonl"]


def test_stage_lines_reach_the_terminal_with_elapsed_time() -> None:
    out = io.StringIO()
    logger = logging.getLogger("flows.night")
    handler = ProgressHandler(Progress(out))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("link started")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert out.getvalue() == "[    0 s] link started\n"


def _night(home: Path, night: str, summary: dict[str, object] | None, rows: int) -> None:
    root = home / "runs" / night
    root.mkdir(parents=True)
    report = {
        "sources": {"asb": {"files": {"people": {"rows_read": rows}, "events": {"rows_read": 2 * rows}}}}
    }
    (root / "ingest_report.json").write_text(json.dumps(report))
    if summary is not None:
        (root / "run_summary.json").write_text(json.dumps(summary))


def _status(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``early-warning status`` prints for ``home``, with a queue database that does not exist yet."""
    from early_warning.settings import get_settings

    os.environ["EARLY_WARNING_DATABASE_URL"] = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    get_settings.cache_clear()
    try:
        assert main(["status", "--home", str(home)]) == 0
    finally:
        del os.environ["EARLY_WARNING_DATABASE_URL"]
        get_settings.cache_clear()
    return capsys.readouterr().out


def test_status_names_the_last_whole_night_the_held_failed_and_stopped_ones_and_the_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    _night(home, "2026-12-04", {"route": {"new_items": 7}}, 100)
    _night(home, "2026-12-05", {"route": {"new_items": 9}}, 120)
    _night(
        home, "2026-12-06", {"status": "held", "failed_checks": [{"message": "asb: events.csv is empty"}]}, 0
    )
    _night(home, "2026-12-07", None, 118)
    said = _status(home, tmp_path, capsys)
    assert "Running now: no night." in said
    assert "Last whole night: 2026-12-05 (9 new item(s) sent for review)." in said
    assert "2026-12-06: HELD - asb: events.csv is empty" in said
    assert "2026-12-07: STOPPED - no run_summary.json" in said
    assert "asb" in said
    assert "360 rows (300 before)" in said
    assert "Review queue: no queue database yet." in said
    assert "Disk used by the home:" in said
    assert "Next scheduled run: none found" in said


def test_status_finds_held_and_failed_nights_where_the_night_leaves_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A held night lives in runs/.held/NIGHT with its checks under ``audit.failed``, and a failed
    one stays in runs/.staging/NIGHT (flows/nightly.py); status missed both (found on the
    independent borough, tests/flows/test_independent_borough.py)."""
    home = tmp_path / "home"
    _night(home, "2026-12-04", {"route": {"new_items": 7}}, 100)
    held = {
        "status": "held",
        "audit": {"failed": ["/x/asb/events.csv: ends mid-line (the copy was cut off)"]},
    }
    _night(home, ".held/2026-12-05", held, 50)
    failed = {"status": "failed", "failed_in": "link", "reason": "linkage ran out of memory"}
    _night(home, ".staging/2026-12-06", failed, 100)
    said = _status(home, tmp_path, capsys)
    assert "Last whole night: 2026-12-04 (7 new item(s) sent for review)." in said
    assert (
        "2026-12-05: HELD - 1 check(s) failed: /x/asb/events.csv: ends mid-line (the copy was cut off)"
        in said
    )
    assert "2026-12-06: FAILED - linkage ran out of memory" in said
