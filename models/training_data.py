"""The training table: every snapshot's cohort rows with period, label and audit attributes.

Ingests a night's extracts into ``<home>/training/runs/<as_of>/``, resolves
persons with the real linkage, replays the monthly snapshots point in time
(``models.labels``) and joins the attributes used only for capacity and the
fairness audit (``models.attributes``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl

from early_warning.config import Config
from early_warning.paths import RunPaths
from features.person_features import feature_columns
from models.attributes import age_band_expr, person_attributes
from models.labels import (
    LABEL,
    SNAPSHOT,
    Split,
    assign_periods,
    build_snapshot_table,
    snapshot_dates,
    split_snapshots,
)
from models.training_settings import TrainingSettings

if TYPE_CHECKING:
    from features.linkage.settings import LinkageSettings


@dataclass
class TrainingData:
    """Cohort rows of every snapshot with their period, label and audit attributes."""

    table: pl.DataFrame
    features: list[str]
    split: Split
    linkage: str
    reviews: dict[str, int] = field(default_factory=dict)

    def period(self, name: str) -> pl.DataFrame:
        return self.table.filter(pl.col("period") == name)


# --- Data -----------------------------------------------------------------------------------


Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


def resolve_training_persons(
    people: pl.DataFrame,
    as_of: date,
    run: RunPaths,
    previous: pl.DataFrame | None,
    linkage: LinkageSettings,
    link_constraints: pl.DataFrame | None = None,
    clerical_same_person: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Persons from the real linkage (Splink) under the council's ``linkage`` settings;
    no fallback to anything else (the settings are required, never the defaults read here).

    ``previous`` is the newest night's ``persons.parquet``: with it the training
    persons carry the night's ids, so review outcomes (kept by person id) find
    their person. ``link_constraints`` (reviewers' "not / the same person") and
    ``clerical_same_person`` (labelled pairs, used when ``linkage.yaml``'s
    ``train_m_from_clerical_labels`` is on) are what the night's link stage reads from
    the queue: training resolves persons the way the nights do.
    """
    from features.linkage import resolve_persons, write_linkage_outputs

    result = resolve_persons(
        people,
        previous=previous,
        as_of=as_of,
        settings=linkage,
        save_model_to=run.linkage_model,
        constraints=link_constraints,
        clerical_same_person=clerical_same_person if linkage.train_m_from_clerical_labels else None,
    )
    write_linkage_outputs(result, run)
    return result.persons


def prepare_training_data(
    extracts_dir: Path,
    as_of: date,
    home: Path,
    config: Config,
    settings: TrainingSettings,
    persons: pl.DataFrame | None = None,
    *,
    reviews: pl.DataFrame | None = None,
    previous_persons: pl.DataFrame | None = None,
    progress: Progress = _quiet,
    linkage_settings: LinkageSettings | None = None,
    link_constraints: pl.DataFrame | None = None,
    clerical_same_person: pl.DataFrame | None = None,
) -> TrainingData:
    """Ingest, link and replay every snapshot. ``persons`` is for tests only (else: real linkage).

    ``reviews`` are the review queue's outcomes (``models.labels.OUTCOME_COLUMNS``),
    ``previous_persons`` the newest night's persons (so ids match the queue's);
    ``progress`` is told what is happening, a line at a time; ``linkage_settings`` is the council's
    ``linkage.yaml``, so training resolves persons as its nights do - required unless
    ``persons`` is given (no quiet fall-back to the defaults); ``link_constraints`` and
    ``clerical_same_person`` are the queue's, as the night's link stage reads them.
    """
    from features.ingest import ingest_extracts

    if persons is None and linkage_settings is None:
        raise ValueError("prepare_training_data needs the council's linkage settings to resolve persons")

    run = RunPaths(home / "training", as_of)
    run.root.mkdir(parents=True, exist_ok=True)
    progress("reading and checking the extracts")
    ingest_extracts(Path(extracts_dir), as_of, run, config)
    events = pl.read_parquet(run.canonical_events)
    people = pl.read_parquet(run.canonical_people)
    gazetteer = pl.read_parquet(run.canonical_gazetteer)
    linkage = "supplied persons (tests)" if persons is not None else "Splink linkage (features.linkage)"
    if persons is None:
        progress(f"resolving {people.height:,} source records to persons (Splink)")
        assert linkage_settings is not None  # checked above
        persons = resolve_training_persons(
            people, as_of, run, previous_persons, linkage_settings, link_constraints, clerical_same_person
        )
    if events.is_empty():
        raise ValueError(f"{extracts_dir}: no accepted events to learn from")
    history_start = events["event_date"].min()
    assert isinstance(history_start, date)
    snapshots = snapshot_dates(history_start, as_of, settings.horizon_days, settings.min_history_days)
    split = split_snapshots(
        snapshots,
        horizon_days=settings.horizon_days,
        report_snapshots=settings.report_snapshots,
        middle_snapshots=settings.middle_snapshots,
    )
    used = [*split.train, *split.middle, *split.report]
    review_counts = _review_counts(reviews, persons)
    table = build_snapshot_table(
        events,
        persons,
        used,
        config,
        settings.horizon_days,
        settings.label_rules(),
        reviews,
        on_snapshot=lambda done, total: progress(f"snapshot {done} of {total} replayed"),
    )
    from features.graph.best_record import source_reliability

    attributes = person_attributes(persons, people, events, gazetteer, as_of, source_reliability(config))
    table = (
        table.join(attributes, on="person_id", how="left")
        .with_columns(age_band_expr("dob", SNAPSHOT).alias("age_band"))
        .drop("dob")
    )
    table = assign_periods(table, split, settings.middle_person_share)
    return TrainingData(
        table=table, features=feature_columns(config), split=split, linkage=linkage, reviews=review_counts
    )


def _review_counts(reviews: pl.DataFrame | None, persons: pl.DataFrame) -> dict[str, int]:
    """Review outcomes by outcome word, and how many name a person this linkage does not know."""
    if reviews is None or reviews.is_empty():
        return {}
    counts = {
        f"reviews_{o}": int(n) for o, n in reviews.group_by("outcome").len().sort("outcome").iter_rows()
    }
    unknown = reviews.join(persons.select("person_id").unique(), on="person_id", how="anti").height
    return counts | {"reviews_person_not_found": unknown}


def xy(frame: pl.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    return frame.select(columns).to_pandas(), frame[LABEL].to_numpy().astype(int)


def score_rows(model: Any, frame: pl.DataFrame, columns: list[str] | None = None) -> pl.DataFrame:
    """``frame`` with the model's ``score`` (probability of the positive class)."""
    x = frame.to_pandas() if columns is None else frame.select(columns).to_pandas()
    return frame.with_columns(pl.Series("score", model.predict_proba(x)[:, 1], dtype=pl.Float64))
