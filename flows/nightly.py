"""The nightly Prefect flow: a table of contents of the stages.

One task per stage, each calling one function of :mod:`flows.stages` (which
calls ``features`` or ``models``) or, for the route stage, :mod:`flows.route`
(the only module of the flow that opens the review queue). Tasks pass
small summaries and find their inputs by the night's paths, never large
frames (Prefect hashes task inputs). Retries are on the stages that touch
the outside world (reading the extracts, writing the queue); the pure
stages would only fail the same way again.

With a Dask task runner (:mod:`flows.runners`) the per-locality stages
(graph, features, score, case files) fan out, one task per locality
partition (:mod:`flows.fan_out`), and write the same files; without one the
flow runs one task per stage, as here.

The last stage writes to the review queue and nowhere else: there is no
path from a score to any action on a person.

Write, audit, publish (issue 21): the night is built in its staging folder
(:meth:`early_warning.paths.RunPaths.staged`); right after ingest its
extracts are audited (:mod:`flows.audit`). A failed check **holds** the
night: nothing is linked or routed, the staged files move to the held folder
and the flow run ends Failed, named "Held", with each failed check in its
message. ``early-warning release`` runs the flow again with ``release=True``:
it takes the held folder back and goes on from linkage. A whole night is moved
into place in one rename after ``run_summary.json`` (status, started, finished,
run id, scorer) is written, last; a night that fails leaves the published
nights as they were.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.states import Failed, State

from early_warning.config import ConfigError
from early_warning.paths import (
    HELD,
    RELEASE_RECORD,
    STAGING,
    fresh_staging,
    move_night,
    publish_night,
    read_json,
)
from flows import fan_out, night_log, stages
from flows import route as queue_door
from flows.audit import audit_night, held_message
from flows.crashed_runs import mark_abandoned_runs
from flows.night_lock import night_lock
from flows.report import NightlyOutcome, markdown_summary
from flows.retention import prune_identifiers, prune_run_folders
from flows.runners import describe, runner_from_environment

T = TypeVar("T")
COUNCIL_TIME_ZONE = ZoneInfo("Europe/London")


def night_of(as_of: str) -> date:
    """The night a run is for: an ISO date, or "today" (in the council's time zone) for scheduled runs."""
    if as_of == "today":
        return datetime.now(COUNCIL_TIME_ZONE).date()
    return date.fromisoformat(as_of)


class StageFailed(RuntimeError):
    """A stage of the night raised: which stage, and the error in one line (the traceback
    is the cause, for the log file). Nothing was routed unless the stage was route's own
    transaction, which commits whole or not at all."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(stage, reason)
        self.stage = stage
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.stage}: {self.reason}"


#: Errors that fail the same way however often they are retried: fail at once.
NOT_TRANSIENT: tuple[type[BaseException], ...] = (FileNotFoundError, NotADirectoryError, ConfigError)


def retry_if_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Prefect's ``retry_condition_fn``: retry an outside-world stage unless its error is
    one a retry cannot mend (no extracts folder, unreadable configuration)."""
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            error = state.result(raise_on_failure=False)
        except Exception:  # a result that cannot be read: retry, as before
            return True
    return not isinstance(error, NOT_TRANSIENT)


def _timed(timings: dict[str, float], name: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    with night_log.stage(name) as said:  # progress, the log file and Prefect's UI
        try:
            result = said["summary"] = call()
        except StageFailed:
            raise
        except Exception as exc:
            raise StageFailed(name, _one_line(exc)) from exc
    timings[name] = round(time.perf_counter() - started, 2)
    return result


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@task(name="ingest", retries=2, retry_delay_seconds=30, retry_condition_fn=retry_if_transient)
def ingest(night: stages.Night, extracts: Path) -> dict[str, Any]:
    return stages.ingest_stage(night, extracts)


@task(name="audit")
def audit(night: stages.Night) -> dict[str, Any]:
    """Check tonight's extracts before anything is linked or routed (:mod:`flows.audit`)."""
    return audit_night(night.run, night.config)


@task(name="link")
def link(night: stages.Night) -> dict[str, Any]:
    return stages.link_stage(night)


@task(name="graph")
def graph(night: stages.Night) -> dict[str, Any]:
    return stages.graph_stage(night)


@task(name="features")
def person_features(night: stages.Night) -> dict[str, Any]:
    return stages.features_stage(night)


@task(name="thresholds")
def thresholds(night: stages.Night) -> dict[str, Any]:
    return stages.thresholds_stage(night)


@task(name="score")
def score(night: stages.Night) -> dict[str, Any]:
    return stages.score_stage(night)


@task(name="route", retries=2, retry_delay_seconds=30)
def route(night: stages.Night, model_version: str) -> dict[str, Any]:
    return queue_door.route_stage(night, model_version)


@task(name="retention")
def retention(night: stages.Night) -> dict[str, Any]:
    """Delete old nights' identifiers (canonical rows, quarantine) under the retention rule."""
    days = night.config.routing.identifiers_retention_days
    pruned = prune_identifiers(night.home, night.as_of, days).to_dict(days)
    return pruned | prune_run_folders(night.home, night.as_of, night.config.routing.runs_retention_days)


def _one_task_per_stage(night: stages.Night, outcome: dict[str, Any], timings: dict[str, float]) -> None:
    outcome["graph"] = _timed(timings, "graph", lambda: graph(night))
    outcome["features"] = _timed(timings, "features", lambda: person_features(night))
    outcome["thresholds"] = _timed(timings, "thresholds", lambda: thresholds(night))
    outcome["score"] = _timed(timings, "score", lambda: score(night))
    outcome["route"] = _timed(timings, "route", lambda: route(night, outcome["score"]["model_version"]))


def _by_locality(night: stages.Night, outcome: dict[str, Any], timings: dict[str, float]) -> None:
    outcome["partition"] = _timed(timings, "partition", lambda: fan_out.partition(night))
    parts = outcome["partition"]["partitions"]
    outcome["graph"] = _timed(timings, "graph", lambda: fan_out.graph(night, parts))
    outcome["features"] = _timed(timings, "features", lambda: fan_out.person_features(night, parts))
    outcome["thresholds"] = _timed(timings, "thresholds", lambda: thresholds(night))
    outcome["score"] = _timed(timings, "score", lambda: fan_out.score(night))
    outcome["route"] = _timed(
        timings, "route", lambda: fan_out.route(night, outcome["score"]["model_version"])
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _close(night: stages.Night, outcome: dict[str, Any], status: str, timings: dict[str, float]) -> None:
    """Stamp and write ``run_summary.json``: the night's last file."""
    context = FlowRunContext.get()
    outcome["status"] = status
    outcome["finished"] = _now()
    outcome["run_id"] = str(context.flow_run.id) if context and context.flow_run else None
    outcome["scorer"] = (outcome.get("score") or {}).get("scorer")
    outcome["seconds_per_stage"] = dict(timings)
    NightlyOutcome.from_dict(outcome).write(night.run)


def _hold(night: stages.Night, outcome: dict[str, Any], timings: dict[str, float]) -> State[Any]:
    """Keep the night's staged files in the held folder and end the run "Held" (a Failed state)."""
    _close(night, outcome, "held", timings)
    move_night(night.run, night.run.held())
    message = "Held: " + held_message(outcome["audit"]) + " Nothing was routed."
    return Failed(name="Held", message=message, data=outcome)


def _build(
    night: stages.Night, extracts: str, release: bool, outcome: dict[str, Any], timings: dict[str, float]
) -> bool:
    """Ingest and audit tonight's extracts into a fresh staging folder, or take a held night
    back for release. False when the audit holds the night."""
    if release:
        held = night.in_area(HELD).run
        if not held.run_summary.exists():
            raise StageFailed("release", f"no held night {night.as_of} in {held.root.parent}")
        if not (held.root / RELEASE_RECORD).exists():
            # A deployment or a Prefect UI run with release=true must not route a held night
            # that no one has answered for: only `early-warning release` writes the record,
            # after the audit log has who released it and why.
            raise StageFailed(
                "release",
                f"night {night.as_of} is held and nobody has released it: run early-warning release "
                f"{night.as_of} --reason TEXT, which records who released it and why",
            )
        kept = read_json(held.run_summary)
        move_night(held, night.run)
        night.run.run_summary.unlink()
        outcome["ingest"], outcome["audit"] = kept["ingest"], kept["audit"]
        outcome["released"] = True
        return True
    fresh_staging(night.run)
    outcome["ingest"] = _timed(timings, "ingest", lambda: ingest(night, Path(extracts)))
    outcome["audit"] = _timed(timings, "audit", lambda: audit(night))
    return not outcome["audit"]["held"]


@flow(name="nightly", log_prints=True, task_runner=runner_from_environment())
def nightly(
    extracts: str, as_of: str, home: str, config_dir: str | None = None, release: bool = False
) -> dict[str, Any] | State[Any]:
    """One night on ``home``, whichever route started it (the command line, ``schedule``, a
    deployment): it holds the home's lock (:mod:`flows.night_lock`; a second night on the same
    home fails at once, saying which night holds it), marks runs a killed night left RUNNING
    as Crashed (:mod:`flows.crashed_runs`) and logs each stage (:mod:`flows.night_log`)."""
    night = night_of(as_of).isoformat()
    with night_lock(Path(home), night) as taken, night_log.night_logging(Path(home), night):
        if taken.message:
            night_log.log.warning(taken.message)
        context = FlowRunContext.get()
        run = context.flow_run if context else None
        mark_abandoned_runs(Path(home), run.id if run else None)
        night_log.log.info(
            "night %s started: flow run %s, PID %d", night, run.name if run else "-", os.getpid()
        )
        return _run_night(extracts, night, home, config_dir, release)  # "today" resolved once, above


def _run_night(
    extracts: str, as_of: str, home: str, config_dir: str | None = None, release: bool = False
) -> dict[str, Any] | State[Any]:
    """One night: ingest, audit, link, graph, features, thresholds, score, route; then old
    nights' identifiers deleted under the retention rule (:mod:`flows.retention`).

    Built in the night's staging folder and published whole at the end; a night whose
    extracts fail a check is held (returns a Failed state named "Held"). ``release``
    routes a held night from its held folder instead of reading the extracts again.

    Args are strings so the same flow runs from the command line, a schedule
    or a Prefect deployment with parameters typed in the Prefect UI. The task
    runner is not an argument: it is chosen where the flow is started
    (:mod:`flows.runners`).
    """
    night = stages.Night.load(home, night_of(as_of), config_dir).in_area(STAGING)
    timings: dict[str, float] = {}
    context = FlowRunContext.get()
    runner = describe(context.task_runner if context else None)
    outcome: dict[str, Any] = {
        "as_of": night.as_of.isoformat(),
        "run": str(night.run.published().root),
        "runner": runner.to_dict(),
        "started": _now(),
    }
    try:
        if not _build(night, extracts, release, outcome, timings):
            return _hold(night, outcome, timings)
        outcome["link"] = _timed(timings, "link", lambda: link(night))
        (_by_locality if runner.fans_out else _one_task_per_stage)(night, outcome, timings)
        outcome["retention"] = _timed(timings, "retention", lambda: retention(night))
        _close(night, outcome, "routed", timings)
        _timed(timings, "publish", lambda: publish_night(night.run))
    except StageFailed as exc:
        outcome |= {"failed_in": exc.stage, "reason": exc.reason}
        _best_effort_close(night, outcome, timings, back_to_held=release and exc.stage != "release")
        raise
    result = NightlyOutcome.from_dict(outcome)
    create_markdown_artifact(
        key=f"nightly-{night.as_of.isoformat()}",
        markdown=markdown_summary(result),
        description=f"Nightly run for {night.as_of.isoformat()}",
    )
    return outcome


def _best_effort_close(
    night: stages.Night, outcome: dict[str, Any], timings: dict[str, float], *, back_to_held: bool
) -> None:
    """A failed night's summary in its staging folder, for the morning; a disk that refused the
    night's files may refuse this too, and the verdict does not depend on it. A release that
    failed goes back to the held folder (with its ingest and audit), so it can be released again."""
    with contextlib.suppress(OSError):
        _close(night, outcome, "failed", timings)
        if back_to_held:
            move_night(night.run, night.run.held())
