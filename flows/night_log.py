"""What a night says while it runs: per stage, to a log file, the terminal and Prefect.

Each stage is announced when it starts and when it ends (with its elapsed
time and the counts its summary holds). The project's loggers
(``early_warning``, ``flows``, ``features``, ``models``) log at INFO, and
:func:`flows.runtime.configure_runtime` names them in
``PREFECT_LOGGING_EXTRA_LOGGERS`` so Prefect's UI shows the same lines under
the flow run. For the on-call engineer without Prefect, every line also goes to
``<home>/logs/nightly.jsonl`` (JSON lines: time, night, stage, level, logger,
message; rotated at 5 MB, five files kept), with the tracebacks of failures.

It is the home's one log file. ``early-warning nightly`` opens it before
Prefect starts (so a night that fails at start-up, before the flow, is in it
too) and sends there, and not to the console, every traceback it keeps off the
terminal (:func:`to_file_only`); the flow opening it again in the same process
shares the same handler (:func:`night_logging` is re-entrant). A scheduled or
deployed night opens it in the flow. There used to be a second file per night
(``nightly-<night>.log``) for the command line's tracebacks: one file, with the
night on every line, is one place to look and one rotation to keep.

Messages carry stage names and counts only, never a value read from an
extract: only numbers from a stage's summary are logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_LOGGERS = ("early_warning", "flows", "features", "models")
#: Prefect's own lines about the run (retries, crashes, the final state) go to the file too.
PREFECT_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
LOG_NAME = "nightly.jsonl"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
#: A test hook: a night started with this set to a stage's name waits at that stage's
#: start (for the fault tests, which kill the night in a chosen stage). Never set in production.
PAUSE_AT_ENV = "EARLY_WARNING_TEST_PAUSE_AT"

log = logging.getLogger("flows.night")
#: The log files open in this process (resolved path -> [handler, how many blocks hold it]).
_open: dict[Path, list[Any]] = {}
_open_guard = threading.Lock()
_night: contextvars.ContextVar[str] = contextvars.ContextVar("night", default="")
_stage: contextvars.ContextVar[str] = contextvars.ContextVar("stage", default="")


def log_path(home: Path) -> Path:
    return Path(home) / "logs" / LOG_NAME


class JsonLines(logging.Formatter):
    """One JSON object per line: time, night, stage, level, logger, message (and a traceback).

    ``night`` is the file's night, for lines logged where the night's context is not set
    (another thread, the command line around the flow)."""

    def __init__(self, night: str | None = None) -> None:
        super().__init__()
        self.night = night

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "night": _night.get() or self.night or None,
            "stage": _stage.get() or None,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line)


@contextmanager
def night_logging(home: Path, night: str) -> Iterator[Path]:
    """Send the project's and Prefect's run lines to ``<home>/logs/nightly.jsonl`` for the block.

    Re-entrant within one process: the flow inside ``early-warning nightly`` (which opened
    the file first) uses the command line's handler, so each line is written once."""
    path = log_path(home)
    key = path.resolve()
    with _open_guard:
        shared = _open.get(key)
        if shared is not None:
            shared[1] += 1
    token = _night.set(night)
    try:
        if shared is not None:
            yield path
        else:
            yield from _opened(path, key, night)
    finally:
        _night.reset(token)
        if shared is not None:
            with _open_guard:
                shared[1] -= 1


def _opened(path: Path, key: Path, night: str) -> Iterator[Path]:
    """Open the log file, attach it to the night's loggers for the block, then put them back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(JsonLines(night))
    handler.setLevel(logging.INFO)
    loggers = [logging.getLogger(name) for name in (*PROJECT_LOGGERS, *PREFECT_LOGGERS)]
    project = [logging.getLogger(name) for name in PROJECT_LOGGERS]
    saved = {logger: (logger.level, logger.propagate) for logger in loggers}
    console = _WarningsToRoot()
    for logger in loggers:
        logger.addHandler(handler)
    for logger in project:
        # INFO lines go to the file and Prefect, not the console (the command line shows
        # its own progress); warnings still reach the console as before.
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(console)
    with _open_guard:
        _open[key] = [handler, 1]
    try:
        yield path
    finally:
        with _open_guard:
            del _open[key]
        for logger in loggers:
            logger.removeHandler(handler)
            logger.removeHandler(console)
            logger.setLevel(saved[logger][0])
            logger.propagate = saved[logger][1]
        handler.close()


def logged_to_file(logger_name: str) -> bool:
    """Whether a night's log file already receives this logger's lines (while a night logs)."""
    return any(
        logger_name == name or logger_name.startswith(name + ".")
        for name in (*PROJECT_LOGGERS, *PREFECT_LOGGERS)
    )


def to_file_only(record: logging.LogRecord) -> bool:
    """Write ``record`` to the night's log file(s) open in this process, and nowhere else (not
    the console, not Prefect): for tracebacks the command line keeps off the terminal.
    False when no night is logging in this process."""
    with _open_guard:
        handlers = [handler for handler, _ in _open.values()]
    for handler in handlers:
        if record.levelno >= handler.level:
            handler.handle(record)
    return bool(handlers)


def log_failure(message: str, exc: BaseException) -> None:
    """The night's failure, with its traceback, in the log file only (the console has the verdict)."""
    to_file_only(
        logging.LogRecord(
            name="flows.night",
            level=logging.ERROR,
            pathname=__file__,
            lineno=0,
            msg=message,
            args=None,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
    )


class _WarningsToRoot(logging.Handler):
    """Hands WARNING and worse on to the root logger's handlers (the console), without tracebacks."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        # One line on the console; the traceback is in the log file (and Prefect's own report).
        line = logging.makeLogRecord(record.__dict__ | {"exc_info": None, "exc_text": None})
        for handler in logging.getLogger().handlers:
            if line.levelno >= handler.level:
                handler.handle(line)


@contextmanager
def stage(name: str) -> Iterator[dict[str, Any]]:
    """Announce a stage's start and end (elapsed seconds and the counts in ``outcome['summary']``)."""
    token = _stage.set(name)
    started = time.perf_counter()
    outcome: dict[str, Any] = {}
    log.info("%s started", name)
    _pause_for_test(name)
    try:
        yield outcome
    except BaseException:
        log.exception("%s failed after %.1f s", name, time.perf_counter() - started)
        raise
    else:
        counts = _counts(outcome.get("summary"))
        log.info(
            "%s finished in %.1f s%s", name, time.perf_counter() - started, f": {counts}" if counts else ""
        )
    finally:
        _stage.reset(token)


def _counts(summary: Any) -> str:
    """The whole numbers at the top of a stage's summary (counts; never a value from an extract)."""
    if not isinstance(summary, dict):
        return ""
    numbers = [
        f"{key.replace('_', ' ')} {value:,}"
        for key, value in summary.items()
        if isinstance(value, int) and not isinstance(value, bool)
    ]
    return ", ".join(numbers[:8])


def _pause_for_test(name: str) -> None:
    if os.environ.get(PAUSE_AT_ENV) == name:
        log.warning("paused at the start of %s for a test (%s)", name, PAUSE_AT_ENV)
        time.sleep(600)
