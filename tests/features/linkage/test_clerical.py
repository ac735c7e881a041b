"""Clerical review: the stratified sample and the accuracy estimate from its labels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features.linkage.clerical import (
    CANT_TELL,
    DIFFERENT,
    LABELLED_SCHEMA,
    POOLED_SCHEMA,
    SAME,
    STRATA_SCHEMA,
    band_edges,
    estimate_accuracy,
    pooled_accuracy,
    sample_pairs,
    stratify_pairs,
    true_accuracy,
)

EDGES = [-4.0, 0.0, 8.0, 15.0]
THRESHOLD = 0.9  # weight 3.17: bands -4..0, 0..3.2, 3.2..8, 8..15, 15+


def _world(n_pairs: int = 3000, seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Records in two sources, candidate pairs with weights from -10 to 25, and clusters
    that call every pair at or above the threshold (record i's cluster: pairs are (2i, 2i+1))."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-10, 25, n_pairs)
    left = np.arange(n_pairs) * 2
    pairs = pl.DataFrame({"unique_id_l": left, "unique_id_r": left + 1, "match_weight": weights})
    called = weights >= 3.17
    # A few pairs below the threshold joined through a third record, and one above it kept apart.
    called[:5] = True
    called[-1] = False
    cluster_r = np.where(called, left, left + 1)
    clusters = pl.DataFrame(
        {"unique_id": np.concatenate([left, left + 1]), "cluster": np.concatenate([left, cluster_r])}
    )
    ids = np.arange(2 * n_pairs)
    records = pl.DataFrame(
        {
            "unique_id": ids,
            "source": np.where(ids % 4 == 1, "housing_rent", "council_tax"),
            "source_person_id": [f"R{i}" for i in ids],
            "first_name": ["Amara"] * len(ids),
            "last_name": ["Okafor"] * len(ids),
        }
    )
    return pairs, clusters, records


def test_the_threshold_is_always_a_band_edge_and_the_floor_is_the_lowest() -> None:
    edges = band_edges(EDGES, THRESHOLD)
    assert edges[0] == -4.0
    assert pytest.approx(3.169925, abs=1e-5) in edges
    assert edges == sorted(edges)


def test_the_sample_covers_every_band_on_both_sides_and_keeps_each_stratums_size() -> None:
    pairs, clusters, records = _world()
    sample = sample_pairs(pairs, clusters, records, threshold=THRESHOLD, edges=EDGES, per_band=7, seed=1)
    above_floor = pairs.filter(pl.col("match_weight") >= -4)
    assert sample.population == above_floor.height

    strata = sample.strata.group_by("band", "called").agg(pl.col("population").sum()).sort("band", "called")
    drawn = sample.pairs.group_by("band", "called").agg(
        drawn=pl.len(), told=pl.col("stratum_population").first()
    )
    both = strata.join(drawn, on=["band", "called"], how="left")
    # Every band holds pairs, every stratum is sampled, and each remembers its population.
    assert sorted(set(both["band"].to_list())) == [0, 1, 2, 3, 4]
    assert both["drawn"].null_count() == 0
    assert (both["told"] == both["population"]).all()
    assert (both["drawn"] == both["population"].clip(upper_bound=7)).all()
    # Strata below the threshold (not called) and above it (called) are both there.
    assert set(both.filter(pl.col("band") <= 1)["called"].to_list()) == {False, True}
    assert both.filter(pl.col("band") >= 2)["called"].any()
    # No pair below the floor, and the shown records are the pair's own.
    assert sample.pairs["match_weight"].min() >= -4  # type: ignore[operator]
    first = sample.pairs.row(0, named=True)
    assert first["record_l"]["source_person_id"] == f"R{first['unique_id_l']}"
    assert first["record_r"]["first_name"] == "Amara"
    assert first["record_r"]["email"] is None


def test_the_same_seed_draws_the_same_pairs_and_another_seed_others() -> None:
    pairs, clusters, records = _world()
    draw = [
        sample_pairs(pairs, clusters, records, threshold=THRESHOLD, edges=EDGES, per_band=5, seed=s).pairs
        for s in (1, 1, 2)
    ]
    assert draw[0].equals(draw[1])
    assert not draw[0].select("unique_id_l").equals(draw[2].select("unique_id_l"))


def _strata(rows: list[tuple[int, bool, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(b, f"band {b}", c, s, n) for b, c, s, n in rows], schema=STRATA_SCHEMA, orient="row"
    )


def _labels(rows: list[tuple[int, bool, str, str, int]]) -> pl.DataFrame:
    out = [(b, c, s, label) for b, c, s, label, times in rows for _ in range(times)]
    return pl.DataFrame(out, schema=LABELLED_SCHEMA, orient="row")


def test_the_estimate_of_a_constructed_sample_is_the_known_answer() -> None:
    # Called: 100 pairs, 9 of 10 labelled the same person -> 90 true, 10 false matches.
    # Not called: 1,000 pairs, 1 of 10 the same person -> 100 missed matches.
    strata = _strata([(3, True, "a + b", 100), (0, False, "a + b", 1000)])
    labelled = _labels(
        [
            (3, True, "a + b", SAME, 9),
            (3, True, "a + b", DIFFERENT, 1),
            (3, True, "a + b", CANT_TELL, 2),
            (0, False, "a + b", SAME, 1),
            (0, False, "a + b", DIFFERENT, 9),
        ]
    )
    found = estimate_accuracy(labelled, strata)
    assert found.overall.labelled == 20
    assert found.overall.cant_tell == 2
    assert found.overall.precision.estimate == pytest.approx(0.9)
    assert found.overall.recall.estimate == pytest.approx(90 / 190)
    for interval in (found.overall.precision, found.overall.recall):
        assert interval.low is not None
        assert interval.high is not None
        assert interval.low < interval.estimate < interval.high  # type: ignore[operator]
    assert found.population == 1100
    assert found.by_source_pair["a + b"].precision.estimate == pytest.approx(0.9)
    assert found.overall.precision.text().startswith("0.90 (")


def test_a_stratum_labelled_in_full_is_known_exactly() -> None:
    strata = _strata([(3, True, "a + a", 4), (0, False, "a + a", 3)])
    labelled = _labels(
        [(3, True, "a + a", SAME, 3), (3, True, "a + a", DIFFERENT, 1), (0, False, "a + a", DIFFERENT, 3)]
    )
    found = estimate_accuracy(labelled, strata)
    assert (found.overall.precision.low, found.overall.precision.high) == (0.75, 0.75)
    assert (found.overall.recall.low, found.overall.recall.high) == (1.0, 1.0)


def test_per_source_pair_cells_without_labels_borrow_their_stratum() -> None:
    strata = _strata([(3, True, "a + b", 50), (3, True, "a + a", 50)])
    labelled = _labels([(3, True, "a + b", SAME, 8), (3, True, "a + b", DIFFERENT, 2)])
    found = estimate_accuracy(labelled, strata)
    assert found.by_source_pair["a + a"].labelled == 0
    assert found.by_source_pair["a + a"].precision.estimate == pytest.approx(0.8)
    assert found.by_source_pair["a + b"].labelled == 10


def test_nothing_to_estimate_says_not_known() -> None:
    strata = _strata([(0, False, "a + a", 50)])
    found = estimate_accuracy(_labels([(0, False, "a + a", DIFFERENT, 5)]), strata)
    assert found.overall.precision.estimate is None
    assert found.overall.recall.text() == "not known"


def _simulated(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A population whose every pair's truth is known: the match rate rises with the band."""
    rng = np.random.default_rng(seed)
    rates = {0: 0.01, 1: 0.15, 2: 0.7, 3: 0.97, 4: 0.999}
    rows = []
    for band, rate in rates.items():
        for called, size in ((False, 4000 // (band + 1)), (True, 300 * (band + 1))):
            if band <= 1 and called:
                size = 20
            if band >= 2 and not called:
                size = 30
            truth = rng.random(size) < rate
            rows += [(band, called, "a + b", SAME if t else DIFFERENT) for t in truth]
    return pl.DataFrame(rows, schema=LABELLED_SCHEMA, orient="row"), pl.DataFrame({"unused": [0]})


def test_the_interval_contains_the_truth_on_simulated_populations() -> None:
    """Sample 30 pairs a stratum from populations of known truth, 40 times: the 95%
    intervals should contain the true precision and recall about 95% of the time."""
    hits = {"precision": 0, "recall": 0}
    runs = 40
    for seed in range(runs):
        population, _ = _simulated(seed)
        truth_p, truth_r = true_accuracy(population)
        strata = (
            population.group_by("band", "called", "source_pair")
            .agg(population=pl.len().cast(pl.Int64))
            .with_columns(band_label=pl.lit("b"))
            .select(list(STRATA_SCHEMA))
        )
        sample = (
            population.with_columns(
                _k=pl.Series(np.random.default_rng(1000 + seed).random(population.height))
            )
            .filter(pl.col("_k").rank("ordinal").over("band", "called") <= 30)
            .drop("_k")
        )
        found = estimate_accuracy(sample, strata, seed=seed)
        hits["precision"] += found.overall.precision.contains(truth_p)  # type: ignore[arg-type]
        hits["recall"] += found.overall.recall.contains(truth_r)  # type: ignore[arg-type]
    assert hits["precision"] >= 0.85 * runs, hits
    assert hits["recall"] >= 0.85 * runs, hits


def test_stratify_pairs_calls_a_pair_by_the_final_clusters_not_the_threshold() -> None:
    pairs, clusters, records = _world()
    strata = stratify_pairs(pairs, clusters, records, threshold=THRESHOLD, edges=EDGES)
    below_but_joined = strata.filter(pl.col("called") & (pl.col("match_weight") < 3.17))
    assert below_but_joined.height >= 1


def _pooled(rows: list[tuple[str, bool, str, str, int]]) -> pl.DataFrame:
    out = [(b, c, s, label) for b, c, s, label, times in rows for _ in range(times)]
    return pl.DataFrame(out, schema=POOLED_SCHEMA, orient="row")


def test_pooled_labels_count_in_the_latest_nights_strata_by_band_label() -> None:
    # The latest night numbers "band 3" as 3; an earlier night's labels for the same band
    # (whatever number it had there) count in it, weighted by the latest night's populations.
    latest = _strata([(3, True, "a + b", 100), (0, False, "a + b", 1000)])
    tonight = [("band 3", True, "a + b", SAME, 9), ("band 3", True, "a + b", DIFFERENT, 1)]
    earlier = [
        ("band 3", True, "a + b", SAME, 10),
        ("band 0", False, "a + b", SAME, 1),
        ("band 0", False, "a + b", DIFFERENT, 9),
        ("band 7", True, "a + b", SAME, 4),  # a band the latest night does not have
    ]
    pooled = pooled_accuracy(_pooled(tonight + earlier), latest)
    assert pooled.left_out == 4
    assert pooled.estimate.overall.labelled == 30
    assert pooled.estimate.population == 1100
    assert pooled.estimate.overall.precision.estimate == pytest.approx(19 / 20)
    # 95 true matches called, 1000 x 1/10 = 100 missed
    assert pooled.estimate.overall.recall.estimate == pytest.approx(95 / 195)
    same_as_one_night = estimate_accuracy(
        _labels(
            [
                (3, True, "a + b", SAME, 19),
                (3, True, "a + b", DIFFERENT, 1),
                (0, False, "a + b", SAME, 1),
                (0, False, "a + b", DIFFERENT, 9),
            ]
        ),
        latest,
    )
    assert pooled.estimate.overall.precision == same_as_one_night.overall.precision


def test_pooling_nights_narrows_the_interval() -> None:
    latest = _strata([(3, True, "a + b", 500), (0, False, "a + b", 500)])
    night = [
        ("band 3", True, "a + b", SAME, 9),
        ("band 3", True, "a + b", DIFFERENT, 1),
        ("band 0", False, "a + b", SAME, 1),
        ("band 0", False, "a + b", DIFFERENT, 9),
    ]
    one = pooled_accuracy(_pooled(night), latest).estimate.overall.precision
    week = pooled_accuracy(_pooled(night * 7), latest).estimate.overall.precision
    assert one.estimate == pytest.approx(week.estimate)  # type: ignore[arg-type]
    assert (week.high - week.low) < 0.6 * (one.high - one.low)  # type: ignore[operator]
