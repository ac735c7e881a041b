"""The transparent rules score: bounded, monotone, a real scikit-learn estimator, readable config."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from early_warning.config import ConfigError
from features.person_features import build_person_features, feature_columns
from models.rules_score import RulesScore, load_rules_table, parse_rules_table
from tests.support.canonical_events import AS_OF, CONFIG, event, events_frame, persons_frame, random_event

TABLE = load_rules_table(config=CONFIG)
FEATURES = TABLE.features

values = st.one_of(st.floats(0, 5_000, allow_nan=False), st.integers(0, 30).map(float), st.just(float("nan")))
rows = st.fixed_dictionaries(dict.fromkeys(FEATURES, values))


def frame(*records: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=FEATURES)


def score(model: RulesScore, *records: dict[str, float]) -> np.ndarray:
    return np.asarray(model.predict_proba(frame(*records))[:, 1])


MODEL = RulesScore().fit(frame(dict.fromkeys(FEATURES, 0.0)))


def test_every_rule_reads_a_feature_the_configuration_produces() -> None:
    assert set(FEATURES) <= set(feature_columns(CONFIG))
    assert MODEL.name == "rules"
    assert MODEL.version.startswith("rules-")


@settings(max_examples=200, deadline=None)
@given(row=rows, feature=st.sampled_from(FEATURES), more=st.floats(0, 5_000))
def test_more_of_anything_never_lowers_the_score(row: dict[str, float], feature: str, more: float) -> None:
    bumped = dict(row)
    bumped[feature] = (0.0 if np.isnan(row[feature]) else row[feature]) + more
    before, after = score(MODEL, row, bumped)
    assert after >= before
    assert 0.0 < before < 1.0


@settings(max_examples=40, deadline=None)
@given(evs=st.lists(random_event(min_days=0, max_days=420), max_size=25), data=st.data())
def test_one_more_recent_sign_of_need_never_lowers_a_persons_score(
    evs: list[Any], data: st.DataObject
) -> None:
    # a recent signal event with no balance: only counts, services, trend and repeats can move
    source = data.draw(st.sampled_from([s for s, src in CONFIG.sources.items() if src.events.signal]))
    who = data.draw(st.sampled_from([f"{source[:2]}{i}" for i in range(3)]))
    topics = CONFIG.sources[source].topics
    extra = event(
        source,
        who,
        data.draw(st.integers(0, 90)),
        data.draw(st.sampled_from(CONFIG.sources[source].events.signal)),
        topic=data.draw(st.sampled_from(topics)) if topics else None,
    )
    scores = []
    for events in (evs, [*evs, extra]):
        people = persons_frame([*evs, extra])
        feats = build_person_features(events_frame(events), people, AS_OF, CONFIG).collect()
        scores.append(
            dict(zip(feats["person_id"], MODEL.predict_proba(feats.to_pandas())[:, 1], strict=True))
        )
    assert scores[1][who] >= scores[0][who]
    assert all(scores[1][p] == s for p, s in scores[0].items() if p != who)


def test_points_follow_the_table_and_contributions_add_up() -> None:
    record = dict.fromkeys(FEATURES, 0.0) | {
        "distinct_services_90d": 4,  # 1.5 per service beyond the first, capped at 4.5
        "missed_payments_90d": 2,  # 1 each
        "council_tax_arrears_change_180d": 320,  # risen over six months, the 300 step: 2
        "hardship_applications_90d": 5,  # capped at 3
        "repeat_contacts_same_topic_14d_90d": 4,  # half a point each, capped at 1
        "signal_trend_90d_vs_prior_275d": 2.9,  # below three times the usual rate: nothing
    }
    parts = MODEL.contributions(frame(record))
    assert parts["distinct_services_90d"][0] == 4.5
    assert parts["missed_payments_90d"][0] == 2
    assert parts["council_tax_arrears_change_180d"][0] == 2
    assert parts["hardship_applications_90d"][0] == 3
    assert parts["repeat_contacts_same_topic_14d_90d"][0] == 1
    assert parts["signal_trend_90d_vs_prior_275d"][0] == 0
    assert MODEL.points(frame(record))[0] == pytest.approx(12.5)
    midpoint = dict.fromkeys(FEATURES, 0.0) | {"distinct_services_90d": 5, "missed_payments_90d": 1.5}
    assert score(MODEL, midpoint)[0] == pytest.approx(0.5)  # 6 points is the midpoint


def test_works_inside_a_pipeline_with_numpy_or_frames_and_survives_pickle_and_skops(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.integers(0, 800, size=(50, len(FEATURES))).astype(float), columns=FEATURES)
    X["unused_column"] = 1.0
    y = rng.integers(0, 2, size=50)
    pipe = Pipeline(
        [("keep", FunctionTransformer(feature_names_out="one-to-one")), ("rules", RulesScore())]
    ).set_output(transform="pandas")
    pipe.fit(X, y)
    expected = RulesScore().fit(X).predict_proba(X)
    np.testing.assert_allclose(pipe.predict_proba(X), expected)
    np.testing.assert_array_equal(pipe.predict(X), (expected[:, 1] >= 0.5).astype(int))
    np.testing.assert_allclose(pipe.predict_proba(X.to_numpy()), expected)  # by fitted column order
    np.testing.assert_allclose(pickle.loads(pickle.dumps(pipe)).predict_proba(X), expected)
    np.testing.assert_allclose(clone(pipe).fit(X, y).predict_proba(X), expected)

    path = tmp_path / "rules.skops"
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == ["models.rules_score.RulesScore"]
    np.testing.assert_allclose(sio.load(path, trusted=untrusted).predict_proba(X), expected)

    bare = RulesScore().fit(X[FEATURES].to_numpy())  # no names: the table's own order
    np.testing.assert_allclose(bare.predict_proba(X[FEATURES].to_numpy()), expected)


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="rent_arrears_now"):
        MODEL.predict_proba(frame(dict.fromkeys(FEATURES, 0.0)).drop(columns="rent_arrears_now"))


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "rules_score.yaml").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - feature: missed_payments_90d\n    per_unit: {points_each: 1}\nscale: {midpoint: 3, spread: 1}\n",
            r"rules\.0\.per_unit\.cap: Field required",
        ),
        (
            "rules:\n  - feature: missed_payments_90d\n    steps: [{at_least: 2, points: 2}, {at_least: 1, points: 3}]\n"
            "scale: {midpoint: 3, spread: 1}\n",
            r"rules\.0: .*steps must go up",
        ),
        (
            "rules:\n  - feature: missed_payments_90d\n    steps: [{at_least: 1, points: 1}]\n"
            "    per_unit: {points_each: 1, cap: 2}\nscale: {midpoint: 3, spread: 1}\n",
            "exactly one of per_unit or steps",
        ),
        (
            "rules:\n  - feature: no_such_thing\n    steps: [{at_least: 1, points: 1}]\nscale: {midpoint: 3, spread: 1}\n",
            r"rules\.0\.feature: 'no_such_thing' is not a person feature",
        ),
        ("rules: [\n", "not valid YAML"),
        ("rules: []\nscale: {midpoint: 3, spread: 0}\n", r"scale\.spread"),
    ],
)
def test_a_mistake_in_the_points_table_names_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    folder = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_rules_table(folder, config=CONFIG)
    assert str(folder / "rules_score.yaml") in str(caught.value)


def test_a_councils_own_table_is_used_and_changes_the_version(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        "rules:\n  - feature: missed_payments_90d\n    steps: [{at_least: 1, points: 4}]\nscale: {midpoint: 2, spread: 1}\n",
    )
    table = load_rules_table(folder, config=CONFIG)
    own = RulesScore(table.model_dump()).fit(frame(dict.fromkeys(FEATURES, 0.0)))
    assert own.version != MODEL.version
    assert score(own, dict.fromkeys(FEATURES, 0.0) | {"missed_payments_90d": 1})[0] == pytest.approx(
        1 / (1 + np.exp(-2))
    )
    with pytest.raises(ConfigError, match="duplicate|more than one rule"):
        parse_rules_table({"rules": [table.rules[0].model_dump()] * 2, "scale": {"midpoint": 1, "spread": 1}})
