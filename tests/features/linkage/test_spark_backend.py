"""Linkage on Splink's Spark backend (PySpark local mode) gives DuckDB's results.

One small synthetic borough (500 residents, 563 records) is resolved on both
backends with the same settings, and everything is compared: person ids,
the scored pairs (ids, comparison levels, weights), the trained model and
the match evidence.

What "the same" means, and why: person ids, pairs above the threshold,
every comparison level and every trained m and u probability must be
*equal*; match weights may differ by 1e-9. The levels are equal because
Spark computes DuckDB's Jaro-Winkler bit for bit
(:mod:`features.linkage.spark_sql`); m and u are equal because EM rounds
its sums to 10 digits (``splink_runner._stable_em``) and u is counted over every
pair of this small borough (``u_min_count_per_level: null``,
``u_num_chunks: 1``). With Splink's default early-stopping u sample, each
engine picks the pairs it samples with its own hash of the record ids, so u
and the weights differ a little (up to 0.3 in match weight measured on a
1,125-record borough) even though the pairs and persons did not. Weights
are sums of logarithms computed by two engines, so they may differ in the
last bits (measured: up to 7e-15); 1e-9 is far below anything that could
move a pair across the threshold or change the evidence text.

Spark runs in one local session for the module (``local[2]``), offline:
Splink's jar comes from the splink wheel and nothing is downloaded, and no
Python worker is started (so a cluster's executors need only Java). Needs
pyspark (the ``spark`` extra; in the dev group) and Java 17.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

# CI installs the spark extra and has Java: there, a missing one is a failure, not a skip.
if os.environ.get("CI") != "true":
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 on the PATH", allow_module_level=True)

from pyspark.sql import SparkSession
from splink.backends.spark import similarity_jar_location

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.ingest import ingest_extracts
from features.linkage import LinkageResult, LinkageSettings, load_linkage_settings, resolve_persons
from features.linkage import pipeline as linkage_pipeline
from features.linkage.prep import prepare_people
from features.linkage.spark_backend import session_config, start_session
from features.linkage.splink_runner import ScoredPairs, score_pairs

AS_OF = date(2026, 3, 31)
WEIGHT_TOLERANCE = 1e-9
KEY = ["source", "source_person_id"]


def _settings(backend: str) -> LinkageSettings:
    """Default settings, u counted over every pair (see the module docstring)."""
    return load_linkage_settings().model_copy(
        update={"backend": backend, "u_min_count_per_level": None, "u_num_chunks": 1}
    )


@dataclass
class Run:
    result: LinkageResult
    scored: ScoredPairs
    seconds: float


def _resolve(people: pl.DataFrame, settings: LinkageSettings, work_dir: Path) -> Run:
    """resolve_persons, keeping the ScoredPairs it computed on the way."""
    seen: list[ScoredPairs] = []

    def spy(*args: Any, **kwargs: Any) -> ScoredPairs:
        seen.append(score_pairs(*args, **kwargs))
        return seen[-1]

    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(linkage_pipeline, "score_pairs", spy)
        result = resolve_persons(people, previous=None, as_of=AS_OF, settings=settings, work_dir=work_dir)
    return Run(result, seen[0], time.perf_counter() - started)


#: Executors must need only Java: pointing Spark's Python workers at nothing
#: makes any step that would start one fail the tests.
NO_PYTHON_WORKERS = {"spark.pyspark.python": "/nonexistent/python-workers-are-not-needed"}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One local Spark session for the module, stopped at the end."""
    settings = _settings("spark").model_copy(update={"spark_config": NO_PYTHON_WORKERS})
    session = start_session(settings, tmp_path_factory.mktemp("spark_local"))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    out = tmp_path_factory.mktemp("spark_borough")
    generate_borough(out, residents=500, years=2, as_of=AS_OF, seed=3)
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    return pl.read_parquet(run.canonical_people)


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark_work")


@pytest.fixture(scope="module")
def on_duckdb(people: pl.DataFrame, work_dir: Path) -> Run:
    return _resolve(people, _settings("duckdb"), work_dir)


@pytest.fixture(scope="module")
def on_spark(spark: SparkSession, people: pl.DataFrame, work_dir: Path) -> Run:
    return _resolve(people, _settings("spark"), work_dir)


def test_spark_resolves_the_borough_to_the_same_persons_as_duckdb(on_duckdb: Run, on_spark: Run) -> None:
    duck, spark = on_duckdb.result, on_spark.result
    assert duck.persons.height > 500
    assert duck.persons["person_id"].n_unique() < duck.persons.height  # some records were joined
    assert spark.persons.sort(KEY).equals(duck.persons.sort(KEY))
    assert spark.stats == duck.stats
    print(f"\nseconds: duckdb {on_duckdb.seconds:.1f} {on_duckdb.result.timings}")
    print(f"seconds: spark {on_spark.seconds:.1f} {on_spark.result.timings}")


def test_spark_scores_the_same_pairs_levels_and_weights(on_duckdb: Run, on_spark: Run) -> None:
    duck, spark = on_duckdb.scored.pairs, on_spark.scored.pairs
    assert duck.height > 100
    assert spark.schema == duck.schema
    assert spark.select("unique_id_l", "unique_id_r").equals(duck.select("unique_id_l", "unique_id_r"))
    levels = [c for c in duck.columns if c.startswith("gamma_")]
    assert spark.select(levels).equals(duck.select(levels))
    # The Jaro-Winkler levels are exercised, not just exact matches.
    typo = _level_values(on_duckdb.result.model, "first_name", {"small typo", "similar"})
    assert duck.filter(pl.col("gamma_first_name").is_in(typo)).height >= 5
    weights = [c for c in duck.columns if c == "match_weight" or c.startswith("mw_")]
    for column in [*weights, "match_probability"]:
        worst = (spark[column] - duck[column]).abs().max()
        assert isinstance(worst, float), column
        assert worst <= WEIGHT_TOLERANCE, column


def _level_values(model: dict[str, Any], comparison: str, labels: set[str]) -> list[int]:
    """Splink's gamma values of the labelled levels (strongest level highest, null -1)."""
    levels = next(c for c in model["comparisons"] if c["output_column_name"] == comparison)[
        "comparison_levels"
    ]
    ranked = [level["label_for_charts"] for level in levels if not level.get("is_null_level")]
    return [len(ranked) - 1 - i for i, label in enumerate(ranked) if label in labels]


def _parameters(model: dict[str, Any]) -> dict[tuple[str, str], tuple[Any, Any]]:
    return {
        (c["output_column_name"], level["label_for_charts"]): (
            level.get("m_probability"),
            level.get("u_probability"),
        )
        for c in model["comparisons"]
        for level in c["comparison_levels"]
    }


def test_spark_trains_the_same_model(on_duckdb: Run, on_spark: Run) -> None:
    duck, spark = on_duckdb.result.model, on_spark.result.model
    assert spark["probability_two_random_records_match"] == duck["probability_two_random_records_match"]
    assert _parameters(spark) == _parameters(duck)
    assert spark["sql_dialect"] == "spark"


def test_spark_writes_the_same_match_evidence(on_duckdb: Run, on_spark: Run) -> None:
    key = ["source_l", "source_person_id_l", "source_r", "source_person_id_r"]
    duck, spark = on_duckdb.result.evidence.sort(key), on_spark.result.evidence.sort(key)
    assert duck.height > 0
    assert spark.drop("match_weight", "match_probability").equals(
        duck.drop("match_weight", "match_probability")
    )


def test_a_model_trained_on_duckdb_scores_the_same_pairs_on_spark(
    spark: SparkSession, people: pl.DataFrame, on_duckdb: Run, work_dir: Path
) -> None:
    scored = score_pairs(
        prepare_people(people), _settings("spark"), trained_model=on_duckdb.result.model, work_dir=work_dir
    )
    assert scored.model_reused
    assert scored.timings["train"] < 0.5
    duck = on_duckdb.scored.pairs
    assert scored.pairs.select("unique_id_l", "unique_id_r").equals(duck.select("unique_id_l", "unique_id_r"))
    assert (scored.pairs["match_weight"] - duck["match_weight"]).abs().max() <= WEIGHT_TOLERANCE  # type: ignore[operator]


def test_spark_computes_duckdbs_jaro_winkler_bit_for_bit(spark: SparkSession, people: pl.DataFrame) -> None:
    prepared = prepare_people(people)
    names = (
        pl.concat([prepared["first_name_std"], prepared["last_name_std"]])
        .drop_nulls()
        .unique()
        .sort()
        .head(300)
    )
    odd = [
        "",
        "a",
        "ab",
        "ba",
        "martha",
        "marhta",
        "dwayne",
        "duane",
        "zoë",
        "zoe",
        "éa",
        "ea",
        "abcdefghijklmnop",
    ]
    strings = pl.concat([names, pl.Series(odd), pl.Series([None], dtype=pl.String)]).unique().to_frame("s")
    pairs = strings.join(strings.rename({"s": "t"}), how="cross")
    expected = duckdb.sql(
        "SELECT s, t, jaro_winkler_similarity(s, t) AS jw, jaro_similarity(s, t) AS j FROM pairs"
    ).pl()
    spark.createDataFrame(strings.to_arrow(compat_level=pl.CompatLevel.oldest())).createOrReplaceTempView(
        "jw_strings"
    )
    got = pl.from_arrow(
        spark.sql(
            "SELECT a.s AS s, b.s AS t, duckdb_jaro_winkler_similarity(a.s, b.s) AS jw_spark, "
            "duckdb_jaro_similarity(a.s, b.s) AS j_spark FROM jw_strings a CROSS JOIN jw_strings b"
        ).toArrow()
    )
    assert isinstance(got, pl.DataFrame)
    both = expected.join(got, on=["s", "t"], nulls_equal=True)
    assert both.height == pairs.height > 90_000
    assert both.filter(pl.col("jw").ne_missing(pl.col("jw_spark"))).is_empty()
    assert both.filter(pl.col("j").ne_missing(pl.col("j_spark"))).is_empty()


def test_spark_temporary_data_is_deleted_after_scoring(on_spark: Run, work_dir: Path) -> None:
    assert list(work_dir.iterdir()) == []


def test_a_local_session_is_offline_and_uses_the_jar_inside_splink() -> None:
    settings = _settings("spark").model_copy(update={"spark_config": {"spark.executor.memory": "3g"}})
    conf = session_config(settings, Path("/tmp/x"))
    assert conf["spark.jars"] == similarity_jar_location()
    assert Path(conf["spark.jars"]).is_file()
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.executor.memory"] == "3g"
    assert not any(key.startswith("spark.jars.packages") for key in conf)
    cluster = session_config(
        settings.model_copy(
            update={"spark_master": "spark://host:7077", "spark_config": {"spark.jars": "x.jar"}}
        ),
        Path("/tmp/x"),
    )
    assert "spark.driver.host" not in cluster
    assert cluster["spark.jars"] == f"{similarity_jar_location()},x.jar"
