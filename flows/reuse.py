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
- **the linkage model**: see :func:`flows.stages.link_stage`.

Each night writes ``reuse.json`` saying what it reused and from which night,
so the run report and the benchmark can show it and an on-call engineer can
see why a night was slower or faster than the one before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.config import Config

logger = logging.getLogger(__name__)

REUSE_FILE = "reuse.json"
#: People recomputed afresh to check the reused rows, at most.
CHECK_SAMPLE = 200


def config_fingerprint(config: Config) -> str:
    """A short hash of the whole configuration: reuse only across nights with the same one."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PreviousNight:
    """An earlier night's run folder with the files a stage needs."""

    root: Path
    as_of: date

    def read(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.root / name)


def previous_night(home: Path, as_of: date, config: Config, needs: tuple[str, ...]) -> PreviousNight | None:
    """The latest night before ``as_of`` with every file in ``needs`` and the same configuration."""
    runs = home / "runs"
    if not runs.is_dir():
        return None
    earlier = sorted((p for p in runs.iterdir() if p.is_dir() and p.name < as_of.isoformat()), reverse=True)
    for root in earlier:
        if all((root / name).exists() for name in needs):
            recorded = read_reuse(root)
            if recorded.get("config") != config_fingerprint(config):
                return None
            return PreviousNight(root=root, as_of=date.fromisoformat(root.name))
    return None


def read_reuse(run_root: Path) -> dict[str, Any]:
    path = run_root / REUSE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def record_reuse(run_root: Path, config: Config, stage: str, details: dict[str, Any]) -> None:
    """Add one stage's reuse to the night's ``reuse.json`` (a stage run again replaces its entry)."""
    recorded = read_reuse(run_root)
    recorded["config"] = config_fingerprint(config)
    recorded[stage] = details
    path = run_root / REUSE_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


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
    before = previous_night(home, as_of, config, ("linkage_model.json",))
    if before is None:
        return LinkageModelChoice(None, None, None, "no earlier night with a linkage model")
    link = read_reuse(before.root).get("link") or {}
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
    model = json.loads((before.root / "linkage_model.json").read_text(encoding="utf-8"))
    return LinkageModelChoice(model, trained_on, at_training, f"reusing the model trained on {trained_on}")
