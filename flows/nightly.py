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
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext

from flows import fan_out, night_log, stages
from flows import route as queue_door
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


def _timed(timings: dict[str, float], name: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    with night_log.stage(name) as said:  # progress, the log file and Prefect's UI
        result = said["summary"] = call()
    timings[name] = round(time.perf_counter() - started, 2)
    return result


@task(name="ingest", retries=2, retry_delay_seconds=30)
def ingest(night: stages.Night, extracts: Path) -> dict[str, Any]:
    return stages.ingest_stage(night, extracts)


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


@flow(name="nightly", log_prints=True, task_runner=runner_from_environment())
def nightly(extracts: str, as_of: str, home: str, config_dir: str | None = None) -> dict[str, Any]:
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
        return _run_night(extracts, night, home, config_dir)  # "today" resolved once, above


def _run_night(extracts: str, as_of: str, home: str, config_dir: str | None = None) -> dict[str, Any]:
    """One night: ingest, link, graph, features, thresholds, score, route; then old
    nights' identifiers deleted under the retention rule (:mod:`flows.retention`).

    Args are strings so the same flow runs from the command line, a schedule
    or a Prefect deployment with parameters typed in the Prefect UI. The task
    runner is not an argument: it is chosen where the flow is started
    (:mod:`flows.runners`).
    """
    night = stages.Night.load(home, night_of(as_of), config_dir)
    timings: dict[str, float] = {}
    context = FlowRunContext.get()
    runner = describe(context.task_runner if context else None)
    outcome: dict[str, Any] = {
        "as_of": night.as_of.isoformat(),
        "run": str(night.run.root),
        "runner": runner.to_dict(),
    }
    outcome["ingest"] = _timed(timings, "ingest", lambda: ingest(night, Path(extracts)))
    outcome["link"] = _timed(timings, "link", lambda: link(night))
    (_by_locality if runner.fans_out else _one_task_per_stage)(night, outcome, timings)
    outcome["retention"] = _timed(timings, "retention", lambda: retention(night))
    outcome["seconds_per_stage"] = timings
    result = NightlyOutcome.from_dict(outcome)
    result.write(night.run)
    create_markdown_artifact(
        key=f"nightly-{night.as_of.isoformat()}",
        markdown=markdown_summary(result),
        description=f"Nightly run for {night.as_of.isoformat()}",
    )
    return outcome
