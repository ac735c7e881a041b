"""The fairness audit and the promotion gate on hand-built frames with answers worked out by hand.

Gap of a compared group: its rate x/n smoothed towards the pooled rate p of the
compared groups, r = (x + k·p) / (n + k) with k = 2, then max(r/p, p/r).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from early_warning.config import Config, LocalitiesFile, Locality, load_config
from models.artefacts import write_fairness_artefacts
from models.evaluation import (
    COMPARED,
    NOT_COMPARED_UNKNOWN,
    TOO_FEW,
    FairnessRules,
    evaluate,
    fairness_gap,
    fairness_gaps,
    fairness_table,
    gap_metrics,
    publishable_fairness,
)
from models.selection import promotion_decision

RULES = FairnessRules(min_group_size=10, min_group_positives=10, smoothing=2.0, suppress_below=10)
NIGHT = date(2025, 1, 31)


def _people(
    prefix: str,
    *,
    people: int,
    positives: int,
    surfaced_positives: int,
    surfaced_negatives: int = 0,
    **kw: str,
) -> list[dict]:
    """``people`` rows on one night: the first ``positives`` positive, surfaced as asked."""
    rows = []
    for i in range(people):
        positive = i < positives
        surfaced = i < surfaced_positives if positive else i - positives < surfaced_negatives
        rows.append(
            {
                "person_id": f"{prefix}{i}",
                "snapshot": NIGHT,
                "label": int(positive),
                "surfaced": surfaced,
                "sex": kw.get("sex", "unknown"),
                "ethnicity": kw.get("ethnicity", "unknown"),
                "age_band": kw.get("age_band", "unknown"),
                "locality": kw.get("locality", "L"),
            }
        )
    return rows


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows).with_columns(pl.col("label").cast(pl.Int8))


def _gap(frame: pl.DataFrame, attribute: str = "sex", rules: FairnessRules = RULES) -> dict:
    gaps = fairness_gaps(fairness_table(frame, rules))
    return gaps.filter(pl.col("attribute") == attribute).row(0, named=True)


def test_smoothing_keeps_the_gap_finite_when_a_group_has_no_positive_surfaced() -> None:
    # female: 0 of 10 positives surfaced; male: 5 of 10. Raw ratio 0.5 / 0 is infinite.
    frame = _frame(
        _people("f", people=20, positives=10, surfaced_positives=0, sex="female")
        + _people("m", people=20, positives=10, surfaced_positives=5, sex="male")
    )
    table = fairness_table(frame, RULES)
    female = table.filter((pl.col("attribute") == "sex") & (pl.col("group") == "female")).row(0, named=True)
    assert female["recall"] == 0.0
    # p = 5/20 = 0.25; female r = (0 + 0.5) / 12 = 1/24, p/r = 6; male r = 5.5/12, r/p = 22/12
    assert female["recall_vs_pooled"] == pytest.approx(1 / 6)
    sex = _gap(frame)
    assert sex["recall_gap"] == pytest.approx(6.0)
    assert sex["recall_gap_group"] == "female"
    assert math.isfinite(sex["precision_gap"])  # female has nobody surfaced at all: no precision
    assert gap_metrics(fairness_gaps(table))["fairness_gap_sex"] == pytest.approx(6.0)


def test_a_gap_is_one_at_parity_and_when_nobody_is_surfaced() -> None:
    even = _frame(
        _people("f", people=20, positives=10, surfaced_positives=4, sex="female")
        + _people("m", people=20, positives=10, surfaced_positives=4, sex="male")
    )
    assert _gap(even)["recall_gap"] == pytest.approx(1.0)
    nobody = _frame(
        _people("f", people=20, positives=10, surfaced_positives=0, sex="female")
        + _people("m", people=20, positives=10, surfaced_positives=0, sex="male")
    )
    assert _gap(nobody)["recall_gap"] == pytest.approx(1.0)
    assert _gap(nobody)["surfacing_rate_gap"] == pytest.approx(1.0)


def test_the_gap_never_exceeds_the_bound_set_by_the_smallest_compared_group() -> None:
    # Whatever happens, r >= k·p / (n + k), so p/r <= (n + k) / k: 6 for n = 10, k = 2.
    for hits in range(11):
        frame = _frame(
            _people("f", people=10, positives=10, surfaced_positives=0, sex="female")
            + _people("m", people=10, positives=10, surfaced_positives=hits, sex="male")
        )
        assert 1.0 <= _gap(frame)["recall_gap"] <= 6.0 + 1e-9


def test_groups_below_the_minimum_are_shown_as_too_few_and_do_not_move_the_gap() -> None:
    base = _people("f", people=20, positives=10, surfaced_positives=4, sex="female") + _people(
        "m", people=20, positives=10, surfaced_positives=5, sex="male"
    )
    with_small = base + _people("x", people=3, positives=3, surfaced_positives=0, sex="other")
    with_small += _people("u", people=30, positives=20, surfaced_positives=0)  # sex unknown
    table = fairness_table(_frame(with_small), RULES)
    status = dict(table.filter(pl.col("attribute") == "sex").select("group", "status").iter_rows())
    assert status == {"female": COMPARED, "male": COMPARED, "other": TOO_FEW, "unknown": NOT_COMPARED_UNKNOWN}
    sex = _gap(_frame(with_small))
    assert sex["groups_compared"] == 2
    assert sex["too_few_to_compare"] == "other"
    # the small group (0 of 3 found) and unknown (0 of 20) change nothing
    assert sex["recall_gap"] == pytest.approx(_gap(_frame(base))["recall_gap"])
    # a group of 3 people with all 3 found is not a gap either
    few_found = base + _people("x", people=3, positives=3, surfaced_positives=3, sex="other")
    assert _gap(_frame(few_found))["recall_gap"] == pytest.approx(_gap(_frame(base))["recall_gap"])


def test_enough_people_but_too_few_positive_people_is_too_few_and_one_group_has_no_gap() -> None:
    rows = _people("f", people=40, positives=9, surfaced_positives=0, sex="female") + _people(
        "m", people=40, positives=10, surfaced_positives=10, sex="male"
    )
    table = fairness_table(_frame(rows), RULES)
    gaps = fairness_gaps(table)
    sex = gaps.filter(pl.col("attribute") == "sex").row(0, named=True)
    assert (sex["groups_compared"], sex["too_few_to_compare"], sex["recall_gap"]) == (1, "female", None)
    assert "fairness_gap_sex" not in gap_metrics(gaps)
    assert fairness_gap(gaps) == 1.0  # nothing comparable: parity, not infinity


def test_small_cells_are_suppressed_in_the_published_table_and_its_artefacts(tmp_path: Path) -> None:
    rows = (
        _people("f", people=40, positives=12, surfaced_positives=3, surfaced_negatives=9, sex="female")
        + _people("m", people=40, positives=12, surfaced_positives=6, surfaced_negatives=9, sex="male")
        + _people("x", people=4, positives=2, surfaced_positives=1, sex="other")
    )
    table = fairness_table(_frame(rows), RULES)
    published = publishable_fairness(table, 10)
    sex = {r["group"]: r for r in published.filter(pl.col("attribute") == "sex").to_dicts()}
    assert (sex["other"]["people"], sex["other"]["positives"], sex["other"]["surfaced"]) == (
        "<10",
        "<10",
        "<10",
    )
    assert sex["female"]["people"] == "40"
    assert sex["female"]["surfaced_positives"] == "<10"  # 3 found
    assert sex["female"]["recall"] is None  # 3/12 would give the 3 back
    assert sex["female"]["precision"] is None
    assert sex["female"]["surfacing_rate"] == pytest.approx(12 / 40)  # 12 of 40: both shown
    assert sex["other"]["surfacing_rate"] is None
    # every count in the published table is 0, at least 10, or "<10"
    for column in ("people", "positive_people", "cohort_rows", "surfaced", "positives", "surfaced_positives"):
        for value in published[column].to_list():
            assert value == "<10" or value == "0" or int(value) >= 10, (column, value)

    # the files a training run logs hold only the published form
    config = load_config().model_copy(
        update={"localities": LocalitiesFile(default_capacity=1, localities={"L": Locality(capacity=30)})}
    )
    scored = _frame(rows).with_columns(
        pl.when(pl.col("surfaced")).then(0.9).otherwise(0.1).alias("score"),
        pl.lit(None, pl.Date).alias("label_date"),
    )
    ev = evaluate("m", scored.drop("surfaced"), config, fairness=RULES)
    write_fairness_artefacts(tmp_path, {"m": ev}, "m")
    logged = pl.read_csv(tmp_path / "fairness_report.csv", infer_schema=False)
    small = logged.filter(pl.col("group") == "other")
    assert small["people"].to_list() == ["<10"]
    assert small["surfaced_positives"].to_list() == ["<10"]
    markdown = (tmp_path / "fairness.md").read_text()
    assert "<10" in markdown
    assert "| sex | other | 4 |" not in markdown
    assert "too few to compare" in markdown


def _two_models() -> tuple[pl.DataFrame, FairnessRules, Config]:
    """40 women and 40 men on one night, 10 positives each, in one locality that takes 20.

    The champion finds 5 women and 5 men (precision 10/20, recall 0.5 each: gap 1).
    The new model finds 2 women and all 10 men (precision 12/20): p = 12/20 = 0.6,
    women r = (2 + 1.2) / 12 = 0.2667, p/r = 2.25; men r = 11.2/12, r/p = 1.556: gap 2.25.
    """
    rows = []
    for sex, found_old, found_new in (("female", 5, 2), ("male", 5, 10)):
        for i in range(40):
            positive = i < 10
            old = (i < found_old) if positive else (i - 10 < 5)
            new = (i < found_new) if positive else (i - 10 < 10 - found_new)
            rows.append(
                {
                    "person_id": f"{sex[0]}{i}",
                    "snapshot": NIGHT,
                    "locality": "L",
                    "label": int(positive),
                    "label_date": date(2025, 3, 1) if positive else None,
                    "sex": sex,
                    "ethnicity": "unknown",
                    "age_band": "unknown",
                    "old": 0.9 if old else 0.1,
                    "new": 0.9 if new else 0.1,
                }
            )
    config = load_config().model_copy(
        update={"localities": LocalitiesFile(default_capacity=1, localities={"L": Locality(capacity=20)})}
    )
    frame = pl.DataFrame(rows).with_columns(pl.col("label").cast(pl.Int8))
    return frame, FairnessRules(min_group_size=30, min_group_positives=10), config


def test_a_more_precise_model_that_widens_the_gap_on_sex_becomes_challenger_naming_sex() -> None:
    frame, rules, config = _two_models()
    old = evaluate("old", frame.rename({"old": "score"}).drop("new"), config, fairness=rules).metrics
    new = evaluate("new", frame.rename({"new": "score"}).drop("old"), config, fairness=rules).metrics
    assert (old["precision_at_capacity"], new["precision_at_capacity"]) == (
        pytest.approx(0.5),
        pytest.approx(0.6),
    )
    assert old["fairness_gap_sex"] == pytest.approx(1.0)
    assert new["fairness_gap_sex"] == pytest.approx(2.25)
    assert new["fairness_gap"] == pytest.approx(2.25)
    assert "fairness_gap_ethnicity" not in new  # everyone's ethnicity is unknown: nothing compared
    alias, reason = promotion_decision(new, old, tolerance=0.1)
    assert alias == "challenger"
    assert reason.startswith("widens the fairness gap beyond the tolerance on sex (2.250 vs champion 1.000)")
    assert "not more precise" not in reason
    # a tolerance wide enough lets the more precise model through
    assert promotion_decision(new, old, tolerance=1.5)[0] == "champion"
