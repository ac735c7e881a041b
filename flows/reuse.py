"""Incremental nights: what a night may take from the night before, and the record of what it took.

When the previous night's run folder holds what a stage needs, and nothing
that decides the stage's meaning has changed (the configuration, the
gazetteer, the services), the stage reuses it:

- **graph features**: only the person-address components touched by a
  change are rebuilt (:mod:`features.graph.incremental`);
- **person features**: only people whose records, grouping or windows
  changed are recomputed (:mod:`features.person_features.incremental`); a
  sample of the reused people is recomputed too, and any difference makes
  the stage recompute everyone and say so;
- **the linkage model**: scored with while it is fresh enough
  (:func:`linkage_model_choice`), else trained tonight.

The stages (:mod:`flows.stages`) only ask; every decision whether a night
may take something from an earlier one is made here.

Each night writes ``reuse.json`` saying what it reused and from which night,
so the run report and the benchmark can show it and an on-call engineer can
see why a night was slower or faster than the one before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from early_warning.config import Config
from early_warning.paths import RunPaths, nights_through, read_json, write_text
from features.incremental import Changes, night_changes

logger = logging.getLogger(__name__)

#: People recomputed afresh to check the reused rows, at most.
CHECK_SAMPLE = 200
R = TypeVar("R")


def config_fingerprint(config: Config) -> str:
    """A short hash of the whole configuration: reuse only across nights with the same one."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def previous_night(tonight: RunPaths, config: Config, needs: Sequence[Path]) -> RunPaths | None:
    """The latest night before tonight with every file in ``needs`` (named as tonight's
    files) and the same configuration."""
    wanted = [path.relative_to(tonight.root) for path in needs]
    for before in nights_through(tonight.home, tonight.as_of - timedelta(days=1)):
        if all((before.root / name).exists() for name in wanted):
            if read_reuse(before).get("config") != config_fingerprint(config):
                return None
            return before
    return None


def previous_persons(tonight: RunPaths) -> pl.DataFrame | None:
    """The persons of the latest earlier night that has them, so linkage's ids carry over."""
    before = next(
        (n for n in nights_through(tonight.home, tonight.as_of - timedelta(days=1)) if n.persons.exists()),
        None,
    )
    return pl.read_parquet(before.persons) if before else None


def read_reuse(run: RunPaths) -> dict[str, Any]:
    """A night's ``reuse.json`` ({} before any stage recorded anything)."""
    return dict(read_json(run.reuse)) if run.reuse.exists() else {}


def record_reuse(run: RunPaths, config: Config, stage: str, details: dict[str, Any]) -> None:
    """Add one stage's reuse to the night's ``reuse.json`` (a stage run again replaces its entry)."""
    recorded = read_reuse(run)
    recorded["config"] = config_fingerprint(config)
    recorded[stage] = details
    write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", run.reuse)


# --- the linkage model -------------------------------------------------------------


@dataclass(frozen=True)
class LinkageModelChoice:
    """The earlier model a night's linkage may score with (None: train tonight) and why."""

    model: dict[str, Any] | None
    trained_on: date | None
    records_at_training: int | None
    reason: str


def settings_fingerprint(settings: Any) -> str:
    """A short hash of the linkage settings (a pydantic model): a model is reused only under the same ones."""
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:16]


def linkage_model_choice(
    home: Path,
    as_of: date,
    config: Config,
    settings: Any,
    *,
    records: int,
    retrain_after_days: int,
    retrain_when_records_change: float,
) -> LinkageModelChoice:
    """Whether tonight may score with the model the latest earlier night used.

    Training is most of linkage's time and its m and u probabilities move
    little from day to day, so a model is reused until it is
    ``retrain_after_days`` old, or the number of records has moved by more
    than ``retrain_when_records_change`` (a share) since it was trained, or the
    linkage settings changed. A retrained model is saved each night, so the
    chain starts again from it.
    """
    tonight = RunPaths(home=home, as_of=as_of)
    before = previous_night(tonight, config, (tonight.linkage_model,))
    if before is None:
        return LinkageModelChoice(None, None, None, "no earlier night with a linkage model")
    link = read_reuse(before).get("link") or {}
    trained_on = date.fromisoformat(link["trained_on"]) if link.get("trained_on") else before.as_of
    at_training = link.get("records_at_training")
    if link.get("settings") != settings_fingerprint(settings):
        return LinkageModelChoice(None, None, None, "the linkage settings changed")
    if (as_of - trained_on).days >= retrain_after_days:
        return LinkageModelChoice(
            None, None, None, f"the model was trained on {trained_on}, {retrain_after_days}+ days ago"
        )
    if not at_training or abs(records - at_training) > retrain_when_records_change * at_training:
        return LinkageModelChoice(None, None, None, "the number of records moved too far since training")
    model = read_json(before.linkage_model)
    return LinkageModelChoice(model, trained_on, at_training, f"reusing the model trained on {trained_on}")


def resolve_with_choice(
    choice: LinkageModelChoice, resolve: Callable[[dict[str, Any] | None], R]
) -> tuple[R, str]:
    """Resolve with the chosen earlier model; if it does not fit tonight's comparisons
    (the settings' comparisons changed shape), train tonight instead. Returns the result
    and the reason to record."""
    from features.linkage.trained import IncompatibleModelError

    try:
        return resolve(choice.model), choice.reason
    except IncompatibleModelError as problem:
        reason = f"the earlier model does not fit tonight's comparisons ({problem}); trained tonight"
        return resolve(None), reason


def linkage_reuse(
    choice: LinkageModelChoice, *, reused: bool, reason: str, as_of: date, records: int, settings: Any
) -> dict[str, Any]:
    """The link stage's entry in ``reuse.json``: which model scored and why, and what the
    next night needs to decide whether it may reuse it (when and on how many records it
    was trained, under which settings)."""
    return {
        "model": "reused" if reused else "trained tonight",
        "reason": reason,
        "trained_on": (choice.trained_on if reused and choice.trained_on else as_of).isoformat(),
        "records_at_training": choice.records_at_training if reused else records,
        "settings": settings_fingerprint(settings),
    }


# --- graph features -----------------------------------------------------------------


@dataclass(frozen=True)
class GraphReuse:
    """What tonight's graph may build on: an earlier night's features and addresses, and
    who changed since it (:func:`features.graph.incremental.graph_night`'s arguments)."""

    before: RunPaths
    previous: pl.DataFrame
    previous_addresses: pl.DataFrame
    changes: Changes


def graph_reuse(
    tonight: RunPaths,
    config: Config,
    *,
    fingerprints: pl.DataFrame,
    persons: pl.DataFrame,
    events: pl.DataFrame,
    gazetteer: pl.DataFrame,
    columns: Sequence[str],
    window_days: int,
) -> GraphReuse | None:
    """The earlier night tonight's graph features may build on, or None (build afresh).

    Only a night with the same configuration, the same gazetteer and the same feature
    columns (the same services) qualifies; its components untouched by a change keep
    their rows.
    """
    from features.graph.incremental import graph_window_cut

    # The gazetteer is in canonical/, which the retention rule deletes from old nights.
    needs = (
        tonight.graph_features,
        tonight.graph_addresses,
        tonight.fingerprints,
        tonight.persons,
        tonight.canonical_gazetteer,
    )
    before = previous_night(tonight, config, needs)
    if before is None:
        return None
    earlier = pl.read_parquet(before.graph_features)
    if not pl.read_parquet(before.canonical_gazetteer).equals(gazetteer) or earlier.columns != list(columns):
        return None
    changes = night_changes(
        fingerprints=fingerprints,
        previous_fingerprints=pl.read_parquet(before.fingerprints),
        persons=persons,
        previous_persons=pl.read_parquet(before.persons),
        events=events.lazy(),
        cuts=(graph_window_cut(window_days),),
        before=before.as_of,
        now=tonight.as_of,
    )
    return GraphReuse(before, earlier, pl.read_parquet(before.graph_addresses), changes)


# --- person features ----------------------------------------------------------------


def reused_person_features(
    tonight: RunPaths, config: Config, *, events: pl.LazyFrame, persons: pl.DataFrame, graph: pl.LazyFrame
) -> tuple[pl.DataFrame | None, dict[str, Any]]:
    """Tonight's person features from an earlier night's, or None (compute everyone), and
    the stage's entry in ``reuse.json``.

    After a night with the same configuration, only people whose records, grouping or
    windows changed are recomputed; a sample of the rest is checked against a fresh
    computation, and any difference means everyone is recomputed (and the entry says so).
    """
    from features.person_features import catalogue as cat
    from features.person_features.incremental import incremental_person_features, sample_matches

    reuse: dict[str, Any] = {"from": None, "recomputed": persons["person_id"].n_unique(), "reused": 0}
    before = previous_night(tonight, config, (tonight.features, tonight.fingerprints, tonight.persons))
    if before is None:
        return None, reuse
    changes = night_changes(
        fingerprints=pl.read_parquet(tonight.fingerprints),
        previous_fingerprints=pl.read_parquet(before.fingerprints),
        persons=persons,
        previous_persons=pl.read_parquet(before.persons),
        events=events,
        cuts=cat.age_cuts(),
        before=before.as_of,
        now=tonight.as_of,
    )
    result = incremental_person_features(
        events,
        persons,
        tonight.as_of,
        config,
        previous=pl.read_parquet(before.features),
        previous_as_of=before.as_of,
        changed=changes.now,
        graph_features=graph,
    )
    reused = result.table.filter(~pl.col("person_id").is_in(changes.now.implode()))["person_id"]
    check = reused.sample(min(CHECK_SAMPLE, reused.len()), seed=tonight.as_of.toordinal())
    if sample_matches(result.table, events, persons, tonight.as_of, config, check):
        return result.table, {
            "from": before.as_of.isoformat(),
            "recomputed": result.recomputed,
            "reused": result.reused,
        }
    logger.warning(
        "features reused from %s differed from a fresh computation for a sample of people; "
        "recomputing everyone",
        before.as_of,
    )
    return None, reuse | {"fell_back_from": before.as_of.isoformat()}
