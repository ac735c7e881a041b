"""resolve_persons end to end: determinism across re-runs and nights, and its outputs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from early_warning.paths import RunPaths
from features.linkage import LinkageResult, resolve_persons, write_linkage_outputs

from .conftest import AS_OF, febrl3


@pytest.fixture(scope="module")
def small() -> tuple[pl.DataFrame, pl.DataFrame]:
    people, truth = febrl3()
    keep = people.sort("source_person_id").head(1500)
    return keep, truth


def test_rerunning_the_same_night_gives_identical_ids_and_evidence(
    small: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    people, _ = small
    one = resolve_persons(people, previous=None, as_of=AS_OF, save_model_to=tmp_path / "model.json")
    two = resolve_persons(people, previous=None, as_of=AS_OF)
    assert one.persons.equals(two.persons)
    assert one.evidence.equals(two.evidence)
    assert one.lineage.equals(two.lineage)
    # Row order changes which pairs the u sample draws (so weights move a
    # little) but not who is who.
    shuffled = resolve_persons(people.sample(fraction=1.0, shuffle=True, seed=3), previous=None, as_of=AS_OF)
    assert shuffled.persons.equals(one.persons)
    model = json.loads((tmp_path / "model.json").read_text())
    assert {c["output_column_name"] for c in model["comparisons"]} >= {"first_name", "dob", "address"}


def test_a_second_night_with_new_records_keeps_every_existing_id(
    small: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    people, _ = small
    first_night = people.head(1400)
    one = resolve_persons(first_night, previous=None, as_of=AS_OF)
    two = resolve_persons(people, previous=one.persons, as_of=AS_OF)
    kept = one.persons.join(two.persons, on=["source", "source_person_id"], suffix="_2")
    moved = kept.filter(pl.col("person_id") != pl.col("person_id_2"))
    # Every record keeps its person id unless its person was merged into another.
    merged = set(two.lineage.filter(pl.col("change") == "merged")["person_id"].to_list())
    assert moved.filter(~pl.col("person_id_2").is_in(sorted(merged))).is_empty()
    assert {"new", "same"} <= set(two.lineage["change"].to_list())


def test_outputs_are_written_as_parquet_under_the_run_folder(
    febrl4_resolved: tuple[pl.DataFrame, pl.DataFrame, LinkageResult], tmp_path: Path
) -> None:
    _, _, result = febrl4_resolved
    run = RunPaths(home=tmp_path, as_of=date(2026, 11, 22))
    written = write_linkage_outputs(result, run)
    assert set(written) == {
        "persons.parquet",
        "match_evidence.parquet",
        "lineage.parquet",
        "linkage_summary.json",
    }
    assert all(path.parent == run.root for path in written.values())
    summary = json.loads(written["linkage_summary.json"].read_text(encoding="utf-8"))
    assert summary["stats"]["records"] == result.persons.height
    assert summary["stats"]["generic_phone_values"] == 0  # FEBRL holds no phone numbers
    # counts and seconds only: every value in the summary is a number
    assert all(isinstance(v, int | float) for part in summary.values() for v in part.values())
    persons = pl.read_parquet(written["persons.parquet"])
    assert persons.columns == ["person_id", "source", "source_person_id"]
    assert persons.equals(result.persons)
    assert pl.read_parquet(written["lineage.parquet"]).columns == [
        "as_of",
        "person_id",
        "previous_person_ids",
        "change",
        "why",
    ]


def test_an_empty_night_resolves_to_no_persons_and_retires_last_nights() -> None:
    from features.schema import PEOPLE_SCHEMA

    previous = pl.DataFrame({"person_id": ["PAAAA"], "source": ["s"], "source_person_id": ["1"]})
    result = resolve_persons(pl.DataFrame(schema=PEOPLE_SCHEMA), previous=previous, as_of=AS_OF)
    assert result.persons.is_empty()
    assert result.lineage["change"].to_list() == ["removed"]
