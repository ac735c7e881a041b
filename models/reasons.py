"""Why a person is on the list: plain-English sentences built from their own record.

Every sentence is a fact a caseworker can check against the person's events
(the canonical events of their source records dated on or before the night):
a count of events of one kind since a date, the services that recorded signs
of need in the last 90 days, an arrears balance and how it changed, a run of
contacts about the same thing. Nothing else reaches a sentence: no name, date
of birth, address or reference number, and no model internals.

Kinds of sentence (each is a *candidate*; a person gets the ones their record
supports):

* ``services``: "3 services recorded signs of need in the last 90 days:
  council tax, benefits, contact centre" (signal events, 2 or more services,
  listed in configuration order);
* ``trend``: "6 signs of need recorded since 31 December 2025, compared with 2
  in the nine months before (31 March 2025 to 30 December 2025)" (only when
  the last 90 days are busier per day than the 275 days before them);
* ``event:<source>:<type>``: "Missed 3 council tax instalments since 2 March
  2026; arrears now £405" (the events of that type in the last 90 days, or
  the last 365 when none were that recent; "since" is the first of them);
* ``arrears_rise:<source>``: "Council tax arrears rose from £135 to £540 since
  31 December 2025" (the balance in effect on that date, 90 or 180 days
  before the night - whichever shows the larger rise, 90 on a tie - against
  the latest balance). A rise is in what is owed: a balance in credit owes
  nothing, so credit to £0 is no rise and earns no points, and a rise out of
  credit reads "Council tax account went from £200 in credit to £150 in
  arrears since 2 October 2025";
* ``arrears_now:<source>``: "Housing rent arrears stand at £620 (balance
  recorded on 3 March 2026)", only when no missed-payment sentence already
  says it;
* ``repeat``: "Contacted the contact centre about rent 3 times between 2 May
  2026 and 14 May 2026" (the longest run of same-topic contacts each 14 days
  or fewer after the one before, in the last 365 days).

Which sentences: the *drivers* (what pushed this person up the list: the
rules score's points, or a trained model's per-feature attribution) are
mapped to the sentences that describe them; the most strongly driven come
first, up to five, topped up to two from the fixed priority order. Without
drivers a person gets the first three by priority. Someone whose record
supports only one kind of sentence (for example only a single benefit
suspension) gets one; someone with no signs of need and no arrears gets none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from early_warning.config import Config
from features.person_features import catalogue as cat
from features.person_features import events_as_of
from models._reason_sentences import CANDIDATE, all_candidates
from models._reason_wording import event_sentence_patterns

MAX_REASONS = 5
MIN_REASONS = 2
UNDRIVEN_REASONS = 3
DRIVERS: dict[str, pl.DataType] = {"person_id": pl.String(), "feature": pl.String(), "weight": pl.Float64()}

Drivers = pl.DataFrame | Mapping[str, Any] | None


def driver_sentences(config: Config) -> dict[str, list[str]]:
    """Feature name -> the sentence kinds (candidate keys) that describe it.

    Features with no sentence (channels, recency, household features) map to nothing:
    they may move a trained model, but they are not evidence a caseworker can check.
    """
    patterns = event_sentence_patterns(config)
    by_source: dict[str, list[str]] = {}
    for source, event_type in patterns:
        by_source.setdefault(source, []).append(f"event:{source}:{event_type}")
    out: dict[str, list[str]] = {}
    for w in cat.WINDOWS:
        out[cat.distinct_services(w)] = ["services"]
        out[cat.signals_total(w)] = ["trend", "services"]
        for source in cat.signal_sources(config):
            extra = ["repeat"] if source == cat.CONTACT_SOURCE else []
            out[cat.signals_by_source(w, source)] = by_source.get(source, []) + extra
        for group in cat.EVENT_GROUPS:
            out[cat.group_count(group, w)] = [f"event:{s}:{t}" for s, t in sorted(group.present_in(config))]
    for w in cat.TYPE_WINDOWS:
        for source, event_type in cat.signal_types(config):
            out[cat.signals_by_type(w, source, event_type)] = [f"event:{source}:{event_type}"]
    out[cat.SIGNAL_TREND] = ["trend"]
    for source in cat.arrears_sources(config):
        p = cat.arrears_prefix(source)
        missed = [f"event:{s}:{t}" for (s, t), pat in patterns.items() if s == source and pat[2]]
        out[f"{p}_now"] = [f"arrears_now:{source}", *missed, f"arrears_rise:{source}"]
        out[f"{p}_max_{cat.ARREARS_MAX_DAYS}d"] = [f"arrears_now:{source}", *missed]
        for d in cat.ARREARS_CHANGE_DAYS:
            out[f"{p}_change_{d}d"] = [f"arrears_rise:{source}"]
    for w in cat.REPEAT_WINDOWS:
        out[cat.repeat_contacts(w)] = ["repeat"]
    return {feature: keys for feature, keys in out.items() if keys}


def drivers_frame(person_ids: Sequence[str], contributions: Mapping[str, Any]) -> pl.DataFrame:
    """Per-feature contributions (feature -> one value per person, in ``person_ids`` order) as a
    long ``person_id, feature, weight`` frame, keeping only what pushed a person up (weight > 0)."""
    ids = pl.Series("person_id", list(person_ids), dtype=pl.String)
    if not contributions:
        return pl.DataFrame(schema=DRIVERS)
    wide = pl.DataFrame(
        [
            ids,
            *(
                pl.Series(f, np.asarray(v, dtype=np.float64), dtype=pl.Float64)
                for f, v in contributions.items()
            ),
        ]
    )
    return (
        wide.unpivot(index="person_id", variable_name="feature", value_name="weight")
        .filter(pl.col("weight") > 0)
        .cast(pl.Schema(DRIVERS))
    )


def _wide_schema(columns: Sequence[str]) -> pl.Schema:
    return pl.Schema({c: (pl.String() if c == "person_id" else pl.Float64()) for c in columns})


def _drivers_long(person_ids: Sequence[str], drivers: Drivers) -> pl.DataFrame | None:
    if drivers is None:
        return None
    if isinstance(drivers, pl.DataFrame):
        if set(drivers.columns) == set(DRIVERS):
            return drivers.select(list(DRIVERS)).cast(pl.Schema(DRIVERS)).filter(pl.col("weight") > 0)
        if "person_id" not in drivers.columns:
            raise ValueError("drivers must have a person_id column")
        return (
            drivers.cast(_wide_schema(drivers.columns))
            .unpivot(index="person_id", variable_name="feature", value_name="weight")
            .filter(pl.col("weight") > 0)
        )
    return drivers_frame(person_ids, drivers)


def candidate_reasons(
    person_ids: Sequence[str],
    events: pl.LazyFrame | pl.DataFrame,
    persons: pl.LazyFrame | pl.DataFrame,
    as_of: date,
    config: Config,
) -> pl.DataFrame:
    """Every sentence each person's record supports: ``person_id, key, text, priority``."""
    wanted = pl.LazyFrame({"person_id": list(person_ids)}, schema={"person_id": pl.String})
    links = (
        persons.lazy()
        .with_columns(pl.col("person_id").cast(pl.String))
        .join(wanted, on="person_id", how="semi")
    )
    ev = events_as_of(events.lazy(), links, as_of).collect().lazy()
    parts = all_candidates(ev, as_of, config)
    return pl.concat([p.cast(pl.Schema(CANDIDATE)) for p in parts], how="vertical").collect()


def reasons_for(
    person_ids: Sequence[str] | pl.Series,
    events: pl.LazyFrame | pl.DataFrame,
    persons: pl.LazyFrame | pl.DataFrame,
    as_of: date,
    config: Config,
    drivers: Drivers = None,
) -> pl.DataFrame:
    """Two to five checkable sentences per person, chosen by what drove their place on the list.

    Args:
        person_ids: who needs reasons (the ranked top, not the whole cohort).
        events: canonical events (``features.schema.EVENTS_SCHEMA``); only those on or
            before ``as_of`` are read.
        persons: ``person_id, source, source_person_id`` from linkage.
        as_of: the night.
        config: labels and vocabulary.
        drivers: what pushed each person up: a long ``person_id, feature, weight`` frame
            (``models.scoring.ScoredCohort.drivers``), a wide frame of ``person_id`` and one
            column per feature, or a mapping feature -> values in ``person_ids`` order. Only
            positive weights count. None ranks sentences by a fixed priority.

    Returns:
        ``person_id, reasons`` (list of sentences), one row per requested person in the
        order given; an empty list when the record holds nothing to say.
    """
    ids = [str(p) for p in (person_ids.to_list() if isinstance(person_ids, pl.Series) else person_ids)]
    candidates = candidate_reasons(ids, events, persons, as_of, config)
    long = _drivers_long(ids, drivers)
    if long is None:
        chosen = (
            candidates.sort("person_id", "priority", "key")
            .group_by("person_id", maintain_order=True)
            .head(UNDRIVEN_REASONS)
        )
    else:
        mapping = [(f, k) for f, keys in driver_sentences(config).items() for k in keys]
        feature_keys = pl.DataFrame(
            {"feature": [f for f, _ in mapping], "key": [k for _, k in mapping]},
            schema={"feature": pl.String, "key": pl.String},
        )
        pull = (
            long.join(feature_keys, on="feature", how="inner")
            .group_by("person_id", "key")
            .agg(pl.col("weight").sum().alias("pull"))
        )
        ranked = (
            candidates.join(pull, on=["person_id", "key"], how="left")
            .with_columns(pl.col("pull").fill_null(0.0))
            .sort(["person_id", "pull", "priority", "key"], descending=[False, True, False, False])
            .with_columns(pl.int_range(pl.len()).over("person_id").alias("_rank"))
        )
        chosen = ranked.filter(
            ((pl.col("pull") > 0) & (pl.col("_rank") < MAX_REASONS)) | (pl.col("_rank") < MIN_REASONS)
        )
    reasons = chosen.group_by("person_id", maintain_order=True).agg(pl.col("text").alias("reasons"))
    order = pl.DataFrame({"person_id": ids}, schema={"person_id": pl.String})
    return order.join(reasons, on="person_id", how="left", maintain_order="left").with_columns(
        pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
