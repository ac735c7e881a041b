"""Sentence builders for :mod:`models.reasons`: one polars query per kind of sentence.

Each builder reads the point-in-time events of the people being explained
(``features.person_features.events_as_of``: ``person_id``, ``age_days`` and
the canonical columns) and returns candidate sentences ``person_id, key,
text, priority``. The kinds and their exact meaning are documented in
:mod:`models.reasons`.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from early_warning.config import Config
from early_warning.formatting import money_expr, uk_date, uk_date_expr
from early_warning.wording import capitalised
from features.balances import latest_balance
from features.person_features import catalogue as cat
from models._reason_wording import event_sentence_patterns, topic_words

RECENT_DAYS = cat.RECENT_DAYS
#: Arrears below a pound are not worth a sentence (or a mention).
MIN_POUNDS = 1.0
YEAR_DAYS = 365
ARREARS_WINDOWS: tuple[int, ...] = cat.ARREARS_CHANGE_DAYS
#: Event types whose sentence says the arrears now (missed payments).
_PRIORITY = {"services": 1, "arrears_rise": 2, "missed": 3, "repeat": 4, "trend": 5, "benefits": 6}
_NOW_PRIORITY, _EVENT_PRIORITY = 7, 8

CANDIDATE: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "key": pl.String(),
    "text": pl.String(),
    "priority": pl.Int32(),
}


def _frame(frame: pl.LazyFrame, key: pl.Expr, text: pl.Expr, priority: pl.Expr | int) -> pl.LazyFrame:
    prio = pl.lit(priority, dtype=pl.Int32) if isinstance(priority, int) else priority.cast(pl.Int32)
    return frame.select(
        pl.col("person_id").cast(pl.String), key.alias("key"), text.alias("text"), prio.alias("priority")
    )


def _event_sentences(ev: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    patterns = event_sentence_patterns(config)
    table = pl.LazyFrame(
        {
            "source": [s for s, _ in patterns],
            "event_type": [t for _, t in patterns],
            "one": [p[0] for p in patterns.values()],
            "many": [p[1] for p in patterns.values()],
            "with_arrears": [p[2] for p in patterns.values()],
        }
    )
    recent = pl.col("age_days") <= RECENT_DAYS
    counted = (
        ev.filter((pl.col("role") == "signal") & (pl.col("age_days") <= YEAR_DAYS))
        .group_by("person_id", "source", "event_type")
        .agg(
            recent.sum().alias("_n90"),
            pl.col("event_date").filter(recent).min().alias("_since90"),
            pl.len().alias("_n365"),
            pl.col("event_date").min().alias("_since365"),
        )
        .with_columns(
            pl.when(pl.col("_n90") > 0).then(pl.col("_n90")).otherwise(pl.col("_n365")).alias("n"),
            pl.when(pl.col("_n90") > 0)
            .then(pl.col("_since90"))
            .otherwise(pl.col("_since365"))
            .alias("since"),
        )
        .join(table, on=["source", "event_type"], how="inner")
        .join(_arrears_now(ev, config), on=["person_id", "source"], how="left")
    )
    date_text = uk_date_expr("since")
    sentence = (
        pl.when(pl.col("n") == 1)
        .then(pl.col("one").str.replace("{date}", date_text, literal=True))
        .otherwise(
            pl.col("many")
            .str.replace("{n}", pl.col("n").cast(pl.String), literal=True)
            .str.replace("{date}", date_text, literal=True)
        )
    )
    suffix = (
        pl.when(pl.col("with_arrears") & (pl.col("now") >= MIN_POUNDS))
        .then(pl.lit("; arrears now ") + money_expr(pl.col("now")))
        .otherwise(pl.lit(""))
    )
    benefits = [t for t in ("benefits",) if t in config.sources]
    priority = (
        pl.when(pl.col("with_arrears"))
        .then(_PRIORITY["missed"])
        .when(pl.col("source").is_in(benefits))
        .then(_PRIORITY["benefits"])
        .otherwise(_EVENT_PRIORITY)
    )
    key = pl.concat_str([pl.lit("event"), pl.col("source"), pl.col("event_type")], separator=":")
    return _frame(counted, key, sentence + suffix, priority)


def _arrears_now(ev: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    """person_id, source, now (latest balance), now_date (``features.balances``, as the features)."""
    return (
        ev.filter(pl.col("source").is_in(cat.arrears_sources(config)) & pl.col("amount").is_not_null())
        .group_by("person_id", "source")
        .agg(latest_balance().alias("now"), latest_balance("event_date").alias("now_date"))
    )


def _owed(balance: pl.Expr) -> pl.Expr:
    """Pounds owed on a balance, to the penny: a balance in credit owes nothing."""
    return balance.round(2).clip(lower_bound=0.0)


def _arrears_sentences(ev: pl.LazyFrame, as_of: date, config: Config) -> list[pl.LazyFrame]:
    balances = ev.filter(
        pl.col("source").is_in(cat.arrears_sources(config)) & pl.col("amount").is_not_null()
    ).group_by("person_id", "source")
    at = [
        latest_balance(where=pl.col("age_days") >= d).fill_null(0.0).alias(f"_at{d}") for d in ARREARS_WINDOWS
    ]
    frame = balances.agg(latest_balance().alias("now"), *at)
    labels = pl.LazyFrame(
        {"source": list(config.sources), "label": [capitalised(s.label) for s in config.sources.values()]}
    )
    frame = frame.join(labels, on="source", how="inner")
    # The window with the largest rise (the shorter one on a tie): the points table reads the
    # rise over six months, so a sentence about the last three alone could miss what earned them.
    # A rise is in what is owed, as the features count it (``features.person_features._arrears``):
    # a balance in credit owes nothing, so credit to £0 is no rise and credit to £150 is £150.
    best_rise = pl.lit(None, dtype=pl.Float64)
    best_window = pl.lit(None, dtype=pl.Int32)
    for d in ARREARS_WINDOWS:
        grew = _owed(pl.col("now")) - _owed(pl.col(f"_at{d}"))
        larger = (grew >= 1) & (best_rise.is_null() | (grew > best_rise))
        best_window = pl.when(larger).then(pl.lit(d, dtype=pl.Int32)).otherwise(best_window)
        best_rise = pl.when(larger).then(grew).otherwise(best_rise)
    frame = frame.with_columns(best_window.alias("_d"))
    start = pl.lit(None, dtype=pl.Float64)
    since = pl.lit(None, dtype=pl.String)
    for d in ARREARS_WINDOWS:
        start = pl.when(pl.col("_d") == d).then(pl.col(f"_at{d}")).otherwise(start)
        since = pl.when(pl.col("_d") == d).then(pl.lit(uk_date(as_of - timedelta(days=d)))).otherwise(since)
    label = pl.col("label")
    rise_text = (
        pl.when(start.round(2) < 0)
        .then(
            pl.concat_str(
                [
                    label,
                    pl.lit(" account went from "),
                    money_expr(-start),
                    pl.lit(" in credit to "),
                    money_expr(pl.col("now")),
                    pl.lit(" in arrears since "),
                    since,
                ]
            )
        )
        .otherwise(
            pl.concat_str(
                [
                    label,
                    pl.lit(" arrears rose from "),
                    money_expr(start.clip(lower_bound=0.0)),
                    pl.lit(" to "),
                    money_expr(pl.col("now")),
                    pl.lit(" since "),
                    since,
                ]
            )
        )
    )
    rise = _frame(
        frame.filter(pl.col("_d").is_not_null() & (pl.col("now") >= MIN_POUNDS)),
        pl.lit("arrears_rise:") + pl.col("source"),
        rise_text,
        _PRIORITY["arrears_rise"],
    )
    missed = [(s, t) for (s, t), p in event_sentence_patterns(config).items() if p[2]]
    with_missed = (
        ev.filter(
            (pl.col("age_days") <= YEAR_DAYS)
            & pl.any_horizontal(
                [(pl.col("source") == s) & (pl.col("event_type") == t) for s, t in missed] or [pl.lit(False)]
            )
        )
        .select("person_id", "source")
        .unique()
    )
    now = (
        _arrears_now(ev, config)
        .filter(pl.col("now") >= MIN_POUNDS)
        .join(with_missed, on=["person_id", "source"], how="anti")
    )
    now = now.join(labels, on="source", how="inner")
    now_text = pl.concat_str(
        [
            label,
            pl.lit(" arrears stand at "),
            money_expr(pl.col("now")),
            pl.lit(" (balance recorded on "),
            uk_date_expr("now_date"),
            pl.lit(")"),
        ]
    )
    return [rise, _frame(now, pl.lit("arrears_now:") + pl.col("source"), now_text, _NOW_PRIORITY)]


def _services_sentence(ev: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    order = pl.LazyFrame(
        {
            "source": list(config.sources),
            "label": [s.label for s in config.sources.values()],
            "_pos": list(range(len(config.sources))),
        }
    )
    services = (
        ev.filter((pl.col("role") == "signal") & (pl.col("age_days") <= RECENT_DAYS))
        .select("person_id", "source")
        .unique()
        .join(order, on="source", how="inner")
        .group_by("person_id")
        .agg(pl.col("label").sort_by("_pos").alias("labels"))
        .filter(pl.col("labels").list.len() >= 2)
    )
    text = pl.concat_str(
        [
            pl.col("labels").list.len().cast(pl.String),
            pl.lit(f" services recorded signs of need in the last {RECENT_DAYS} days: "),
            pl.col("labels").list.join(", "),
        ]
    )
    return _frame(services, pl.lit("services"), text, _PRIORITY["services"])


def _trend_sentence(ev: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    prior = YEAR_DAYS - RECENT_DAYS  # 275: the same windows as the trend feature
    signals = ev.filter((pl.col("role") == "signal") & (pl.col("age_days") <= YEAR_DAYS))
    counts = (
        signals.group_by("person_id")
        .agg(
            (pl.col("age_days") <= RECENT_DAYS).sum().alias("recent"),
            (pl.col("age_days") > RECENT_DAYS).sum().alias("earlier"),
        )
        .filter((pl.col("recent") >= 2) & (pl.col("recent") * prior > pl.col("earlier") * RECENT_DAYS))
    )
    earlier = (
        pl.when(pl.col("earlier") == 0).then(pl.lit("none")).otherwise(pl.col("earlier").cast(pl.String))
    )
    text = pl.concat_str(
        [
            pl.col("recent").cast(pl.String),
            pl.lit(
                f" signs of need recorded since {uk_date(as_of - timedelta(days=RECENT_DAYS))}, compared with "
            ),
            earlier,
            pl.lit(
                f" in the nine months before ({uk_date(as_of - timedelta(days=YEAR_DAYS))} to "
                f"{uk_date(as_of - timedelta(days=RECENT_DAYS + 1))})"
            ),
        ]
    )
    return _frame(counts, pl.lit("trend"), text, _PRIORITY["trend"])


def _repeat_sentence(ev: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    if cat.CONTACT_SOURCE not in config.sources:
        return pl.LazyFrame(schema=CANDIDATE)
    src = config.sources[cat.CONTACT_SOURCE]
    topics = pl.LazyFrame(
        {"topic": src.topics, "words": [topic_words(t, config) for t in src.topics]},
        schema={"topic": pl.String, "words": pl.String},
    )
    same = (pl.col("person_id") == pl.col("person_id").shift(1)) & (
        pl.col("topic") == pl.col("topic").shift(1)
    )
    gap = (pl.col("event_date") - pl.col("event_date").shift(1)).dt.total_days()
    runs = (
        ev.filter(
            (pl.col("source") == cat.CONTACT_SOURCE)
            & pl.col("topic").is_not_null()
            & (pl.col("age_days") <= YEAR_DAYS)
        )
        .select("person_id", "topic", "event_date")
        .sort("person_id", "topic", "event_date")
        .with_columns((~(same & (gap <= cat.REPEAT_CONTACT_DAYS)).fill_null(True)).cum_sum().alias("_run"))
        .group_by("person_id", "topic", "_run")
        .agg(
            pl.len().alias("n"),
            pl.col("event_date").min().alias("first"),
            pl.col("event_date").max().alias("last"),
        )
        .filter(pl.col("n") >= 2)
        .sort("person_id", "n", "last", "topic", descending=[False, True, True, False])
        .group_by("person_id", maintain_order=True)
        .first()
        .join(topics, on="topic", how="left")
    )
    when = (
        pl.when(pl.col("first") == pl.col("last"))
        .then(pl.lit(" times on ") + uk_date_expr("first"))
        .otherwise(
            pl.concat_str(
                [pl.lit(" times between "), uk_date_expr("first"), pl.lit(" and "), uk_date_expr("last")]
            )
        )
    )
    text = pl.concat_str(
        [
            pl.lit(f"Contacted the {src.label} about "),
            pl.col("words").fill_null(pl.lit(topic_words("", config))),
            pl.lit(" "),
            pl.col("n").cast(pl.String),
            when,
        ]
    )
    return _frame(runs, pl.lit("repeat"), text, _PRIORITY["repeat"])


def all_candidates(ev: pl.LazyFrame, as_of: date, config: Config) -> list[pl.LazyFrame]:
    """Every kind of candidate sentence, each as a lazy frame of ``CANDIDATE``."""
    return [
        _services_sentence(ev, config),
        *_arrears_sentences(ev, as_of, config),
        _event_sentences(ev, config),
        _repeat_sentence(ev, config),
        _trend_sentence(ev, as_of),
    ]
