"""Scoring with an earlier night's model instead of training (issue 7, item 5).

The same records scored with the model trained on them give exactly the
pairs and weights of training afresh. On the borough a day (and a month)
later, the reused model puts almost every record in the same person as a
fresh training does.

Measured when written (3,000 residents, seed 4, 3,372 records; the test
prints its figures with ``-s``): a day later (+1 record) and 30 days later
(+52 records) every record was in the same person, with the same id, as
after training afresh, and resolving took 0.4 s instead of 3.4 s. On the
5,000-resident seed-1 borough (5,649 records) the shares were 1.0000,
0.9989, 0.9984 and 0.9995 at 1, 7, 30 and 90 days. The bound,
:data:`SAME_PERSON_SHARE`, leaves room for such a handful of records.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.ingest import ingest_extracts
from features.linkage import LinkageResult, load_linkage_settings, resolve_persons
from features.linkage.model import comparisons
from features.linkage.prep import prepare_people
from features.linkage.splink_runner import ScoredPairs, score_pairs
from features.linkage.trained import IncompatibleModelError, model_problems, with_trained_probabilities

AS_OF = date(2026, 3, 31)
KEY = ["source", "source_person_id"]
#: Share of records that must be in exactly the same person (same fellow
#: records) with the reused model as with a fresh training.
SAME_PERSON_SHARE = 0.995


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """The night's people, with the date each record was registered (from the truth)."""
    out = tmp_path_factory.mktemp("reuse_borough")
    generate_borough(out, residents=3_000, years=2, as_of=AS_OF, seed=4)
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    truth = pl.read_parquet(out / "truth" / "person_records.parquet").select(*KEY, "registered")
    return people.join(truth, on=KEY, how="left")


@pytest.fixture(scope="module")
def fresh_and_saved(
    borough: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ScoredPairs, Path]:
    saved = tmp_path_factory.mktemp("reuse_model") / "linkage_model.json"
    prepared = prepare_people(borough.drop("registered"))
    return score_pairs(prepared, load_linkage_settings(), save_model_to=saved), saved


def test_the_model_trained_on_the_same_records_gives_the_same_pairs_and_weights(
    borough: pl.DataFrame, fresh_and_saved: tuple[ScoredPairs, Path]
) -> None:
    fresh, saved = fresh_and_saved
    model = json.loads(saved.read_text(encoding="utf-8"))  # as a later night reads it
    reused = score_pairs(
        prepare_people(borough.drop("registered")), load_linkage_settings(), trained_model=model
    )
    assert reused.model_reused
    assert not fresh.model_reused
    assert reused.timings["train"] < 0.05 < fresh.timings["train"]
    assert fresh.pairs.height > 1_000
    assert reused.pairs.equals(fresh.pairs)
    assert reused.model["comparisons"] == fresh.model["comparisons"]
    assert (
        reused.model["probability_two_random_records_match"]
        == fresh.model["probability_two_random_records_match"]
    )


def _same_person_share(one: pl.DataFrame, two: pl.DataFrame) -> float:
    """Share of records whose person holds exactly the same records in both."""

    def fellows(persons: pl.DataFrame) -> pl.DataFrame:
        groups = persons.group_by("person_id").agg(pl.concat_str(KEY, separator="/").sort().alias("records"))
        return persons.join(groups, on="person_id").select(*KEY, "records")

    both = fellows(one).join(fellows(two), on=KEY, suffix="_2")
    return both.filter(pl.col("records") == pl.col("records_2")).height / one.height


@pytest.mark.parametrize("days", [1, 30])
def test_a_later_night_scored_with_the_earlier_model_finds_almost_the_same_persons(
    borough: pl.DataFrame, days: int
) -> None:
    # Tonight is the last day records arrived; the earlier night is `days` before.
    tonight = borough["registered"].max()
    assert isinstance(tonight, date)
    earlier = tonight - timedelta(days=days)
    then = borough.filter(pl.col("registered") <= earlier).drop("registered")
    now = borough.drop("registered")
    assert 0 < now.height - then.height < 0.05 * now.height  # a few more records

    first: LinkageResult = resolve_persons(then, previous=None, as_of=earlier)
    started = time.perf_counter()
    fresh = resolve_persons(now, previous=first.persons, as_of=tonight)
    fresh_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reused = resolve_persons(now, previous=first.persons, as_of=tonight, trained_model=first.model)
    reused_seconds = time.perf_counter() - started

    assert reused.model_reused
    assert reused.stats["model_reused"] == 1
    assert fresh.stats["model_reused"] == 0
    assert reused.timings["train"] < 0.05
    share = _same_person_share(fresh.persons, reused.persons)
    same_id = (
        fresh.persons.join(reused.persons, on=KEY, suffix="_2")
        .filter(pl.col("person_id") == pl.col("person_id_2"))
        .height
        / now.height
    )
    print(
        f"\n{days} day(s) later: +{now.height - then.height} records of {now.height}; "
        f"same person {share:.4f}, same person id {same_id:.4f}; "
        f"persons fresh {fresh.persons['person_id'].n_unique()} reused {reused.persons['person_id'].n_unique()}; "
        f"seconds fresh {fresh_seconds:.1f} reused {reused_seconds:.1f}"
    )
    assert share >= SAME_PERSON_SHARE
    assert same_id >= SAME_PERSON_SHARE


def _trained(fresh_and_saved: tuple[ScoredPairs, Path]) -> dict[str, Any]:
    return json.loads(fresh_and_saved[1].read_text(encoding="utf-8"))


def test_tonights_fixed_m_probabilities_win_over_the_saved_ones(
    fresh_and_saved: tuple[ScoredPairs, Path],
) -> None:
    settings = load_linkage_settings().model_copy(update={"first_name_else_m_probability": 0.05})
    levels = with_trained_probabilities(comparisons(settings), _trained(fresh_and_saved))
    first_name = levels[0]["comparison_levels"]
    assert first_name[-1]["label_for_charts"] == "different"
    assert first_name[-1]["m_probability"] == 0.05
    saved = _trained(fresh_and_saved)["comparisons"][0]["comparison_levels"]
    assert first_name[1]["m_probability"] == saved[1]["m_probability"]
    assert first_name[1]["u_probability"] == saved[1]["u_probability"]


def test_a_model_trained_on_duckdb_fits_the_spark_comparisons(
    fresh_and_saved: tuple[ScoredPairs, Path],
) -> None:
    spark_levels = comparisons(load_linkage_settings(), backend="spark")
    assert model_problems(spark_levels, _trained(fresh_and_saved)) == []
    address = with_trained_probabilities(spark_levels, _trained(fresh_and_saved))[3]["comparison_levels"]
    assert "array_intersect" in address[2]["sql_condition"]
    assert "m_probability" in address[2]


def test_a_model_with_other_levels_is_refused_naming_them(fresh_and_saved: tuple[ScoredPairs, Path]) -> None:
    model = _trained(fresh_and_saved)
    model["comparisons"][2]["comparison_levels"][2]["label_for_charts"] = "day and month transposed"
    del model["comparisons"][-1]
    with pytest.raises(IncompatibleModelError) as error:
        with_trained_probabilities(comparisons(load_linkage_settings()), model)
    message = str(error.value)
    assert "dob: levels differ" in message
    assert "day and month transposed" in message
    assert "comparisons differ" in message
    assert "phone" in message
