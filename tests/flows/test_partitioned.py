"""Partition by partition gives exactly the whole-borough outputs (no Prefect, no Dask).

The stages of ``flows.partitioned`` are called one partition after another
on a night whose linkage is taken from the synthetic borough's truth (so the
test need not run Splink), and compared frame by frame with the sequential
stages of ``flows.stages`` on a copy of the same night.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows import partitioned, route, stages
from flows.stages import Night, RegisteredModel
from flows.stages import score as score_module

AS_OF = date(2026, 6, 30)  # the night conftest's small borough is generated for
WHOLE_BOROUGH_FILES = (
    "partitions.parquet",
    "graph_features.parquet",
    "localities.parquet",
    "features.parquet",
    "scores.parquet",
    "drivers.parquet",
    "candidates.parquet",
)


@pytest.fixture(scope="module")
def prefect_server() -> str:
    """Nothing here runs a flow: stands in for the session's Prefect server so that
    running this module alone does not start one (about 20 s)."""
    return ""


@pytest.fixture(autouse=True)
def queue_under_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each night's review queue is SQLite under its own home."""
    from early_warning.settings import get_settings

    monkeypatch.delenv("EARLY_WARNING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _night(home: Path) -> Night:
    return Night.load(home, AS_OF)


@pytest.fixture(scope="module")
def linked_night(small_borough: Path, tmp_path_factory: pytest.TempPathFactory) -> Night:
    """Ingested extracts and persons from the generator's truth, standing in for linkage."""
    night = _night(tmp_path_factory.mktemp("linked"))
    stages.ingest_stage(night, small_borough / "extracts")
    people = pl.read_parquet(night.run.canonical_people).select("source", "source_person_id")
    persons = (
        pl.read_parquet(small_borough / "truth" / "person_records.parquet")
        .join(people, on=["source", "source_person_id"], how="semi")
        .select(pl.format("P{}", "true_person_id").alias("person_id"), "source", "source_person_id")
        .sort("source", "source_person_id")
    )
    persons.write_parquet(night.run.persons)
    return night


def _copy(night: Night, home: Path) -> Night:
    shutil.copytree(night.run.root, home / "runs" / AS_OF.isoformat())
    return _night(home)


@pytest.fixture(scope="module")
def sequential(linked_night: Night, tmp_path_factory: pytest.TempPathFactory) -> Night:
    night = _copy(linked_night, tmp_path_factory.mktemp("sequential"))
    stages.graph_stage(night)
    stages.features_stage(night)
    stages.thresholds_stage(night)
    stages.score_stage(night)
    route.choose_candidates(night)
    return night


@pytest.fixture(scope="module")
def by_partition(linked_night: Night, tmp_path_factory: pytest.TempPathFactory) -> tuple[Night, list[str]]:
    night = _copy(linked_night, tmp_path_factory.mktemp("partitioned"))
    parts = partitioned.partition_stage(night)["partitions"]
    for name in parts:
        partitioned.graph_part(night, name)
    partitioned.combine_graph(night, parts)
    for name in parts:
        partitioned.features_part(night, name)
    partitioned.combine_features(night, parts)
    stages.thresholds_stage(night)
    plan = partitioned.score_plan(night)
    scored = [
        partitioned.score_part(night, name, plan["model"], plan["linear_centre"])
        for name in plan["partitions"]
    ]
    partitioned.combine_scores(night, plan["cohort"], scored)
    partitioned.choose_candidates(night)
    return night, parts


def test_partitions_are_whole_components_labelled_by_locality(by_partition: tuple[Night, list[str]]) -> None:
    night, parts = by_partition
    assert len(parts) > 2, "the small borough splits into several localities"
    labels = pl.read_parquet(night.run.partitions)
    persons = pl.read_parquet(night.run.persons)
    assert labels["person_id"].n_unique() == labels.height == persons["person_id"].n_unique()
    assert sorted(labels["partition"].unique().to_list()) == parts
    localities = pl.read_parquet(night.run.root / "localities.parquet")
    assert set(parts) <= set(localities["locality"].unique().to_list())
    # A household never spans two partitions.
    graph = pl.read_parquet(night.run.root / "graph_features.parquet").join(labels, on="person_id")
    assert graph["component_persons"].max() <= labels.group_by("partition").len()["len"].max()


@pytest.mark.parametrize("name", WHOLE_BOROUGH_FILES)
def test_each_file_is_the_same_as_the_whole_borough_run(
    sequential: Night, by_partition: tuple[Night, list[str]], name: str
) -> None:
    night, _ = by_partition
    assert_frame_equal(
        pl.read_parquet(night.run.root / name), pl.read_parquet(sequential.run.root / name), check_exact=True
    )


def test_combining_reads_only_tonights_partitions(by_partition: tuple[Night, list[str]]) -> None:
    night, parts = by_partition
    stale = partitioned.part_file(night, "graph", "a locality that went away")
    pl.read_parquet(partitioned.part_file(night, "graph", parts[0])).write_parquet(stale)
    before = pl.read_parquet(night.run.root / "graph_features.parquet")
    partitioned.combine_graph(night, parts)
    assert_frame_equal(pl.read_parquet(night.run.root / "graph_features.parquet"), before, check_exact=True)


def test_partition_file_names_are_safe_and_distinct() -> None:
    names = ["St Mary's / Town", "St Mary_s _ Town", "../etc", "", "unknown"]
    keys = [partitioned.partition_key(n) for n in names]
    assert len(set(keys)) == len(keys)
    assert all("/" not in k and not k.startswith(".") for k in keys)


def _linear_champion(features: pl.DataFrame) -> RegisteredModel:
    """A logistic regression on the night's own features (labels made up): a linear model
    whose drivers are measured from the cohort's typical person."""
    from models.pipelines import logistic_regression

    columns = [c for c in features.columns if c not in ("person_id",) and features[c].dtype.is_numeric()]
    X = features.select(columns).to_pandas()
    y = (features["distinct_services_365d"].fill_null(0) >= 2).to_numpy().astype(int)
    return RegisteredModel(
        pipeline=logistic_regression(columns).fit(X, y), version="test-linear", name="early-warning"
    )


def test_a_linear_model_scores_the_same_in_both_runners(
    sequential: Night,
    by_partition: tuple[Night, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _linear_champion(pl.read_parquet(sequential.run.root / "features.parquet"))
    # The score stage's module and the package's face (the fan-out's way in) both load it.
    monkeypatch.setattr(score_module, "champion_model", lambda night: model)
    monkeypatch.setattr(stages, "champion_model", lambda night: model)
    one = _copy(sequential, tmp_path / "one")
    stages.score_stage(one)
    route.choose_candidates(one)
    night, _ = by_partition
    other = _copy(night, tmp_path / "other")
    plan = partitioned.score_plan(other)
    assert plan["model"] is model
    assert plan["linear_centre"]
    parts = [
        partitioned.score_part(other, name, plan["model"], plan["linear_centre"])
        for name in plan["partitions"]
    ]
    assert {p["drivers_source"] for p in parts} == {"linear"}
    partitioned.combine_scores(other, plan["cohort"], parts)
    partitioned.choose_candidates(other)
    for name in ("scores.parquet", "drivers.parquet", "candidates.parquet"):
        assert_frame_equal(
            pl.read_parquet(other.run.root / name), pl.read_parquet(one.run.root / name), check_exact=True
        )


def test_partition_drivers_are_measured_from_the_whole_cohorts_typical_person(sequential: Night) -> None:
    """Why the centre is passed in: each partition alone has a different median person."""
    from models.scoring import linear_centre, score_cohort

    features = pl.read_parquet(sequential.run.root / "features.parquet")
    cohort = stages.night_cohort(sequential)
    model = _linear_champion(features)
    rules = stages.night_rules(sequential)
    whole = score_cohort(features, cohort, model, sequential.config, rules=rules)
    centre = linear_centre(features, cohort, model)
    labels = pl.read_parquet(sequential.run.partitions)
    alone_differs = []
    for name in stages.scoring_partitions(sequential, cohort):
        members = labels.filter(pl.col("partition") == name).select("person_id")
        rows, who = (f.join(members, on="person_id", how="semi") for f in (features, cohort))
        mine = whole.drivers.join(members, on="person_id", how="semi")
        shared = score_cohort(rows, who, model, sequential.config, rules=rules, linear_centre=centre)
        assert_frame_equal(shared.drivers, mine, check_exact=True)
        # Scores agree to the last bits only: BLAS may sum a different number of rows differently.
        close = shared.scores.join(whole.scores, on="person_id")
        assert (close["score"] - close["score_right"]).abs().max() < 1e-12
        alone_differs.append(
            not score_cohort(rows, who, model, sequential.config, rules=rules).drivers.equals(mine)
        )
    assert any(alone_differs), "a partition's own typical person would give other drivers"


def test_a_partition_with_no_events_still_gets_its_inputs(linked_night: Night, tmp_path: Path) -> None:
    night = _copy(linked_night, tmp_path)
    pl.read_parquet(night.run.canonical_events).clear().write_parquet(night.run.canonical_events)
    split = partitioned.partition_stage(night)
    assert len(split["partitions"]) > 1
    for name in split["partitions"]:
        assert partitioned.graph_part(night, name)["persons"] == split["persons"][name]
        assert partitioned.features_part(night, name)["persons"] == split["persons"][name]
