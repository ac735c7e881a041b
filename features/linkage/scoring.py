"""The one place that runs Splink on DuckDB: train on the night, score pairs.

Everything Splink and DuckDB do for linkage goes through here, so the rest of
the package deals in polars frames. The model is trained afresh each night on
that night's records (the population changes; the m and u probabilities are
facts about the data), and training is deterministic: the prior comes from
exact counts of deterministic rules, u from a seeded random sample, and EM
runs on every pair of person-level blocks (names; date of birth) without
sampling. The trained model (comparison definitions and m/u probabilities,
no personal data) can be saved as JSON.

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

import duckdb
import polars as pl
import splink.internals.expectation_maximisation as splink_em
from splink import DuckDBAPI, Linker
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from features.linkage.model import blocking_rule, splink_settings
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
    ``bf_tf_adj_c``. ``model`` is the trained Splink model dictionary.
    """

    pairs: pl.DataFrame
    model: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


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
    - **Round to** :data:`M_PROBABILITY_DIGITS` significant digits. DuckDB
      sums in parallel, so the last bits of each sum vary from run to run;
      rounding each iteration's values removes that noise, so the same night
      gives the same model, the same weights and the same evidence text.
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


def _connect(settings: LinkageSettings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
    con.execute("SET preserve_insertion_order = false")
    return con


def _load(con: duckdb.DuckDBPyConnection, prepared: pl.DataFrame) -> None:
    arrow = prepared.drop("source", "source_person_id").to_arrow()
    con.register("_prepared_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TABLE {_TABLE} AS SELECT * FROM _prepared_arrow")
    con.unregister("_prepared_arrow")


#: Name columns whose exact matches are weighted by how common the name is.
_TF_COLUMNS: dict[str, str] = {"first_name_std": "last_name_std", "last_name_std": "first_name_std"}


def _register_name_frequencies(con: duckdb.DuckDBPyConnection, db_api: DuckDBAPI, linker: Linker) -> None:
    """Term frequencies of names counted over distinct full names, not records.

    Splink's default counts records, so a person known to seven services
    makes their own name look seven times as common as it is, and their
    records then need more evidence to link than anyone else's - exactly
    the people the product most needs joined up. Counting each distinct
    (first name, surname) once approximates counting people; namesakes (two
    people with one full name) are rare enough not to matter here.
    """
    for column, other in _TF_COLUMNS.items():
        table = f"tf_{column}_people"
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            WITH names AS (
                SELECT DISTINCT {column}, {other} FROM {_TABLE} WHERE {column} IS NOT NULL
            )
            SELECT {column}, count(*)::DOUBLE / (SELECT count(*) FROM names) AS tf_{column}
            FROM names GROUP BY {column}
            """
        )
        linker.table_management.register_term_frequency_lookup(db_api.register(table), column)


def _linker(con: duckdb.DuckDBPyConnection, settings: LinkageSettings) -> Linker:
    db_api = DuckDBAPI(con)
    table = db_api.register(_TABLE)
    linker = Linker(table, splink_settings(settings), log_level=_SPLINK_LOG_LEVEL)
    _register_name_frequencies(con, db_api, linker)
    return linker


def _evidence_columns(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """Ids, weights and comparison levels only: the record values stay in DuckDB."""
    columns = [row[0] for row in con.sql(f"DESCRIBE {table}").fetchall()]
    keep = [
        c
        for c in columns
        if c in ("unique_id_l", "unique_id_r", "match_weight", "match_probability")
        or c.startswith(("gamma_", "mw_"))
    ]
    frame = pl.from_arrow(con.sql(f"SELECT {', '.join(keep)} FROM {table}").to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def score_pairs(
    prepared: pl.DataFrame,
    settings: LinkageSettings,
    *,
    save_model_to: str | Path | None = None,
) -> ScoredPairs:
    """Train the model on ``prepared`` and score the blocked pairs.

    Args:
        prepared: output of :func:`features.linkage.prep.prepare_people`.
        settings: linkage settings (blocking and training rules, threshold).
        save_model_to: if given, write the trained model JSON there.
    """
    timings: dict[str, float] = {}
    con = _connect(settings)
    try:
        _load(con, prepared)
        linker = _linker(con, settings)

        started = time.perf_counter()
        training = linker.training
        training.estimate_probability_two_random_records_match(
            [blocking_rule(rule) for rule in settings.prior_rules], recall=settings.prior_recall
        )
        training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.random_seed)
        with _stable_em():
            for block in settings.em_training_blocks:
                training.estimate_parameters_using_expectation_maximisation(
                    blocking_rule(block), estimate_without_term_frequencies=True
                )
        timings["train"] = time.perf_counter() - started

        started = time.perf_counter()
        predictions = linker.inference.predict(
            threshold_match_probability=settings.match_threshold, warning_mode="never"
        )
        pairs = _evidence_columns(con, predictions.physical_name)
        predictions.drop_table_from_database_and_remove_from_cache()
        timings["predict"] = time.perf_counter() - started

        model = linker.misc.save_model_to_json()
        if save_model_to is not None:
            Path(save_model_to).write_text(json.dumps(model, indent=2), encoding="utf-8")
    finally:
        con.close()
    logger.info("scored %d candidate pairs at or above the match threshold", pairs.height)
    return ScoredPairs(pairs=pairs, model=model, timings=timings)


def count_blocked_comparisons(prepared: pl.DataFrame, settings: LinkageSettings) -> pl.DataFrame:
    """Exact comparison counts of each blocking rule, marginal and cumulative.

    Use it to choose blocking rules: every rule should add true pairs without
    adding millions of comparisons.
    """
    con = _connect(settings)
    try:
        _load(con, prepared)
        table = DuckDBAPI(con).register(_TABLE)
        records = count_comparisons_from_blocking_rules(
            table,
            blocking_rules=[blocking_rule(rule) for rule in settings.blocking_rules],
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            record_sample_proportion=1.0,
        )
    finally:
        con.close()
    return pl.DataFrame(
        {
            "blocking_rule": [str(r["blocking_rule"]) for r in records],
            "marginal_comparisons": [int(r["marginal_comparison_count"]) for r in records],
            "cumulative_comparisons": [int(r["cumulative_comparison_count"]) for r in records],
        }
    )
