"""Labels and backtesting snapshots: what the model learns from, point in time.

A *snapshot* is a past night T replayed with only what was known then:
features from events dated on or before T, each service's rule applied as of
T, and the early-warning cohort (known to no service at T). A person in that
cohort is a *positive* when a crisis or enforcement event from any of their
records falls in ``(T, T + horizon]``: the harm early warning tries to get
ahead of, or a service acting against them.

Snapshots are month ends from the first with ``min_history_days`` of history
(so a year's windows are full) to ``as_of - horizon`` (so every label window
has closed by the training night: complete periods only).

The split is by time (:func:`split_snapshots`), newest first:

* **report**: the last ``report_snapshots`` snapshots, held out. Metrics are
  reported only on these rows.
* **middle**: the last ``middle_snapshots`` snapshots whose label windows had
  closed by the first report snapshot, for a fixed random share of people
  (``middle_person_share``). Calibration, model choice and the
  hyper-parameter search read this period only.
* **train**: every earlier snapshot, for everyone else (label windows also
  closed by the first report snapshot). So training and model choice use
  only what a training run on the first report night could have known, and
  nothing in the report period's future reaches the fitted model.

Middle snapshots cannot be a full horizon after training ones (three years
of history cannot afford the gap), so the middle period's people are kept
out of training instead: a crisis that labels a training row never labels a
middle row. The report period has every cohort person: it is what a night's
list would have been.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from early_warning.config import Config
from features.person_features import build_person_features
from models.thresholds import early_warning_cohort, known_to_services

#: Event roles that make a label.
LABEL_ROLES: tuple[str, ...] = ("crisis", "enforcement")
SNAPSHOT = "snapshot"
LABEL = "label"
LABEL_DATE = "label_date"
PERIODS: tuple[str, ...] = ("train", "middle", "report")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def snapshot_dates(history_start: date, as_of: date, horizon_days: int, min_history_days: int) -> list[date]:
    """Month ends T with ``T - history_start >= min_history_days`` and ``T + horizon_days <= as_of``."""
    first = history_start + timedelta(days=min_history_days)
    last = as_of - timedelta(days=horizon_days)
    out: list[date] = []
    year, month = first.year, first.month
    while True:
        end = _month_end(year, month)
        if end > last:
            return out
        if end >= first:
            out.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass(frozen=True)
class Split:
    """Snapshot nights of each period, oldest first."""

    train: tuple[date, ...]
    middle: tuple[date, ...]
    report: tuple[date, ...]

    def period_of(self, snapshot: date) -> str | None:
        for name in PERIODS:
            if snapshot in getattr(self, name):
                return name
        return None

    def describe(self) -> dict[str, str]:
        """First and last night of each period, for logging."""
        return {
            f"{name}_{end}": getattr(self, name)[index].isoformat()
            for name in PERIODS
            for end, index in (("first", 0), ("last", -1))
        }


def split_snapshots(
    snapshots: list[date], *, horizon_days: int, report_snapshots: int, middle_snapshots: int
) -> Split:
    """Train / middle / report by time; see the module docstring.

    Raises:
        ValueError: too little history for all three periods.
    """
    ordered = sorted(set(snapshots))
    if len(ordered) < report_snapshots + 2:
        raise ValueError(
            f"only {len(ordered)} complete monthly snapshots: need at least {report_snapshots + 2} "
            "(more history, or fewer report snapshots in training.yaml)"
        )
    report = ordered[-report_snapshots:]
    closed_by = report[0] - timedelta(days=horizon_days)
    earlier = [s for s in ordered if s <= closed_by]
    if len(earlier) < 2:
        raise ValueError(
            f"no snapshots whose {horizon_days}-day label window closed by the first report night "
            f"{report[0]}: need more history"
        )
    middle_n = min(middle_snapshots, len(earlier) - 1)
    return Split(train=tuple(earlier[:-middle_n]), middle=tuple(earlier[-middle_n:]), report=tuple(report))


def assign_periods(table: pl.DataFrame, split: Split, middle_person_share: float) -> pl.DataFrame:
    """``table`` with ``period`` (train, middle, report); rows in no period are dropped.

    Middle rows are those of a fixed share of people (by a hash of ``person_id``);
    training rows are everyone else's.
    """
    in_middle_group = (pl.col("person_id").cast(pl.String).hash(seed=17) % 10_000) < int(
        middle_person_share * 10_000
    )
    snapshot = pl.col(SNAPSHOT)
    period = (
        pl.when(snapshot.is_in(list(split.report)))
        .then(pl.lit("report"))
        .when(snapshot.is_in(list(split.middle)) & in_middle_group)
        .then(pl.lit("middle"))
        .when(snapshot.is_in(list(split.train)) & ~in_middle_group)
        .then(pl.lit("train"))
        .otherwise(None)
    )
    return table.with_columns(period.alias("period")).filter(pl.col("period").is_not_null())


def label_events(events: pl.LazyFrame, persons: pl.LazyFrame) -> pl.DataFrame:
    """``person_id, event_date`` of every crisis or enforcement event, from any of the person's records."""
    links = persons.select("source", "source_person_id", "person_id").unique()
    return (
        events.filter(pl.col("role").is_in(LABEL_ROLES))
        .select("source", "source_person_id", "event_date")
        .join(links, on=["source", "source_person_id"], how="inner")
        .select("person_id", "event_date")
        .collect()
    )


def snapshot_labels(outcomes: pl.DataFrame, snapshot: date, horizon_days: int) -> pl.DataFrame:
    """``person_id, label_date``: the first crisis/enforcement date in ``(snapshot, snapshot + horizon]``.

    Only people with such an event appear; everyone else is a negative.
    """
    end = snapshot + timedelta(days=horizon_days)
    return (
        outcomes.filter((pl.col("event_date") > snapshot) & (pl.col("event_date") <= end))
        .group_by("person_id")
        .agg(pl.col("event_date").min().alias(LABEL_DATE))
    )


def snapshot_rows(
    events: pl.DataFrame,
    persons: pl.DataFrame,
    snapshot: date,
    config: Config,
    outcomes: pl.DataFrame,
    horizon_days: int,
) -> pl.DataFrame:
    """The early-warning cohort at ``snapshot`` with its features, label and label date.

    Features and the cohort read only events dated on or before ``snapshot``;
    only the label looks after it.
    """
    ev, ps = events.lazy(), persons.lazy()
    known = known_to_services(ev, ps, snapshot, config)
    cohort = early_warning_cohort(ps, known)
    features = build_person_features(ev, ps, snapshot, config).join(cohort.lazy(), on="person_id", how="semi")
    labels = snapshot_labels(outcomes, snapshot, horizon_days)
    return (
        features.join(labels.lazy(), on="person_id", how="left")
        .with_columns(
            pl.lit(snapshot, dtype=pl.Date).alias(SNAPSHOT),
            pl.col(LABEL_DATE).is_not_null().cast(pl.Int8).alias(LABEL),
        )
        .sort("person_id")
        .collect()
    )


def build_snapshot_table(
    events: pl.DataFrame,
    persons: pl.DataFrame,
    snapshots: list[date],
    config: Config,
    horizon_days: int,
) -> pl.DataFrame:
    """One row per (cohort person, snapshot): ``person_id``, features, ``snapshot``, ``label``, ``label_date``."""
    outcomes = label_events(events.lazy(), persons.lazy())
    frames = [snapshot_rows(events, persons, s, config, outcomes, horizon_days) for s in snapshots]
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame()
