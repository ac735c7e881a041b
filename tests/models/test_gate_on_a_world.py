"""The champion gate on a generated world: a deliberately weak model is refused, a good one accepted.

"Good" here is a model fitted on the report period's own labels — it has
seen the answers, so it is surely more precise than the rules score and the
naive rankings; "weak" scores people at random. Both go through the same
decision ``train`` makes (``models.training._decide``), on the real training
table of a generated borough (perfect linkage, to keep the test quick).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from early_warning.config import load_config
from early_warning.synthetic import generate_borough
from models import pipelines as pipes
from models.assessment import perfect_persons
from models.evaluation import evaluate, surface_at_capacity
from models.training import _decide
from models.training_data import TrainingData, prepare_training_data, score_rows, xy
from models.training_settings import load_training_settings

AS_OF = date(2026, 3, 31)
CONFIG = load_config()
SETTINGS = load_training_settings()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> TrainingData:
    borough = tmp_path_factory.mktemp("borough")
    generate_borough(borough, residents=4_000, years=3, as_of=AS_OF, seed=6)
    persons = perfect_persons(pl.read_parquet(borough / "truth" / "person_records.parquet"))
    home = tmp_path_factory.mktemp("home")
    return prepare_training_data(Path(borough / "extracts"), AS_OF, home, CONFIG, SETTINGS, persons)


def _decide_for(data: TrainingData, name: str, model: Pipeline) -> tuple[str, str]:
    report = data.period("report")
    scored = {
        pipes.RULES: score_rows(
            pipes.rules_score_pipeline(data.features).fit(xy(report, data.features)[0]), report, data.features
        ),
        name: score_rows(model, report, data.features),
    }
    for baseline, rank in pipes.NAIVE_BASELINES.items():
        scored[baseline] = report.with_columns(pl.Series("score", rank(report, CONFIG), dtype=pl.Float64))
    evaluations = {k: evaluate(k, v, CONFIG, probabilistic=False) for k, v in scored.items()}
    surfaced = {k: surface_at_capacity(v, CONFIG) for k, v in scored.items()}
    alias, reason, gate = _decide(name, surfaced, evaluations, None, SETTINGS)
    assert gate is not None
    return alias, reason


def test_a_model_that_scores_at_random_is_refused_and_the_rules_score_stays(data: TrainingData) -> None:
    x, y = xy(data.period("train"), data.features)
    weak = Pipeline([("model", DummyClassifier(strategy="uniform", random_state=0))]).fit(x, y)
    alias, reason = _decide_for(data, "weak_model", weak)
    assert alias == "challenger"
    assert reason.endswith("the rules score stays in use.")


def test_a_model_that_surely_finds_more_is_accepted(data: TrainingData) -> None:
    report = data.period("report")
    assert report["label"].sum() >= 10, "the world must hold enough positives for a fair test"
    x, y = xy(report, data.features)
    select = pipes._select(data.features)
    seen_answers = Pipeline(
        [("select", select), ("model", HistGradientBoostingClassifier(max_iter=300, random_state=0))]
    ).fit(x, y)
    alias, reason = _decide_for(data, "seen_answers", seen_answers)
    assert alias == "champion", reason
    assert "becomes the champion" in reason
