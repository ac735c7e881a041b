"""Nightly scoring: only the cohort, a deterministic order, honest words about the model and drivers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from features.person_features import build_person_features, feature_columns
from models.reasons import reasons_for
from models.rules_score import RulesScore
from models.scoring import NO_CHAMPION, score_cohort
from models.thresholds import early_warning_cohort, known_to_services
from tests.support.canonical_events import AS_OF, CONFIG, event, events_frame, persons_frame

COLUMNS = feature_columns(CONFIG)


def features(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data = {c: rng.integers(0, 4, size=n).astype(float) for c in COLUMNS}
    data["council_tax_arrears_now"] = rng.integers(0, 999, size=n).astype(float)
    return pl.DataFrame({"person_id": [f"p{i:03d}" for i in range(n)], **data})


@dataclass
class Champion:
    """What the registry hands the nightly run: a fitted pipeline with a name and version."""

    pipeline: Any
    name: str = "early-warning"
    version: str = "7"

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(X))


def fitted(estimator: Any, feats: pl.DataFrame) -> Champion:
    X = feats.select(COLUMNS).to_pandas()
    y = (X["council_tax_arrears_now"] + 100 * X["distinct_services_90d"] > 600).astype(int)
    return Champion(estimator.fit(X, y))


def test_without_a_champion_the_rules_score_ranks_only_the_cohort_and_says_so() -> None:
    feats = features(40)
    cohort = feats.select("person_id").filter(pl.col("person_id") != "p003").head(30)
    out = score_cohort(feats, cohort, None, CONFIG, rules=RulesScore())

    assert set(out.scores["person_id"]) == set(cohort["person_id"])
    assert "p003" not in out.scores["person_id"].to_list()
    assert out.model_description.startswith(NO_CHAMPION)
    assert out.model_name == "rules"
    assert out.drivers_source == "rules"
    assert out.scores.schema == pl.Schema(
        {"person_id": pl.String, "score": pl.Float64, "model_version": pl.String}
    )
    assert out.scores["score"].is_between(0, 1).all()
    assert (out.scores["model_version"] == out.model_version).all()
    assert set(out.drivers["person_id"]) <= set(cohort["person_id"])


def test_order_is_score_then_person_id_whatever_order_the_rows_came_in() -> None:
    feats = pl.concat([features(20), features(5).with_columns(pl.format("twin{}", pl.col("person_id")))])
    cohort = feats.select("person_id")
    first = score_cohort(feats, cohort, None, CONFIG, rules=RulesScore()).scores
    shuffled = score_cohort(
        feats.sample(fraction=1.0, shuffle=True, seed=3), cohort.reverse(), None, CONFIG, rules=RulesScore()
    )
    assert first.equals(shuffled.scores)
    keys = list(zip((-first["score"]).to_list(), first["person_id"].to_list(), strict=True))
    assert keys == sorted(keys)


def test_a_cohort_member_without_features_is_an_error_not_a_silent_gap() -> None:
    feats = features(5)
    cohort = pl.DataFrame({"person_id": ["p000", "ghost"]})
    with pytest.raises(ValueError, match="no feature row"):
        score_cohort(feats, cohort, None, CONFIG, rules=RulesScore())


def test_rules_drivers_are_the_points_each_rule_gave() -> None:
    feats = features(10)
    out = score_cohort(feats, feats.select("person_id"), None, CONFIG, rules=RulesScore())
    points = RulesScore().fit(feats.drop("person_id")).contributions(feats)
    for row in out.drivers.iter_rows(named=True):
        index = feats["person_id"].to_list().index(row["person_id"])
        assert row["weight"] == pytest.approx(points[row["feature"]][index])
        assert row["weight"] > 0


def test_a_linear_champion_explains_with_its_own_arithmetic() -> None:
    feats = features(200)
    pipe = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler()), ("lr", LogisticRegression())])
    champion = fitted(pipe.set_output(transform="pandas"), feats)
    with_graph = feats.with_columns(pl.lit(2).alias("household_size"))  # a column the model never saw
    out = score_cohort(with_graph, feats.select("person_id"), champion, CONFIG, rules=RulesScore())

    assert out.model_description == "Scored by the champion model early-warning, version 7."
    assert out.drivers_source == "linear"
    assert (out.scores["model_version"] == "7").all()
    X = feats.select(COLUMNS).to_pandas()
    np.testing.assert_allclose(
        out.scores.sort("person_id")["score"].to_numpy(), pipe.predict_proba(X)[:, 1], rtol=1e-12
    )
    z = pipe[:-1].transform(X).to_numpy()
    expected = (z - np.median(z, axis=0)) * pipe[-1].coef_[0]
    top = out.drivers.row(0, named=True)
    i, j = feats["person_id"].to_list().index(top["person_id"]), COLUMNS.index(top["feature"])
    assert top["weight"] == pytest.approx(expected[i, j])


def test_a_calibrated_linear_pipeline_is_still_explained_by_its_coefficients() -> None:
    feats = features(200)
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).set_output(
        transform="pandas"
    )
    out = score_cohort(
        feats,
        feats.select("person_id"),
        fitted(CalibratedClassifierCV(pipe, cv=3), feats),
        CONFIG,
        rules=RulesScore(),
    )
    assert out.drivers_source == "linear"
    assert set(out.drivers["feature"]) <= set(COLUMNS)


def test_a_tree_champion_falls_back_to_what_stands_out_in_the_record_and_says_so() -> None:
    feats = features(200)
    champion = fitted(HistGradientBoostingClassifier(max_iter=20), feats)
    out = score_cohort(feats, feats.select("person_id"), champion, CONFIG, rules=RulesScore(), explain_top=25)
    assert out.drivers_source == "rules_fallback"
    assert "no per-person breakdown" in out.drivers_description
    assert set(out.drivers["person_id"]) <= set(out.scores.head(25)["person_id"])


def test_a_model_that_returns_nonsense_stops_the_scoring() -> None:
    class Broken:
        name, version = "broken", "1"

        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            return np.column_stack([np.zeros(len(X)), np.full(len(X), 1.7)])

    feats = features(5)
    with pytest.raises(ValueError, match="outside 0 to 1"):
        score_cohort(feats, feats.select("person_id"), Broken(), CONFIG, rules=RulesScore())


def test_end_to_end_people_known_to_a_service_are_never_scored_or_explained() -> None:
    evs = [
        event("council_tax", "known", 10, "summons"),  # known to council tax
        event("council_tax", "known", 20, "missed_instalment", amount=600.0),
        event("council_tax", "quiet", 20, "missed_instalment", amount=300.0),
        event("benefits", "quiet", 15, "claim_suspended"),
        event("contact_centre", "calm", 200, "enquiry", topic="waste"),
    ]
    ev, people = events_frame(evs), persons_frame(evs)
    cohort = early_warning_cohort(people, known_to_services(ev, people, AS_OF, CONFIG))
    feats = build_person_features(ev, people, AS_OF, CONFIG).collect()
    out = score_cohort(feats, cohort, None, CONFIG, rules=RulesScore())

    assert out.scores["person_id"].to_list() == ["quiet", "calm"]
    said = reasons_for(out.scores["person_id"], ev, people, AS_OF, CONFIG, out.drivers)
    assert 2 <= said["reasons"][0].len() <= 5
    # nothing drove "calm" up, so their one sentence comes from the fixed order
    assert said["reasons"][1].to_list()[0].startswith("Made an enquiry to the contact centre on ")
