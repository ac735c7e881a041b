"""The nightly Prefect flow: a table of contents of the stages.

One task per stage, each calling one function of :mod:`flows.stages`, which
calls one function of ``features``, ``models`` or ``review_ui``. Tasks pass
small summaries and find their inputs by the night's paths, never large
frames (Prefect hashes task inputs). Retries are on the stages that touch
the outside world (reading the extracts, writing the queue); the pure
stages would only fail the same way again.

The last stage writes to the review queue and nowhere else: there is no
path from a score to any action on a person.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from early_warning.config import load_config
from flows import stages
from flows.report import NightlyOutcome, markdown_summary

T = TypeVar("T")
COUNCIL_TIME_ZONE = ZoneInfo("Europe/London")


def night_of(as_of: str) -> date:
    """The night a run is for: an ISO date, or "today" (in the council's time zone) for scheduled runs."""
    if as_of == "today":
        return datetime.now(COUNCIL_TIME_ZONE).date()
    return date.fromisoformat(as_of)


def _timed(timings: dict[str, float], name: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = call()
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
    return stages.route_stage(night, model_version)


@flow(name="nightly", log_prints=True)
def nightly(extracts: str, as_of: str, home: str, config_dir: str | None = None) -> dict[str, Any]:
    """One night: ingest, link, graph, features, thresholds, score, route.

    Args are strings so the same flow runs from the command line, a schedule
    or a Prefect deployment with parameters typed in the Prefect UI.
    """
    config_path = Path(config_dir) if config_dir else None
    night = stages.Night(
        home=Path(home), as_of=night_of(as_of), config=load_config(config_path), config_dir=config_path
    )
    timings: dict[str, float] = {}
    outcome: dict[str, Any] = {"as_of": night.as_of.isoformat(), "run": str(night.run.root)}
    outcome["ingest"] = _timed(timings, "ingest", lambda: ingest(night, Path(extracts)))
    outcome["link"] = _timed(timings, "link", lambda: link(night))
    outcome["graph"] = _timed(timings, "graph", lambda: graph(night))
    outcome["features"] = _timed(timings, "features", lambda: person_features(night))
    outcome["thresholds"] = _timed(timings, "thresholds", lambda: thresholds(night))
    outcome["score"] = _timed(timings, "score", lambda: score(night))
    outcome["route"] = _timed(timings, "route", lambda: route(night, outcome["score"]["model_version"]))
    outcome["seconds_per_stage"] = timings
    result = NightlyOutcome.from_dict(outcome)
    result.write(night.run)
    create_markdown_artifact(
        key=f"nightly-{night.as_of.isoformat()}",
        markdown=markdown_summary(result),
        description=f"Nightly run for {night.as_of.isoformat()}",
    )
    return outcome
