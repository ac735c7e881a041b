"""Linkage on generated synthetic boroughs, scored against their ground truth.

Tuning (blocking rules, the address levels, name frequencies, thresholds and
fixed m probabilities) was done on seeds 1 and 2 only, and seed 7 was the
earlier acceptance seed. This test uses seeds 21 and 22, which nobody looked
at while tuning: the requirement is F1 >= 0.97 with precision >= 0.98 at the
default threshold on boroughs the linker was not tuned on.

Measured when written (5,000 residents each): seed 21 (5,562 records)
precision 0.996, recall 0.948, F1 0.971; seed 22 (5,602 records) precision
0.999, recall 0.949, F1 0.973. Seed 7 went from F1 0.971 to 0.977. With the
name-typo blocking rules joined on the address numbers (issue 3): seed 21
precision 0.9956, recall 0.9493, F1 0.9719; seed 22 precision 0.9991, recall
0.9527, F1 0.9754 (the earlier typo rules gave 0.9710 and 0.9720). The margin
over 0.97 is small: most of the pairs still missed have nothing in common but
the name (a contact-centre record with no date of birth and an old or no
address against a council-tax record), and about half of such same-name
pairs in these boroughs are different people, so the evidence, not the
blocking, limits recall.

The ``sparse_crm`` world (60% of contact-centre and 40% of ASB records hold
only some of a name, a number, an e-mail, a street; hostel lines; other
people's numbers) is held to the same untuned seeds. Before the sparse-record
evidence (phone and e-mail agreement split by agreeing names, holder-counted
term frequencies, street levels and blocking, the m of an agreeing initial
from the night's records): seed 21 precision 0.9934, recall 0.8199; seed 22
precision 0.9981, recall 0.8265. After (tuned on sparse_crm seeds 1-3): seed
21 precision 0.9936, recall 0.8417; seed 22 precision 0.9972, recall 0.8574,
with recall by richness class on seeds 21/22: name_plus_one_contact
0.89/0.89 (was 0.87/0.85), initial_plus_contact 0.70/0.76 (0.58/0.60),
first_name_plus_contact 0.33/0.35 (0.27/0.31). The default world moved a
little up (seed 21 F1 0.9719 -> 0.9723, seed 22 0.9754 -> 0.9757). The
bounds below sit a little under those figures.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from early_warning.synthetic.sparse import RICHNESS
from features.ingest import ingest_extracts
from features.linkage import pairwise_scores, resolve_persons, scores_by_class

AS_OF = date(2026, 3, 31)
#: Seeds never used for tuning (see the module docstring).
UNTUNED_SEEDS = (21, 22)
#: Lowest recall per richness class on the sparse world's untuned seeds (measured
#: 0.89/0.89, 0.70/0.76, 0.33/0.35), so a regression in one class shows.
SPARSE_CLASS_RECALL = {
    "name_plus_one_contact": 0.87,
    "initial_plus_contact": 0.67,
    "first_name_plus_contact": 0.30,
}


@pytest.fixture(scope="module", params=UNTUNED_SEEDS, ids=lambda seed: f"seed{seed}")
def borough(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pl.DataFrame, pl.DataFrame]:
    out: Path = tmp_path_factory.mktemp(f"borough{request.param}")
    generate_borough(out, residents=5_000, years=2, as_of=AS_OF, seed=request.param)
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    truth = pl.read_parquet(out / "truth" / "person_records.parquet")
    return people, truth


@pytest.fixture(scope="module", params=UNTUNED_SEEDS, ids=lambda seed: f"seed{seed}")
def sparse_borough(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pl.DataFrame, pl.DataFrame]:
    out: Path = tmp_path_factory.mktemp(f"sparse{request.param}")
    generate_borough(out, residents=5_000, years=2, as_of=AS_OF, seed=request.param, world="sparse_crm")
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    return pl.read_parquet(run.canonical_people), pl.read_parquet(out / "truth" / "person_records.parquet")


def test_untuned_sparse_crm_seed_links_thin_records_without_wrong_links(
    sparse_borough: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    people, truth = sparse_borough
    result = resolve_persons(people, previous=None, as_of=AS_OF)
    scores = pairwise_scores(result.persons, truth)
    assert scores.precision >= 0.99, scores
    assert scores.recall >= 0.835, scores  # 0.82-0.83 before the sparse-record evidence
    by_class = scores_by_class(result.persons, truth, class_column="richness", classes=RICHNESS)
    for name, bound in SPARSE_CLASS_RECALL.items():
        assert by_class[name].recall >= bound, (name, by_class[name])


def test_untuned_seed_reaches_f1_097_and_precision_098_at_the_default_threshold(
    borough: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    people, truth = borough
    result = resolve_persons(people, previous=None, as_of=AS_OF)
    scores = pairwise_scores(result.persons, truth)
    assert scores.precision >= 0.98, scores
    assert scores.f1 >= 0.97, scores
