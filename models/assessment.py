"""How well a list found people truly in need, given a ground truth. Pure: no MLflow.

Training can only measure a score against its own label, and a label is a
guess at need (the first wave learned that the hard way: a model that
looked twice as good as the naive rankings on its own label found fewer
people in need than the rules score on a borough nobody here wrote). Where
the truth is known — a synthetic world's ``truth/`` folder, or a clerical
audit's verdicts in the same shape — this module measures what matters:

* **precision against active need**: of the people surfaced at capacity,
  the share who were truly in a need episode on that night (onset on or
  before it, not yet resolved);
* **precision against crisis**: the share who went on to a crisis within
  the horizon;
* **recall at capacity**: of everyone who went on to a crisis within the
  horizon and was known to no service that night (with *perfect* linkage,
  so every scorer shares one denominator), the share surfaced;
* **median lead time**: days from a person's first surfacing to their crisis;
* **known leak**: surfaced people who, with perfect linkage, were already
  known to a service that night: a linkage split made one person look like
  two, and the early-warning list showed someone a service was already acting on.

A product person is mapped to the true person most of their source records
belong to (ties: the smaller true id).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from early_warning.config import Config
from models.evaluation import surface_at_capacity

TRUE_ID = "true_person_id"


def true_person_of(persons: pl.DataFrame, person_records: pl.DataFrame) -> pl.DataFrame:
    """``person_id, true_person_id``: the true person most of each person's records belong to."""
    return (
        persons.join(
            person_records.select("source", "source_person_id", TRUE_ID), on=["source", "source_person_id"]
        )
        .group_by("person_id", TRUE_ID)
        .len()
        .sort(["person_id", "len", TRUE_ID], descending=[False, True, False])
        .unique("person_id", keep="first", maintain_order=True)
        .select("person_id", TRUE_ID)
    )


def perfect_persons(person_records: pl.DataFrame) -> pl.DataFrame:
    """Persons as perfect linkage would give them: one ``person_id`` per true person."""
    return person_records.filter(pl.col("in_extract")).select(
        pl.format("T{}", pl.col(TRUE_ID)).alias("person_id"), "source", "source_person_id"
    )


def truth_by_night(episodes: pl.DataFrame, snapshots: list[date], horizon_days: int) -> pl.DataFrame:
    """``true_person_id, snapshot, active_need, crisis_date``: per true person with an episode, per night.

    ``crisis_date`` is the first crisis in ``(snapshot, snapshot + horizon]`` (null when none).
    """
    nights = pl.DataFrame({"snapshot": snapshots}, schema={"snapshot": pl.Date})
    rows = episodes.select(TRUE_ID, "onset", "crisis_date", "resolved_date").join(nights, how="cross")
    active = (pl.col("onset") <= pl.col("snapshot")) & (
        pl.col("resolved_date").is_null() | (pl.col("resolved_date") > pl.col("snapshot"))
    )
    horizon = pl.duration(days=horizon_days)
    crisis_soon = (pl.col("crisis_date") > pl.col("snapshot")) & (
        pl.col("crisis_date") <= pl.col("snapshot") + horizon
    )
    return rows.group_by(TRUE_ID, "snapshot").agg(
        active.any().alias("active_need"),
        pl.col("crisis_date").filter(crisis_soon).min().alias("crisis_date"),
    )


def assess(
    scored: pl.DataFrame,
    mapping: pl.DataFrame,
    truth: pl.DataFrame,
    known_truly: pl.DataFrame,
    crises_in_cohort: int,
    config: Config,
) -> dict[str, float]:
    """The measures above for one scorer.

    Args:
        scored: ``person_id, snapshot, locality, score`` for the scorer's cohort rows.
        mapping: ``person_id, true_person_id`` (:func:`true_person_of`).
        truth: :func:`truth_by_night`.
        known_truly: ``true_person_id, snapshot`` of everyone known to a service on
            that night with perfect linkage.
        crises_in_cohort: (true person, night) pairs with a crisis within the horizon and
            known to no service that night with perfect linkage: recall's denominator.
    """
    rows = scored.select("person_id", "snapshot", "locality", "score").with_columns(pl.lit(0).alias("label"))
    shown = surface_at_capacity(rows, config).filter(pl.col("surfaced"))
    shown = (
        shown.join(mapping, on="person_id", how="left")
        .join(truth, on=[TRUE_ID, "snapshot"], how="left")
        .join(known_truly.with_columns(pl.lit(True).alias("known")), on=[TRUE_ID, "snapshot"], how="left")
        .with_columns(
            pl.col("active_need").fill_null(False),
            pl.col("known").fill_null(False),
            pl.col("crisis_date").is_not_null().alias("crisis_soon"),
        )
    )
    n = shown.height
    crisis_found = shown.filter(pl.col("crisis_soon") & ~pl.col("known"))
    distinct_found = crisis_found.unique([TRUE_ID, "snapshot"]).height
    firsts = shown.group_by(TRUE_ID).agg(pl.col("snapshot").min().alias("first"))
    leads = (
        crisis_found.group_by(TRUE_ID)
        .agg(pl.col("crisis_date").min())
        .join(firsts, on=TRUE_ID)
        .select((pl.col("crisis_date") - pl.col("first")).dt.total_days())
        .to_series()
    )
    return {
        "surfaced": float(n),
        "precision_active_need": _share(shown, "active_need"),
        "precision_crisis": _share(shown, "crisis_soon"),
        "recall_crisis": distinct_found / crises_in_cohort if crises_in_cohort else 0.0,
        "lead_time_median_days": float(leads.median()) if leads.len() else float("nan"),  # type: ignore[arg-type]
        "known_leak": float(shown["known"].sum()),
        "known_leak_share": _share(shown, "known"),
    }


def _share(frame: pl.DataFrame, column: str) -> float:
    return float(frame[column].mean()) if frame.height else 0.0  # type: ignore[arg-type]


def crises_in_cohort(truth: pl.DataFrame, known_truly: pl.DataFrame, residents: pl.Series) -> int:
    """(true person, night) pairs with a crisis within the horizon, among residents known to no service."""
    return (
        truth.filter(pl.col("crisis_date").is_not_null() & pl.col(TRUE_ID).is_in(residents.implode()))
        .join(known_truly, on=[TRUE_ID, "snapshot"], how="anti")
        .height
    )
