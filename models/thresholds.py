"""Which services already know a person: each service's own rule, as of one night.

A person is *known to a service* on night T when any one of that service's
rules (``thresholds.yaml``, DATA_CONTRACT.md section 3) fires using only
events dated on or before T. The early-warning cohort is everyone known to no
service: the people no single service would act on yet.

Windows are inclusive, as in :mod:`features.person_features`: "in the last
365 days" on night T is an event dated from T minus 365 days up to and
including T. A rule's window is its ``within_days``, or ``window_days`` when
it gives none.

Rule kinds:

* ``events_of_role`` / ``events_of_type`` / ``any_event``: at least one such
  event from the service's sources in the window.
* ``arrears_at_least``: the person's latest balance from the service's
  sources on or before T (latest by date, then by row in the source file) is
  at least ``pounds`` *and* was recorded in the window; a balance older than
  the window is stale and fires nothing. Exactly the threshold fires.
* ``repeated_events``: ``count`` or more events of those types falling within
  ``within_days`` of each other (first to last at most ``within_days`` days
  apart), *all inside the last* ``window_days``. The contract's "within the
  last 365 days unless said" applies: ``within_days`` is how tight the burst
  must be, and a burst older than a year no longer makes someone known, just
  as an enforcement event older than a year does not.

Each fired rule is kept as a reason ``{service, kind, rule, since,
last_seen}``: ``since`` is the first date in the window on which the rule's
evidence stood (the earliest qualifying event; the date the balance reached
the threshold and stayed there; the date a burst reached ``count``) and
``last_seen`` the most recent.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from early_warning.config import (
    AnyEvent,
    ArrearsAtLeast,
    Config,
    EventsOfRole,
    EventsOfType,
    RepeatedEvents,
    Rule,
    Service,
)
from features.balances import balance_order, latest_balance
from features.person_features import events_as_of

REASON_FIELDS: dict[str, pl.DataType] = {
    "service": pl.String(),
    "kind": pl.String(),
    "rule": pl.String(),
    "since": pl.Date(),
    "last_seen": pl.Date(),
}
_ORDER = "_order"


def _words(names: list[str]) -> str:
    spoken = [n.replace("_", " ") for n in names]
    return spoken[0] if len(spoken) == 1 else f"{', '.join(spoken[:-1])} or {spoken[-1]}"


def rule_window(rule: Rule, config: Config) -> int:
    """Days a rule looks back: its ``within_days``, or ``window_days``.

    For ``repeated_events`` ``within_days`` is the width of the burst; the
    look-back is always ``window_days``.
    """
    spec = rule.spec
    if isinstance(spec, RepeatedEvents) or spec.within_days is None:
        return config.thresholds.window_days
    return int(spec.within_days)


def describe_rule(rule: Rule, config: Config) -> str:
    """The rule in plain English, for the reasons a caseworker reads."""
    spec, days = rule.spec, rule_window(rule, config)
    if isinstance(spec, EventsOfRole):
        what = f"an {spec.role} event" if spec.role[0] in "aeiou" else f"a {spec.role} event"
    elif isinstance(spec, EventsOfType):
        what = _words(spec.types)
    elif isinstance(spec, AnyEvent):
        what = "any event"
    elif isinstance(spec, ArrearsAtLeast):
        return f"arrears of at least £{spec.pounds:,.0f} (latest balance, recorded in the last {days} days)"
    else:
        return (
            f"{spec.count} or more of {_words(spec.types)} within {spec.within_days} days "
            f"of each other, in the last {days} days"
        )
    return f"{what} in the last {days} days"


def _fired(ev: pl.LazyFrame, service: Service, rule: Rule, config: Config) -> pl.LazyFrame:
    """person_id, since, last_seen for everyone this rule fires for."""
    spec = rule.spec
    days = rule_window(rule, config)
    mine = ev.filter(pl.col("source").is_in(service.sources) & (pl.col("age_days") <= days))
    span = [pl.col("event_date").min().alias("since"), pl.col("event_date").max().alias("last_seen")]
    if isinstance(spec, EventsOfRole):
        return mine.filter(pl.col("role") == spec.role).group_by("person_id").agg(span)
    if isinstance(spec, EventsOfType):
        return mine.filter(pl.col("event_type").is_in(spec.types)).group_by("person_id").agg(span)
    if isinstance(spec, AnyEvent):
        return mine.group_by("person_id").agg(span)
    if isinstance(spec, ArrearsAtLeast):
        # Only in-window balances are read: if the latest balance is older than the window
        # there are none, which is exactly "stale, does not fire".
        below = pl.col(_ORDER).filter(pl.col("amount") < spec.pounds).max().fill_null(-1)
        return (
            mine.filter(pl.col("amount").is_not_null())
            .with_columns(balance_order().alias(_ORDER))
            .group_by("person_id")
            .agg(
                latest_balance().alias("_latest"),
                latest_balance("event_date").alias("last_seen"),
                pl.when(pl.col(_ORDER) > below).then(pl.col("event_date")).min().alias("since"),
            )
            .filter(pl.col("_latest") >= spec.pounds)
            .select("person_id", "since", "last_seen")
        )
    assert isinstance(spec, RepeatedEvents)
    back = spec.count - 1
    return (
        mine.filter(pl.col("event_type").is_in(spec.types))
        .select("person_id", "event_date")
        .sort("person_id", "event_date")
        .filter(
            (pl.col("person_id") == pl.col("person_id").shift(back))
            & ((pl.col("event_date") - pl.col("event_date").shift(back)).dt.total_days() <= spec.within_days)
        )
        .group_by("person_id")
        .agg(span)
    )


def _empty_known(person_id_type: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "person_id": person_id_type,
            "services": pl.List(pl.String()),
            "reasons": pl.List(pl.Struct(REASON_FIELDS)),
        }
    )


def known_to_services(
    events: pl.LazyFrame, persons: pl.LazyFrame, as_of: date, config: Config
) -> pl.DataFrame:
    """Everyone known to at least one service on night ``as_of``, and why.

    Args:
        events: canonical accepted events (``features.schema.EVENTS_SCHEMA``); events dated
            after ``as_of`` are ignored, so adding them changes nothing.
        persons: ``person_id, source, source_person_id`` from linkage.
        as_of: the night.
        config: the services and their rules.

    Returns:
        One row per person known to any service, sorted by ``person_id``: ``services``
        (sorted service names) and ``reasons`` (one ``{service, kind, rule, since,
        last_seen}`` per fired rule, in configuration order).
    """
    person_id_type = persons.collect_schema()["person_id"]
    rules = [
        (name, service, rule)
        for name, service in config.thresholds.services.items()
        for rule in service.rules
    ]
    if not rules:
        return _empty_known(person_id_type)
    lookback = max(rule_window(rule, config) for *_, rule in rules)
    sources = sorted({s for _, service, _ in rules for s in service.sources})
    recent = events.filter(
        pl.col("source").is_in(sources) & (pl.col("event_date") >= pl.lit(as_of - timedelta(days=lookback)))
    )
    # Materialised once: the rules read it several times, and left lazy the optimiser would
    # push each service's source filter into its own copy of the join.
    ev = events_as_of(recent, persons, as_of).collect().lazy()
    fired = pl.concat(
        [
            _fired(ev, service, rule, config).with_columns(
                pl.lit(position, dtype=pl.Int32).alias("_rule"),
                pl.lit(name).alias("service"),
                pl.lit(rule.kind).alias("kind"),
                pl.lit(describe_rule(rule, config)).alias("rule"),
            )
            for position, (name, service, rule) in enumerate(rules)
        ],
        how="vertical",
    )
    known = (
        fired.group_by("person_id")
        .agg(
            pl.col("service").unique().sort().alias("services"),
            pl.struct(list(REASON_FIELDS)).sort_by("_rule").alias("reasons"),
        )
        .sort("person_id")
        .collect()
    )
    if known.is_empty():
        return _empty_known(person_id_type)
    return known.cast({"reasons": pl.List(pl.Struct(REASON_FIELDS))})


def early_warning_cohort(persons: pl.LazyFrame | pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """Every person known to no service: the people early warning looks at.

    Returns one ``person_id`` column, unique and sorted.
    """
    return (
        persons.lazy()
        .select("person_id")
        .unique()
        .join(known.lazy().select("person_id"), on="person_id", how="anti")
        .sort("person_id")
        .collect()
    )
