"""A line at a time on the terminal, with elapsed time and, for counted steps, time left.

Long commands (``train`` replays two dozen snapshots over the whole borough)
must not sit silent for minutes: the data team should see which stage is
running and roughly how long is left. Messages that end in "k of n ..."
get an estimate of the time left from the pace so far.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_COUNTED = re.compile(r"\b(\d+) of (\d+)\b")


class Progress:
    """Call with a message; prints ``[ elapsed] message (about N s left)`` to ``stream``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.perf_counter()
        self._counting: tuple[float, int] | None = None
        self._last: float = self._started

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        elapsed = now - self._started
        suffix = ""
        counted = _COUNTED.search(message)
        if counted:
            done, total = int(counted.group(1)), int(counted.group(2))
            if self._counting is None or done <= 1:
                # The clock for this count starts at the previous message.
                self._counting = (self._last, 0)
            began, _ = self._counting
            if done > 0 and total > done:
                left = (now - began) / done * (total - done)
                suffix = f" (about {_duration(left)} left)"
        else:
            self._counting = None
        self._last = now
        # Written, not print()ed: inside a Prefect flow with log_prints, print() to standard
        # error becomes a Prefect log record instead of a line on the terminal.
        self._stream.write(f"[{_duration(elapsed):>7}] {message}{suffix}\n")
        self._stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


class ProgressHandler(logging.Handler):
    """A logging handler that prints each record as a :class:`Progress` line (a night's
    stage starts and ends, :mod:`flows.night_log`), so the terminal shows the elapsed time."""

    def __init__(self, progress: Progress | None = None) -> None:
        super().__init__(level=logging.INFO)
        self._progress = progress or Progress()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._progress(record.getMessage())
        except Exception:  # a closed terminal must not stop the night
            self.handleError(record)


@contextmanager
def stages_on_terminal(show: bool = True, logger: str = "flows.night") -> Iterator[None]:
    """Print a night's stage lines (``[ 12 s] link started``) on standard error for the block."""
    if not show:
        yield
        return
    handler = ProgressHandler()
    handler.emit(logging.makeLogRecord({"msg": "starting: the night's lock, then Prefect's API"}))
    target = logging.getLogger(logger)
    target.addHandler(handler)
    try:
        yield
    finally:
        target.removeHandler(handler)
