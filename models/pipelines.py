"""The candidate models, each ONE scikit-learn object that MLflow logs and loads whole.

* ``rules_score``: the transparent rules score (``models.rules_score.RulesScore``,
  a points table that learns nothing) behind the same column selector.
* ``logistic_regression``: feature selection, median imputation with
  missing-value indicators, a signed log transform for heavy-tailed counts
  and pounds (``models.transforms``: numpy only, shipped inside the model), scaling, and an L2-regularised ``LogisticRegression``.
* ``gradient_boosting``: feature selection and a
  ``HistGradientBoostingClassifier`` fitted on the training period, then
  calibrated (sigmoid, which keeps the ranking) on the middle period with
  ``CalibratedClassifierCV(FrozenEstimator(...))``.

Every pipeline starts by selecting its feature columns by name, so extra
columns in the nightly feature table (graph features, ``person_id``,
locality) are ignored, and sex, ethnicity, age and locality can never be
inputs: :func:`model_feature_columns` refuses them.

Naive baselines (:data:`NAIVE_BASELINES`) are plain functions of the
features, used only for comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from early_warning.config import ArrearsAtLeast, Config
from features.person_features import catalogue as cat
from models.transforms import signed_log1p

RULES = "rules_score"
LOGISTIC = "logistic_regression"
GRADIENT_BOOSTING = "gradient_boosting"
MODEL_NAMES: tuple[str, ...] = (RULES, LOGISTIC, GRADIENT_BOOSTING)

#: Never model inputs: used only for capacity and the fairness audit.
PROTECTED: frozenset[str] = frozenset({"sex", "ethnicity", "dob", "age", "age_band", "locality"})


def model_feature_columns(columns: Sequence[str]) -> list[str]:
    """The feature columns a model may read; refuses protected attributes and identifiers."""
    bad = [c for c in columns if c in PROTECTED or c == "person_id"]
    if bad:
        raise ValueError(f"not allowed as model inputs: {', '.join(bad)}")
    return list(columns)


def _select(columns: Sequence[str]) -> ColumnTransformer:
    return ColumnTransformer(
        [("features", "passthrough", list(columns))], remainder="drop", verbose_feature_names_out=False
    )


def logistic_regression(columns: Sequence[str], C: float = 0.1) -> Pipeline:
    """Unfitted regularised logistic regression pipeline."""
    return Pipeline(
        [
            ("select", _select(model_feature_columns(columns))),
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one")),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=C, max_iter=3000)),
        ]
    )


def fit_gradient_boosting(
    columns: Sequence[str],
    train: tuple[pd.DataFrame, np.ndarray],
    middle: tuple[pd.DataFrame, np.ndarray],
    **params: Any,
) -> Pipeline:
    """Fit gradient boosting on the training period and calibrate it on the middle period.

    Returns ``Pipeline(select -> CalibratedClassifierCV(FrozenEstimator(HGB)))``: one object,
    ranking unchanged by the (sigmoid) calibration.
    """
    select = _select(model_feature_columns(columns))
    x_train = select.fit_transform(train[0])
    booster = HistGradientBoostingClassifier(random_state=0, early_stopping=False, **params)
    booster.fit(x_train, train[1])
    if len(np.unique(middle[1])) < 2:
        # Nothing to calibrate against (a small borough's middle period can hold no positive):
        # the booster's own probabilities, same ranking. The model card shows its calibration.
        return Pipeline([("select", select), ("model", booster)])
    calibrated = CalibratedClassifierCV(FrozenEstimator(booster), method="sigmoid")
    calibrated.fit(select.transform(middle[0]), middle[1])
    return Pipeline([("select", select), ("model", calibrated)])


# --- The rules score ---------------------------------------------------------------------


def rules_score_pipeline(columns: Sequence[str], table: dict[str, Any] | None = None) -> Pipeline:
    """The rules score (``models.rules_score.RulesScore``) behind the same column selector.

    ``table`` is a council's points table (``load_rules_table(config_dir).model_dump()``);
    None uses the default ``rules_score.yaml``. Fitting learns nothing.
    """
    from models.rules_score import RulesScore

    select = _select(model_feature_columns(columns)).set_output(transform="pandas")
    return Pipeline([("select", select), ("rules", RulesScore(table))])


# --- Naive baselines ----------------------------------------------------------------------


def _arrears_thresholds(config: Config) -> dict[str, float]:
    """Arrears threshold in pounds per source, from the services' own rules."""
    out: dict[str, float] = {}
    for service in config.thresholds.services.values():
        for rule in service.rules:
            if isinstance(rule.spec, ArrearsAtLeast):
                for source in service.sources:
                    out[source] = min(out.get(source, float("inf")), rule.spec.pounds)
    return out


def most_contacts(features: pl.DataFrame, config: Config) -> np.ndarray:
    """Most signal contacts with the council in the last year."""
    return features[cat.signals_total(365)].fill_null(0).cast(pl.Float64).to_numpy()


def most_distinct_services(features: pl.DataFrame, config: Config) -> np.ndarray:
    """Most different services with a signal in the last year (ties: more signals)."""
    services = features[cat.distinct_services(365)].fill_null(0).cast(pl.Float64).to_numpy()
    return services + most_contacts(features, config) / 1e6


def highest_arrears_below_threshold(features: pl.DataFrame, config: Config) -> np.ndarray:
    """Highest single-service arrears as a share of that service's own threshold."""
    shares = [np.zeros(features.height)]
    for source, pounds in _arrears_thresholds(config).items():
        column = f"{cat.arrears_prefix(source)}_now"
        if column in features.columns:
            shares.append(features[column].fill_null(0).cast(pl.Float64).to_numpy() / pounds)
    return np.max(np.vstack(shares), axis=0)


NAIVE_BASELINES: dict[str, Callable[[pl.DataFrame, Config], np.ndarray]] = {
    "baseline_most_contacts": most_contacts,
    "baseline_most_distinct_services": most_distinct_services,
    "baseline_highest_arrears_below_threshold": highest_arrears_below_threshold,
}
