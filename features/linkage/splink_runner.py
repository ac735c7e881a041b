"""The one place that runs Splink: train on the night (or reuse a model), score pairs.

Everything Splink does for linkage goes through here, so the rest of the
package deals in polars frames. Splink runs on DuckDB in this process or on
Spark (``linkage.yaml``'s ``backend``; :mod:`features.linkage.engines`); the
training and scoring below are the same on both, and give the same pairs
and weights (docs/linkage-on-spark.md).

The model is trained afresh each night on that night's records by default
(the population changes; the m and u probabilities are facts about the
data), and training is deterministic: the prior comes from exact counts of
deterministic rules, u from a seeded random sample, and EM runs on every
pair of person-level blocks (names; date of birth) without sampling. The
trained model (comparison definitions and m/u probabilities, no personal
data) can be saved as JSON, and a later night can score with it instead of
training (:mod:`features.linkage.trained`).

Splink's own log lines carry counts and parameter values, never record values.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import splink.internals.expectation_maximisation as splink_em
from splink import Linker, SettingsCreator
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from early_warning.paths import write_text
from features.linkage.contacts import CONTACT_COLUMNS, contact_frequencies, trained_exact_u
from features.linkage.engines import Engine, open_engine
from features.linkage.model import blocking_rule, initial_only_m_probability, splink_settings
from features.linkage.settings import LinkageSettings

logger = logging.getLogger(__name__)

_TABLE = "prepared_people"
#: Splink logs every step, and warns of levels the night's data never shows;
#: keep only its errors.
_SPLINK_LOG_LEVEL = logging.ERROR


@dataclass
class ScoredPairs:
    """Pairs at or above the match threshold, with per-comparison evidence.

    ``pairs`` has ``unique_id_l``, ``unique_id_r``, ``match_weight``,
    ``match_probability`` and, for each comparison ``c``, ``gamma_c`` (the
    level), ``bf_c`` (its Bayes factor) and, where term frequencies apply,
    ``bf_tf_adj_c``. ``model`` is the trained Splink model dictionary;
    ``model_reused`` says whether it came from an earlier night rather than
    tonight's training. ``timings`` has seconds for ``engine`` (starting it
    and loading the records), ``train`` (about 0 when reused) and ``predict``.
    """

    pairs: pl.DataFrame
    model: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    model_reused: bool = False
    #: ``unique_id_l``, ``unique_id_r``, ``match_weight``, ``match_probability`` of every
    #: scored pair at or above the clerical-review floor (``settings.clerical_floor``),
    #: below the threshold too, so the data team can sample missed matches; None when
    #: clerical review is off.
    candidates: pl.DataFrame | None = None


#: Smallest m probability EM may learn. See :func:`_stable_em`.
M_PROBABILITY_FLOOR = 1e-10
#: Significant digits EM's m probabilities are rounded to. See :func:`_stable_em`.
M_PROBABILITY_DIGITS = 10


@contextlib.contextmanager
def _stable_em() -> Iterator[None]:
    """Make Splink's EM safe and repeatable while it runs.

    Two fixes to the m probabilities EM computes at each iteration, applied
    by wrapping Splink's lookup for the duration of training only:

    - **Floor at** :data:`M_PROBABILITY_FLOOR`. Splink 5.0 rejects an m
      probability of exactly 0 (below 1e-300), yet its own EM produces one
      when a level never occurs among matches in the training block (e.g.
      "date of birth: different" in the name block of a borough whose dates
      of birth are clean), and training then fails. 1e-10 still says
      "practically never" (a match weight near -33).
    - **Round to** :data:`M_PROBABILITY_DIGITS` significant digits. The
      engine sums in parallel (DuckDB's threads, Spark's partitions), so the
      last bits of each sum vary from run to run and from engine to engine;
      rounding each iteration's values removes that noise, so the same night
      gives the same model, the same weights and the same evidence text, on
      either backend.
    """
    original = splink_em.populate_m_u_from_lookup

    def stabilised(fixed: Any, level: Any, column: str, lookup: dict[str, dict[int, Any]]) -> None:
        record = lookup.get(column, {}).get(level.comparison_vector_value)
        if record is not None and isinstance(record.get("m_probability"), float):
            m = max(record["m_probability"], M_PROBABILITY_FLOOR)
            record["m_probability"] = float(f"{m:.{M_PROBABILITY_DIGITS}g}")
        original(fixed, level, column, lookup)

    splink_em.populate_m_u_from_lookup = stabilised  # type: ignore[assignment]
    try:
        yield
    finally:
        splink_em.populate_m_u_from_lookup = original


#: Name columns whose exact matches are weighted by how common the name is.
_TF_COLUMNS: dict[str, str] = {"first_name_std": "last_name_std", "last_name_std": "first_name_std"}


def name_frequencies(prepared: pl.DataFrame, column: str, other: str) -> pl.DataFrame:
    """Term frequencies of ``column`` counted over distinct full names, not records.

    Splink's default counts records, so a person known to seven services
    makes their own name look seven times as common as it is, and their
    records then need more evidence to link than anyone else's - exactly
    the people the product most needs joined up. Counting each distinct
    (first name, surname) once approximates counting people; namesakes (two
    people with one full name) are rare enough not to matter here.

    Counted in polars, so both engines get the same table.
    """
    names = prepared.select(column, other).filter(pl.col(column).is_not_null()).unique()
    return (
        names.group_by(column)
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .select(column, (pl.col("count") / float(names.height)).alias(f"tf_{column}"))
        .sort(column)
    )


def _linker(engine: Engine, prepared: pl.DataFrame, model: SettingsCreator) -> Linker:
    """The night's records and name frequencies in the engine, and a Linker over them.

    Names are counted per distinct full name (:func:`name_frequencies`);
    phone numbers and e-mails per distinct holder, after training
    (:func:`_register_contact_frequencies`).

    Source names and ids are left behind: the engine needs only the
    prepared columns, keyed by ``unique_id``.
    """
    table = engine.load(prepared.drop("source", "source_person_id"), _TABLE)
    linker = Linker(table, model, log_level=_SPLINK_LOG_LEVEL)
    for column, other in _TF_COLUMNS.items():
        _register_frequencies(engine, linker, column, name_frequencies(prepared, column, other))
    return linker


def _register_frequencies(engine: Engine, linker: Linker, column: str, frequencies: pl.DataFrame) -> None:
    loaded = engine.load(frequencies, f"tf_{column}_people")
    linker.table_management.register_term_frequency_lookup(loaded, column)


def _register_contact_frequencies(engine: Engine, linker: Linker, prepared: pl.DataFrame) -> None:
    """Phone and e-mail frequencies, scaled by the model's trained u (so only after training).

    Training never reads them (EM runs without term frequencies), so they
    are registered just before scoring.
    """
    model = linker.misc.save_model_to_json()
    for column, comparison in CONTACT_COLUMNS.items():
        frequencies = contact_frequencies(prepared, column, trained_exact_u(model, comparison))
        _register_frequencies(engine, linker, column, frequencies)


def _train(linker: Linker, settings: LinkageSettings) -> None:
    """Prior from deterministic rules, u from random pairs, m by EM on person-level blocks."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [blocking_rule(rule, settings.backend) for rule in settings.prior_rules], recall=settings.prior_recall
    )
    training.estimate_u_using_random_sampling(
        max_pairs=settings.u_max_pairs,
        seed=settings.random_seed,
        min_count_per_level=settings.u_min_count_per_level,
        num_chunks=settings.u_num_chunks,
    )
    with _stable_em():
        for block in settings.em_training_blocks:
            training.estimate_parameters_using_expectation_maximisation(
                blocking_rule(block, settings.backend), estimate_without_term_frequencies=True
            )


def _m_from_labels(engine: Engine, linker: Linker, same_person_pairs: pl.DataFrame) -> None:
    """Add the data team's "same person" pairs as a training session for m (Splink's pairwise labels).

    Splink sets each m to the median of its training sessions' estimates, so
    the labels move m rather than replace EM's; fixed m probabilities stay
    fixed. Floored like EM's (:func:`_stable_em`): a level no labelled pair
    shows would otherwise get an m of 0, which Splink rejects.
    """
    table = engine.load(same_person_pairs.select("unique_id_l", "unique_id_r"), "clerical_same_person")
    linker.training.estimate_m_from_pairwise_labels(table)
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            if not level._fix_m_probability and level._has_estimated_m_values:
                level.m_probability = max(level._trained_m_median, M_PROBABILITY_FLOOR)


def _evidence_columns(engine: Engine, table: Any) -> pl.DataFrame:
    """Ids, weights and comparison levels only: the record values stay in the engine.

    Sorted by pair and with fixed types, so both engines return the same frame.
    """
    keep = [
        c
        for c in engine.column_names(table)
        if c in ("unique_id_l", "unique_id_r", "match_weight", "match_probability")
        or c.startswith(("gamma_", "mw_"))
    ]
    frame = engine.fetch(table, keep)
    types = {
        c: pl.Int64 if c.startswith("unique_id") else pl.Int32 if c.startswith("gamma_") else pl.Float64
        for c in frame.columns
    }
    return frame.cast(types).sort("unique_id_l", "unique_id_r")  # type: ignore[arg-type]


def score_pairs(
    prepared: pl.DataFrame,
    settings: LinkageSettings,
    *,
    save_model_to: str | Path | None = None,
    trained_model: dict[str, Any] | None = None,
    work_dir: str | Path | None = None,
    same_person_pairs: pl.DataFrame | None = None,
) -> ScoredPairs:
    """Train the model on ``prepared`` (or take ``trained_model``) and score the blocked pairs.

    Args:
        prepared: output of :func:`features.linkage.prep.prepare_people`.
        settings: linkage settings (backend, blocking and training rules, threshold).
        save_model_to: if given, write the model JSON there.
        trained_model: a model JSON dictionary saved on an earlier night. When
            given, nothing is trained: its m and u probabilities and prior
            score tonight's pairs (term frequencies are still tonight's).
        work_dir: a folder for the Spark backend's temporary data when
            ``spark_temp_dir`` is not set (e.g. the run's folder).
        same_person_pairs: ``unique_id_l``, ``unique_id_r`` of pairs the data
            team labelled "same person" (tonight's ids); when given and
            training happens tonight, they inform m (:func:`_m_from_labels`).

    Raises:
        features.linkage.trained.IncompatibleModelError: ``trained_model``'s
            comparisons or levels are not tonight's.
    """
    # Built first, so a saved model that does not fit fails before an engine starts.
    model_settings = splink_settings(
        settings, settings.backend, trained_model, initial_only_m=initial_only_m_probability(prepared)
    )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with open_engine(settings, work_dir) as engine:
        linker = _linker(engine, prepared, model_settings)
        timings["engine"] = time.perf_counter() - started

        started = time.perf_counter()
        if trained_model is None:
            _train(linker, settings)
            if same_person_pairs is not None and same_person_pairs.height:
                _m_from_labels(engine, linker, same_person_pairs)
        timings["train"] = time.perf_counter() - started

        started = time.perf_counter()
        _register_contact_frequencies(engine, linker, prepared)
        floor = settings.clerical_floor
        if floor is None:
            if settings.match_weight_threshold is not None:
                predictions = linker.inference.predict(
                    threshold_match_weight=settings.match_weight_threshold, warning_mode="never"
                )
            else:
                predictions = linker.inference.predict(
                    threshold_match_probability=settings.match_threshold, warning_mode="never"
                )
        else:
            predictions = linker.inference.predict(threshold_match_weight=floor, warning_mode="never")
        pairs = _evidence_columns(engine, predictions)
        predictions.drop_table_from_database_and_remove_from_cache()
        candidates = None
        if floor is not None:
            candidates = pairs.select("unique_id_l", "unique_id_r", "match_weight", "match_probability")
            pairs = pairs.filter(settings.is_match())
        timings["predict"] = time.perf_counter() - started

        model = linker.misc.save_model_to_json()
    if save_model_to is not None:
        write_text(json.dumps(model, indent=2), Path(save_model_to))
    logger.info(
        "scored %d candidate pairs at or above the match threshold on %s (%s model)",
        pairs.height,
        settings.backend,
        "reused" if trained_model is not None else "newly trained",
    )
    return ScoredPairs(
        pairs=pairs,
        model=model,
        timings=timings,
        model_reused=trained_model is not None,
        candidates=candidates,
    )


def count_blocked_comparisons(prepared: pl.DataFrame, settings: LinkageSettings) -> pl.DataFrame:
    """Exact comparison counts of each blocking rule, marginal and cumulative.

    Use it to choose blocking rules: every rule should add true pairs without
    adding millions of comparisons.
    """
    with open_engine(settings) as engine:
        table = engine.load(prepared.drop("source", "source_person_id"), _TABLE)
        records = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=[blocking_rule(rule, settings.backend) for rule in settings.blocking_rules],
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            record_sample_proportion=1.0,
        )
    return pl.DataFrame(
        {
            "blocking_rule": [str(r["blocking_rule"]) for r in records],
            "marginal_comparisons": [int(r["marginal_comparison_count"]) for r in records],
            "cumulative_comparisons": [int(r["cumulative_comparison_count"]) for r in records],
        }
    )
