"""Labels and backtesting snapshots: what the model learns from, point in time.

A *snapshot* is a past night T replayed with only what was known then:
features from events dated on or before T, each service's rule applied as of
T, and the early-warning cohort (known to no service at T). A person in that
cohort is a *positive* when a label event of theirs falls in
``(T, T + horizon]``. Which events are labels is a choice about what "need"
means, made in ``training.yaml`` (``labels``) and written in the model card:

* **crisis** events (the ``crisis`` role: a homelessness approach, a
  safeguarding concern, a children's referral accepted...) always: the harm
  early warning tries to get ahead of;
* **enforcement** events (a summons, a notice of seeking possession) only as
  ``labels.enforcement`` says: ``never``; ``with_other_need`` (the default),
  only when the person's own record shows need beyond that one service in the
  ``other_need_days`` before it, a signal from another source (a contact about
  waste or parking, or about the enforcing service itself, does not count);
  or ``always``. Enforcement alone is not need: most people who fall behind
  can't pay, but some won't (Gateshead found 4%), and both reach a summons; a
  label that counts every enforcement teaches a model to find the ones who
  won't pay (DATA_CONTRACT.md section 2);
* **caseworker outcomes** from the review queue (:class:`ReviewOutcomes`,
  read by the command line, never the note): "help offered" and "already
  supported" are need, dated the day of the review; "no help needed" is a
  plain negative; "could not reach" and "declined" say nothing, so the rows
  whose window holds such a review (and no other label) are left out rather
  than counted as negatives. A person who was offered help is *censored*
  after the review: help may have prevented a crisis, so their rows from the
  review until ``horizon`` days later are left out (neither positive nor
  negative).

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
list would have been. Which people are "middle" people is decided by a
documented hash (:func:`person_share_bucket`: the first eight bytes of
SHA-256 of the person id), not by a library's hash function, so the split
does not move when polars is upgraded.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import polars as pl

from early_warning.config import Config
from features.person_features import build_person_features
from models.thresholds import early_warning_cohort, known_to_services

SNAPSHOT = "snapshot"
LABEL = "label"
LABEL_DATE = "label_date"
#: Did the person go on to show need in the horizon (a label event, a service taking them on, or
#: signs of need in two or more services)? Never a training label: the champion gate's guard rail.
NEED_SHOWN = "need_shown"
#: How many different services with a sign of need make "need shown".
NEED_SHOWN_SERVICES = 2
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


def person_share_bucket(person_id: str) -> int:
    """A person's bucket in 0..9999: the first 8 bytes of SHA-256 of the id, big-endian, mod 10,000.

    Documented and library-independent, so a person's period (middle or train)
    stays the same across polars versions; a test pins a few assignments.
    """
    return int.from_bytes(hashlib.sha256(person_id.encode("utf-8")).digest()[:8], "big") % 10_000


def assign_periods(table: pl.DataFrame, split: Split, middle_person_share: float) -> pl.DataFrame:
    """``table`` with ``period`` (train, middle, report); rows in no period are dropped.

    Middle rows are those of a fixed share of people (:func:`person_share_bucket`);
    training rows are everyone else's.
    """
    ids = table["person_id"].cast(pl.String).unique()
    buckets = pl.DataFrame(
        {"person_id": ids, "_bucket": [person_share_bucket(p) for p in ids.to_list()]},
        schema={"person_id": table.schema["person_id"], "_bucket": pl.Int64},
    )
    table = table.join(buckets, on="person_id", how="left")
    in_middle_group = pl.col("_bucket") < int(middle_person_share * 10_000)
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
    return table.with_columns(period.alias("period")).filter(pl.col("period").is_not_null()).drop("_bucket")


EnforcementLabel = Literal["never", "with_other_need", "always"]
#: Contact-centre topics that say nothing about need (and the enforcing service's own topic, below).
ROUTINE_TOPICS: tuple[str, ...] = ("waste", "parking")
#: The contact-centre topic about each enforcing source's own business.
OWN_TOPIC: dict[str, str] = {"council_tax": "council_tax", "housing_rent": "rent"}
NEED_OUTCOMES: tuple[str, ...] = ("help_offered", "already_supported")
NO_NEED_OUTCOMES: tuple[str, ...] = ("no_help_needed",)
UNLABELLED_OUTCOMES: tuple[str, ...] = ("could_not_reach", "declined")
CENSORING_OUTCOMES: tuple[str, ...] = ("help_offered",)
#: Columns of the review outcomes training may read: never the note.
OUTCOME_COLUMNS: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "surfaced_on": pl.Date(),
    "reviewed_on": pl.Date(),
    "outcome": pl.String(),
}


@dataclass(frozen=True)
class LabelRules:
    """Which events and outcomes make a label (``training.yaml`` ``labels``; see the module docstring)."""

    enforcement: EnforcementLabel = "with_other_need"
    other_need_days: int = 180
    use_review_outcomes: bool = True
    services_taking_on: bool = False

    def describe(self) -> str:
        """One sentence for the model card and the run's parameters."""
        enforcement = {
            "never": "enforcement events are never labels",
            "with_other_need": (
                "an enforcement event is a label only when the person's own record shows a sign of "
                f"need from another service in the {self.other_need_days} days before it"
            ),
            "always": "every enforcement event is a label",
        }[self.enforcement]
        outcomes = (
            "caseworkers' outcomes are labels (help offered or already supported: need; no help needed: "
            "not; could not reach or declined: left out), and people offered help are censored after review"
            if self.use_review_outcomes
            else "caseworkers' outcomes are not used"
        )
        services = (
            "a service taking the person on (an assessment, a care package, a homelessness duty, an ASB case) "
            "is a label; "
            if self.services_taking_on
            else ""
        )
        return f"Crisis events are labels; {services}{enforcement}; {outcomes}."


def _other_need_before(events: pl.LazyFrame, enforcement: pl.LazyFrame, days: int) -> pl.LazyFrame:
    """Enforcement events (person_id, source, event_date) that follow another service's sign of need."""
    own_topic = pl.col("source_enf").replace_strict(OWN_TOPIC, default=None, return_dtype=pl.String)
    signals = events.filter(pl.col("role") == "signal").select(
        "person_id",
        pl.col("source").alias("signal_source"),
        pl.col("event_date").alias("signal_date"),
        "topic",
    )
    joined = (
        enforcement.rename({"source": "source_enf"})
        .join(signals, on="person_id", how="inner")
        .filter(
            (pl.col("signal_source") != pl.col("source_enf"))
            & (pl.col("signal_date") < pl.col("event_date"))
            & (pl.col("signal_date") >= pl.col("event_date") - pl.duration(days=days))
            & ~(
                (pl.col("signal_source") == "contact_centre")
                & (pl.col("topic").is_in(ROUTINE_TOPICS) | (pl.col("topic") == own_topic)).fill_null(False)
            )
        )
    )
    return joined.select("person_id", pl.col("source_enf").alias("source"), "event_date").unique()


def label_events(
    events: pl.LazyFrame,
    persons: pl.LazyFrame,
    rules: LabelRules | None = None,
    outcomes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``person_id, event_date`` of every label event, from any of the person's records.

    Crisis events always; enforcement events as ``rules.enforcement`` says; and,
    when ``rules.use_review_outcomes``, the review date of every "help offered" or
    "already supported" outcome in ``outcomes`` (:data:`OUTCOME_COLUMNS`).
    """
    rules = rules or LabelRules()
    links = persons.select("source", "source_person_id", "person_id").unique()
    linked = events.join(links, on=["source", "source_person_id"], how="inner")
    roles = ["crisis", "service"] if rules.services_taking_on else ["crisis"]
    frames = [linked.filter(pl.col("role").is_in(roles)).select("person_id", "event_date")]
    enforcement = linked.filter(pl.col("role") == "enforcement").select("person_id", "source", "event_date")
    if rules.enforcement == "always":
        frames.append(enforcement.select("person_id", "event_date"))
    elif rules.enforcement == "with_other_need":
        frames.append(
            _other_need_before(linked, enforcement, rules.other_need_days).select("person_id", "event_date")
        )
    if rules.use_review_outcomes and outcomes is not None and not outcomes.is_empty():
        frames.append(
            outcomes.lazy()
            .filter(pl.col("outcome").is_in(NEED_OUTCOMES))
            .select("person_id", pl.col("reviewed_on").alias("event_date"))
        )
    return pl.concat([f.select("person_id", pl.col("event_date").cast(pl.Date)) for f in frames]).collect()


def snapshot_labels(outcomes: pl.DataFrame, snapshot: date, horizon_days: int) -> pl.DataFrame:
    """``person_id, label_date``: the first label date in ``(snapshot, snapshot + horizon]``.

    Only people with such an event appear; everyone else is a negative.
    """
    end = snapshot + timedelta(days=horizon_days)
    return (
        outcomes.filter((pl.col("event_date") > snapshot) & (pl.col("event_date") <= end))
        .group_by("person_id")
        .agg(pl.col("event_date").min().alias(LABEL_DATE))
    )


def need_shown_after(
    events: pl.LazyFrame, persons: pl.LazyFrame, label_people: pl.DataFrame, snapshot: date, horizon_days: int
) -> pl.DataFrame:
    """``person_id`` of everyone who showed need in ``(snapshot, snapshot + horizon]``.

    Need shown: a label event (``label_people``), a service taking the person on, or
    signals from at least :data:`NEED_SHOWN_SERVICES` different services (contacts about
    waste or parking do not count). It is broader than any training label and what
    early warning is for; the champion gate uses it so that a model cannot win on a
    narrow label (crisis) by surfacing people whose need shows less (``models.gate``).
    """
    end = snapshot + timedelta(days=horizon_days)
    links = persons.select("source", "source_person_id", "person_id").unique()
    later = (
        events.filter((pl.col("event_date") > snapshot) & (pl.col("event_date") <= end))
        .filter(pl.col("role").is_in(["signal", "service"]))
        .filter(
            ~((pl.col("source") == "contact_centre") & pl.col("topic").is_in(ROUTINE_TOPICS)).fill_null(False)
        )
        .join(links, on=["source", "source_person_id"], how="inner")
        .group_by("person_id")
        .agg(
            (pl.col("role") == "service").any().alias("taken_on"),
            pl.col("source").filter(pl.col("role") == "signal").n_unique().alias("services"),
        )
        .filter(pl.col("taken_on") | (pl.col("services") >= NEED_SHOWN_SERVICES))
        .select("person_id")
        .collect()
    )
    return pl.concat([later, label_people.select("person_id")]).unique()


def rows_left_out(reviews: pl.DataFrame | None, snapshot: date, horizon_days: int) -> pl.DataFrame:
    """``person_id`` of rows at ``snapshot`` that review outcomes leave unlabelled or censored.

    * a "could not reach" or "declined" review in ``(snapshot, snapshot + horizon]``
      says nothing: the row is left out unless another label makes it positive;
    * a "help offered" review on or before the snapshot, less than ``horizon`` days
      before it: the person is censored (help may have prevented a crisis).
    """
    if reviews is None or reviews.is_empty():
        return pl.DataFrame(schema={"person_id": pl.String, "_why": pl.String})
    end = snapshot + timedelta(days=horizon_days)
    censor_from = snapshot - timedelta(days=horizon_days)
    unlabelled = reviews.filter(
        pl.col("outcome").is_in(UNLABELLED_OUTCOMES)
        & (pl.col("reviewed_on") > snapshot)
        & (pl.col("reviewed_on") <= end)
    ).select("person_id", _why=pl.lit("unlabelled"))
    censored = reviews.filter(
        pl.col("outcome").is_in(CENSORING_OUTCOMES)
        & (pl.col("reviewed_on") <= snapshot)
        & (pl.col("reviewed_on") > censor_from)
    ).select("person_id", _why=pl.lit("censored"))
    return pl.concat([censored, unlabelled]).unique("person_id", keep="first", maintain_order=True)


def snapshot_rows(
    events: pl.DataFrame,
    persons: pl.DataFrame,
    snapshot: date,
    config: Config,
    outcomes: pl.DataFrame,
    horizon_days: int,
    reviews: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The early-warning cohort at ``snapshot`` with its features, label and label date.

    Features and the cohort read only events dated on or before ``snapshot``;
    only the label looks after it. ``outcomes`` are label events
    (:func:`label_events`); ``reviews`` the review outcomes, which leave some rows
    out (:func:`rows_left_out`): a censored row always, an unlabelled one unless
    it is positive.
    """
    ev, ps = events.lazy(), persons.lazy()
    known = known_to_services(ev, ps, snapshot, config)
    cohort = early_warning_cohort(ps, known)
    features = build_person_features(ev, ps, snapshot, config).join(cohort.lazy(), on="person_id", how="semi")
    labels = snapshot_labels(outcomes, snapshot, horizon_days)
    shown = need_shown_after(ev, ps, labels, snapshot, horizon_days).with_columns(
        pl.lit(1, pl.Int8).alias(NEED_SHOWN)
    )
    rows = (
        features.join(labels.lazy(), on="person_id", how="left")
        .join(shown.lazy(), on="person_id", how="left")
        .with_columns(
            pl.lit(snapshot, dtype=pl.Date).alias(SNAPSHOT),
            pl.col(LABEL_DATE).is_not_null().cast(pl.Int8).alias(LABEL),
            pl.col(NEED_SHOWN).fill_null(0),
        )
        .sort("person_id")
        .collect()
    )
    left_out = rows_left_out(reviews, snapshot, horizon_days)
    if left_out.is_empty():
        return rows
    rows = rows.join(left_out, on="person_id", how="left")
    keep = pl.col("_why").is_null() | ((pl.col("_why") == "unlabelled") & (pl.col(LABEL) == 1))
    return rows.filter(keep).drop("_why")


def build_snapshot_table(
    events: pl.DataFrame,
    persons: pl.DataFrame,
    snapshots: list[date],
    config: Config,
    horizon_days: int,
    rules: LabelRules | None = None,
    reviews: pl.DataFrame | None = None,
    on_snapshot: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """One row per (cohort person, snapshot): ``person_id``, features, ``snapshot``, ``label``, ``label_date``.

    ``reviews`` (:data:`OUTCOME_COLUMNS`) are the review queue's outcomes, used as
    ``rules`` says; ``on_snapshot(done, total)`` is called after each snapshot.
    """
    rules = rules or LabelRules()
    use = reviews if rules.use_review_outcomes else None
    outcomes = label_events(events.lazy(), persons.lazy(), rules, use)
    frames = []
    for done, snapshot in enumerate(snapshots, start=1):
        frames.append(snapshot_rows(events, persons, snapshot, config, outcomes, horizon_days, use))
        if on_snapshot is not None:
            on_snapshot(done, len(snapshots))
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame()
