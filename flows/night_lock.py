"""One night at a time per home: a lock file every route to a night takes.

Two nights on one home would interleave their writes to the same run folder,
the review queue and Prefect's database (issue 21: the second died with
``database is locked`` inside a migration). The command line takes the lock
before Prefect starts; the flow takes it again as it begins, so a scheduled
or deployed run takes it too. Within one process the second taking is a
no-op (the command line's night runs the flow in the same process).

The lock is ``fcntl.flock`` on ``<home>/nightly.lock``: the kernel releases it
when the holder's process ends, however it ends (SIGKILL included), so a
lock can never be left held by a dead night. The file also says who holds it
(PID, host, night, start time) for the message a second start prints; when a
start finds that record but the lock free, the previous holder died without
cleaning up, and the new night says it is taking the lock over.

Only a night takes the lock. ``early-warning status`` asks whether a night is
running by reading that record and checking the PID (:func:`is_running`),
never by taking the lock, so asking can never make a night that starts at
the same moment refuse to run.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psutil

LOCK_NAME = "nightly.lock"
#: How much later than its lock record a holder's process may seem to have started (whole
#: seconds in the record, clock adjustments since boot) before its PID counts as reused.
CLOCK_SLACK_SECONDS = 30

_held: dict[Path, int] = {}  # lock file -> how many times this process took it
_guard = threading.Lock()


class NightAlreadyRunning(RuntimeError):
    """Another process holds this home's night lock; nothing was done."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        night = holder.get("night", "?")
        since = holder.get("started", "?")
        pid = holder.get("pid", "?")
        host = holder.get("host", "?")
        super().__init__(
            f"Another night is already running on this home: night {night}, since {since}, "
            f"PID {pid} on {host} (lock {path}). Nothing was done; wait for it to finish."
        )


@dataclass(frozen=True)
class Taken:
    """The lock was taken; ``stale`` is the record a dead holder left, if any."""

    path: Path
    stale: dict[str, Any] | None

    @property
    def message(self) -> str | None:
        """What to tell the operator when a dead night's lock record was taken over."""
        if not self.stale:
            return None
        s = self.stale
        return (
            f"Took over the lock of night {s.get('night', '?')} started {s.get('started', '?')} "
            f"by PID {s.get('pid', '?')} on {s.get('host', '?')}, which is no longer running."
        )


def lock_path(home: Path) -> Path:
    return Path(home).resolve() / LOCK_NAME


def read_holder(home: Path) -> dict[str, Any] | None:
    """The record in the lock file (who holds or last held it), or None."""
    try:
        text = lock_path(home).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def is_running(home: Path) -> dict[str, Any] | None:
    """The holder's record when a night holds this home's lock now, else None.

    A read-only probe that never touches the lock: it reads the record the holder writes
    and checks that its process is alive on this host (and started before the record, so
    a PID reused by some other process does not count). Taking the lock, even for an
    instant, would refuse a night starting at that very moment (``status`` used to).

    The record is written just after the lock is taken and emptied just before it is
    released, so in the few microseconds at either end this may say "no night" while the
    kernel still holds the lock; a probe can be wrong only towards "not running", and
    only the lock itself (:func:`night_lock`) decides who runs. A holder on another host
    (a home on a shared file system) cannot be checked and is reported as running.
    """
    record = read_holder(home)
    if not record:
        return None
    if record.get("host") != socket.gethostname():
        return record
    pid = record.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    return record if _alive_since(pid, record.get("started")) else None


def _alive_since(pid: int, started: Any) -> bool:
    """Whether process ``pid`` is running (not a zombie) and started no later than the lock
    record ``started`` (else the PID was reused by some other process)."""
    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):  # dead, not yet reaped
            return False
        began = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists, under another user
    try:
        recorded = datetime.fromisoformat(started) if isinstance(started, str) else None
    except ValueError:
        recorded = None
    # The record is written after the process started; its time is cut to whole seconds, and
    # the start time can be off by a clock adjustment since boot: hence the slack.
    return recorded is None or began <= recorded.timestamp() + CLOCK_SLACK_SECONDS


@contextmanager
def night_lock(home: Path, night: str) -> Iterator[Taken]:
    """Hold ``<home>/nightly.lock`` for the block; raise :class:`NightAlreadyRunning` if
    another process holds it. Re-entrant within one process."""
    path = lock_path(home)
    with _guard:
        if path in _held:
            _held[path] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield Taken(path, None)
        finally:
            with _guard:
                _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NightAlreadyRunning(path, read_holder(path.parent) or {}) from None
        stale = _stale_record(handle)
        _write_record(handle, night)
        with _guard:
            _held[path] = 1
        try:
            yield Taken(path, stale)
        finally:
            with _guard:
                del _held[path]
            handle.truncate(0)
            handle.flush()
    finally:
        handle.close()  # closing releases the flock


def _stale_record(handle: IO[str]) -> dict[str, Any] | None:
    """The record left by a holder that died (the lock was free but the file not empty)."""
    handle.seek(0)
    text = handle.read()
    if not text.strip():
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return {"pid": "?", "note": "unreadable lock record"}
    return record if isinstance(record, dict) else None


def _write_record(handle: IO[str], night: str) -> None:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "night": night,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    handle.seek(0)
    handle.truncate(0)
    handle.write(json.dumps(record))
    handle.flush()
    os.fsync(handle.fileno())
