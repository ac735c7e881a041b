"""Linkage on a generated synthetic borough, scored against its ground truth.

Tuning (thresholds, blocking rules, the fixed m probabilities) was done on
seeds 1 and 2 only; this test uses seed 7, which was not looked at while
tuning. Measured when written (5,000 residents, 5,748 source records):
precision 0.998, recall 0.946, F1 0.971. Most missed pairs have nothing in
common but the name: a contact-centre record with no date of birth and no
address against a council-tax record, so the miss is a property of the
evidence, not of the blocking (see the linkage report in the PR).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.ingest import ingest_extracts
from features.linkage import pairwise_scores, resolve_persons
from features.schema import PEOPLE_FILE

AS_OF = date(2026, 3, 31)


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    out: Path = tmp_path_factory.mktemp("borough")
    generate_borough(out, residents=5_000, years=2, as_of=AS_OF, seed=7)
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_dir / PEOPLE_FILE)
    truth = pl.read_parquet(out / "truth" / "person_records.parquet")
    return people, truth


def test_untuned_seed_reaches_f1_097_and_precision_098_at_the_default_threshold(
    borough: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    people, truth = borough
    result = resolve_persons(people, previous=None, as_of=AS_OF)
    scores = pairwise_scores(result.persons, truth)
    assert scores.precision >= 0.98, scores
    assert scores.f1 >= 0.97, scores
