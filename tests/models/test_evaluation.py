"""Metrics on tiny hand-built examples with answers worked out by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from early_warning.config import LocalitiesFile, Locality, load_config
from models.evaluation import evaluate, lead_times, surface_at_capacity
from models.pipelines import logistic_regression, model_feature_columns
from models.training import promotion_decision

# Locality A takes 2 a night, anything else (B, unknown) the default of 1.
CONFIG = load_config().model_copy(
    update={"localities": LocalitiesFile(default_capacity=1, localities={"A": Locality(capacity=2)})}
)
T1, T2 = date(2025, 1, 31), date(2025, 2, 28)


def _row(
    pid: str, snap: date, loc: str, score: float, label: int, when: date | None = None, **kw: str
) -> dict:
    return {
        "person_id": pid,
        "snapshot": snap,
        "locality": loc,
        "score": score,
        "label": label,
        "label_date": when,
        "sex": kw.get("sex", "unknown"),
        "ethnicity": kw.get("ethnicity", "unknown"),
        "age_band": kw.get("age_band", "unknown"),
    }


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "person_id": pl.String, "snapshot": pl.Date, "locality": pl.String, "score": pl.Float64,
            "label": pl.Int8, "label_date": pl.Date, "sex": pl.String, "ethnicity": pl.String,
            "age_band": pl.String,
        },
    )  # fmt: skip


ROWS = _frame(
    [
        # night 1, locality A (capacity 2): a1, a2 surfaced; a3 (positive) missed
        _row("a1", T1, "A", 0.9, 1, date(2025, 3, 2)),
        _row("a2", T1, "A", 0.8, 0),
        _row("a3", T1, "A", 0.7, 1, date(2025, 2, 10)),
        # night 1, locality B (capacity 1): b1 surfaced (negative), b2 positive missed
        _row("b1", T1, "B", 0.5, 0),
        _row("b2", T1, "B", 0.4, 1, date(2025, 4, 1)),
        # night 1, unknown locality (its own group, default capacity 1): u1 surfaced, positive
        _row("u1", T1, "unknown", 0.1, 1, date(2025, 2, 5)),
        # night 2, locality A: a3 now tops the list, a1 second
        _row("a3", T2, "A", 0.95, 1, date(2025, 3, 15)),
        _row("a1", T2, "A", 0.6, 1, date(2025, 3, 2)),
        _row("a2", T2, "A", 0.1, 0),
    ]
)


def test_precision_and_recall_at_capacity_take_the_top_of_each_locality_each_night() -> None:
    out = surface_at_capacity(ROWS, CONFIG)
    shown = (
        out.filter(pl.col("surfaced")).select("snapshot", "person_id").sort("snapshot", "person_id").rows()
    )
    assert shown == [(T1, "a1"), (T1, "a2"), (T1, "b1"), (T1, "u1"), (T2, "a1"), (T2, "a3")]
    metrics = evaluate("m", ROWS, CONFIG).metrics
    # surfaced 6 rows, 4 of them positive (a1 twice, u1, a3 on night 2); 6 positive rows in all
    assert metrics["precision_at_capacity"] == pytest.approx(4 / 6)
    assert metrics["recall_at_capacity"] == pytest.approx(4 / 6)


def test_the_precision_interval_is_the_wilson_interval() -> None:
    from models.evaluation import wilson_interval

    low, high = wilson_interval(20, 93)
    assert (round(low, 3), round(high, 3)) == (0.144, 0.309)  # worked by hand
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_lead_time_runs_from_first_surfacing_to_the_crisis_date() -> None:
    days = sorted(lead_times(surface_at_capacity(ROWS, CONFIG)).to_list())
    # u1: 31 Jan -> 5 Feb = 5; a1: 31 Jan -> 2 Mar = 30; a3: first surfaced 28 Feb -> 15 Mar = 15
    assert days == [5, 15, 30]
    metrics = evaluate("m", ROWS, CONFIG).metrics
    assert metrics["lead_time_median_days"] == 15
    assert metrics["lead_time_people"] == 3


def test_brier_score_and_calibration_bins() -> None:
    metrics = evaluate("m", ROWS, CONFIG).metrics
    label = ROWS["label"].to_numpy()
    score = ROWS["score"].to_numpy()
    assert metrics["brier"] == pytest.approx(float(np.mean((score - label) ** 2)))
    assert 0 < metrics["pr_auc"] <= 1


def test_promotion_needs_better_precision_and_no_wider_fairness_gap() -> None:
    champ = {"precision_at_capacity": 0.30, "fairness_gap": 1.5}
    assert promotion_decision({"precision_at_capacity": 0.2, "fairness_gap": 1.0}, None, 0.1)[0] == "champion"
    assert (
        promotion_decision({"precision_at_capacity": 0.35, "fairness_gap": 1.55}, champ, 0.1)[0] == "champion"
    )
    # metrics without per-attribute gaps fall back to the overall gap
    alias, reason = promotion_decision({"precision_at_capacity": 0.35, "fairness_gap": 1.7}, champ, 0.1)
    assert alias == "challenger"
    assert "fairness gap" in reason
    assert "overall" in reason
    alias, reason = promotion_decision({"precision_at_capacity": 0.30, "fairness_gap": 1.0}, champ, 0.1)
    assert alias == "challenger"
    assert "not more precise" in reason


def test_promotion_compares_the_gap_attribute_by_attribute_and_names_the_one_that_widened() -> None:
    champ = {
        "precision_at_capacity": 0.30,
        "fairness_gap": 1.6,
        "fairness_gap_sex": 1.1,
        "fairness_gap_age_band": 1.6,
    }
    # overall gap unchanged (1.6), but sex moved from 1.1 to 1.5: not hidden by the age-band maximum
    new = {
        "precision_at_capacity": 0.40,
        "fairness_gap": 1.6,
        "fairness_gap_sex": 1.5,
        "fairness_gap_age_band": 1.55,
    }
    alias, reason = promotion_decision(new, champ, 0.1)
    assert alias == "challenger"
    assert "widens the fairness gap beyond the tolerance on sex (1.500 vs champion 1.100)" in reason
    assert "age band" not in reason.split(":")[0]
    # within tolerance on every attribute: promoted
    assert promotion_decision(new | {"fairness_gap_sex": 1.2}, champ, 0.1)[0] == "champion"
    # an attribute only one side can compare is not held against the other
    alias, _ = promotion_decision(new | {"fairness_gap_sex": 1.2, "fairness_gap_ethnicity": 3.0}, champ, 0.1)
    assert alias == "champion"


def test_protected_attributes_can_never_be_model_inputs() -> None:
    with pytest.raises(ValueError, match="sex"):
        model_feature_columns(["signals_90d_total", "sex"])
    with pytest.raises(ValueError, match="locality"):
        logistic_regression(["locality"])


def test_a_pipeline_reads_only_its_own_columns() -> None:
    rng = np.random.default_rng(0)
    x = pl.DataFrame({"f1": rng.normal(size=200), "f2": rng.normal(size=200)})
    y = (x["f1"].to_numpy() > 0).astype(int)
    model = logistic_regression(["f1", "f2"]).fit(x.to_pandas(), y)
    wider = x.with_columns(pl.lit("female").alias("sex"), pl.lit("p1").alias("person_id")).to_pandas()
    assert np.allclose(model.predict_proba(wider), model.predict_proba(x.to_pandas()))
