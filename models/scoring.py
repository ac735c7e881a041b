"""The nightly scoring: rank the early-warning cohort and say what drove each place.

Only the cohort is scored (people known to no service,
``models.thresholds.early_warning_cohort``); a person known to a service never
gets a score, and :func:`score_cohort` checks it rather than trusting the
caller. The model is the champion the data team chose (loaded elsewhere;
this module never imports mlflow) or, when none is registered, the
transparent rules score (:mod:`models.rules_score`), and the result says
which in plain words.

Drivers (what pushed each person up, for :func:`models.reasons.reasons_for`)
come from, in order of preference:

1. the rules score: its points per rule, exactly;
2. a model with its own ``contributions(X) -> {feature: values}`` method;
3. a linear model (a ``Pipeline`` ending in a linear classifier, possibly
   calibrated): per feature, (the person's value after the pipeline's
   preprocessing - tonight's cohort median) x coefficient. It is the model's
   own arithmetic on the log-odds scale, relative to a typical person tonight;
   it is not a cause;
4. anything else (for example gradient boosting): no cheap per-person
   breakdown exists, so the drivers are the rules score's points, which say
   what stands out in the record, not why the model ranked the person there.
   ``ScoredCohort.drivers_description`` says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import polars as pl
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from early_warning.config import Config
from features.person_features import feature_columns
from models.reasons import DRIVERS
from models.rules_score import RulesScore

#: Drivers kept per person (the reasons use at most five sentences).
DRIVERS_PER_PERSON = 8
NO_CHAMPION = "No model is registered as champion; using the transparent rules score"

DriverSource = Literal["rules", "model", "linear", "rules_fallback"]

_DRIVER_WORDS: dict[str, str] = {
    "rules": "Reasons follow the rules score's points: the things in the record that earned a person the "
    "most points come first.",
    "model": "Reasons follow the model's own per-person breakdown of its score.",
    "linear": "Reasons follow the model's own arithmetic: for each feature, how far the person is from "
    "tonight's typical person, times the model's coefficient. It shows what raised the score, not a cause.",
    "rules_fallback": "This model gives no per-person breakdown, so reasons show what stands out in each "
    "record by the transparent rules' points table: they describe the record, not why the model "
    "ranked the person where it did.",
}


class ScoringModel(Protocol):
    """What the nightly run needs of a model: a name, a version and ``predict_proba``."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class ScoredCohort:
    """Tonight's ranking of the cohort.

    Attributes:
        scores: ``person_id, score, model_version``; score is float64 in [0, 1]; ordered
            by score (highest first), then person_id, so ties always fall the same way.
        drivers: ``person_id, feature, weight``: what pushed each person up (positive
            weights only, at most ``DRIVERS_PER_PERSON`` per person), for the reasons.
        model_name, model_version: the model that scored.
        model_description: one plain sentence for the run report.
        scorer: the scorer named in full, for the night's files and summary: the model's
            registered name, version and MLflow run id, or the rules score and its points
            table's fingerprint (:func:`scorer_name`).
        drivers_source, drivers_description: where the drivers came from, honestly.
    """

    scores: pl.DataFrame
    drivers: pl.DataFrame
    model_name: str
    model_version: str
    model_description: str
    drivers_source: DriverSource
    drivers_description: str
    scorer: str


def scorer_name(scorer: Any) -> str:
    """What scored, named so it can be traced: ``model <name> version <v>, MLflow run <id>``,
    or ``rules score, council table <fingerprint>`` (the points table's digest, which
    changes whenever a council changes its ``rules_score.yaml``)."""
    if isinstance(scorer, RulesScore):
        return f"rules score, council table {scorer.version.removeprefix('rules-')}"
    named = f"model {scorer.name} version {scorer.version}"
    run_id = getattr(scorer, "run_id", None)
    return f"{named}, MLflow run {run_id}" if run_id else named


def _checked_cohort(features: pl.DataFrame, cohort: pl.DataFrame) -> pl.DataFrame:
    """The feature rows of exactly the cohort; errors if the frames do not fit together."""
    if features["person_id"].n_unique() != features.height:
        raise ValueError("features must have one row per person_id")
    ids = cohort.select("person_id").unique()
    rows = features.join(ids, on="person_id", how="semi")
    if rows.height != ids.height:
        missing = ids.join(features.select("person_id"), on="person_id", how="anti")
        raise ValueError(f"{missing.height} people in the cohort have no feature row; every one must")
    return rows


def _columns_for(model: Any, features: pl.DataFrame) -> list[str]:
    if isinstance(model, RulesScore):
        return model.used_features()
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [c for c in features.columns if c != "person_id"]
    missing = [c for c in names if c not in features.columns]
    if missing:
        raise ValueError(f"the model needs feature columns that are missing: {', '.join(missing)}")
    return [str(c) for c in names]


def _scores(model: Any, X: pd.DataFrame) -> np.ndarray:
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(X), 2):
        raise ValueError(f"predict_proba must return one pair per person; got shape {proba.shape}")
    score = proba[:, 1]
    if not np.all(np.isfinite(score)) or np.any(score < -1e-9) or np.any(score > 1 + 1e-9):
        raise ValueError("predict_proba returned values outside 0 to 1 or not numbers")
    return np.clip(score, 0.0, 1.0)


class _Centres:
    """Tonight's typical person for each linear step of a model, in the order the steps are met.

    Taken from the rows being explained (the medians are recorded in ``seen``)
    unless ``given``: a night scored in parts passes the whole cohort's
    centres, so every part's drivers are relative to the same typical person.
    """

    def __init__(self, given: Sequence[Sequence[float]] | None = None) -> None:
        self.given = None if given is None else [np.asarray(c, dtype=np.float64) for c in given]
        self.seen: list[np.ndarray] = []

    def __call__(self, values: np.ndarray) -> np.ndarray:
        centre = np.nanmedian(values, axis=0) if self.given is None else self.given[len(self.seen)]
        self.seen.append(centre)
        return centre


def _linear_attribution(model: Any, X: pd.DataFrame, centres: _Centres) -> dict[str, np.ndarray] | None:
    """Per input feature, (value after preprocessing - cohort median) x coefficient; None if not linear."""
    if isinstance(model, CalibratedClassifierCV) and hasattr(model, "calibrated_classifiers_"):
        parts = [_linear_attribution(c.estimator, X, centres) for c in model.calibrated_classifiers_]
        if not parts or any(p is None for p in parts):
            return None
        keys = set.intersection(*(set(p) for p in parts if p is not None))
        return {k: np.mean([p[k] for p in parts if p is not None], axis=0) for k in sorted(keys)}
    if isinstance(model, Pipeline):
        head, last = model[:-1], model.steps[-1][1]
        if len(head.steps) == 0:
            return _linear_attribution(last, X, centres)
        Z = head.transform(X)
        try:
            names = [str(n) for n in head.get_feature_names_out()]
        except (AttributeError, ValueError, TypeError):
            return None
        frame = (
            Z if isinstance(Z, pd.DataFrame) else pd.DataFrame(np.asarray(Z), columns=names, index=X.index)
        )
        found = _linear_attribution(last, frame, centres)
        return None if found is None else {k: v for k, v in found.items() if k in X.columns}
    coef = getattr(model, "coef_", None)
    if coef is None or np.asarray(coef).shape != (1, X.shape[1]):
        return None
    values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    centred = np.nan_to_num(values - centres(values), nan=0.0)
    contrib = centred * np.asarray(coef, dtype=np.float64)[0]
    return {str(name): contrib[:, j] for j, name in enumerate(X.columns)}


def _unwrap(model: Any) -> Any:
    """The scikit-learn object inside a registry wrapper (``.pipeline``/``.estimator``), if any."""
    if isinstance(model, BaseEstimator):  # a scikit-learn object is its own inside
        return model
    for attribute in ("pipeline", "estimator", "model"):
        inner = getattr(model, attribute, None)
        if inner is not None and hasattr(inner, "predict_proba"):
            return inner
    return model


def _top_drivers(person_ids: pl.Series, contributions: Mapping[str, Any]) -> pl.DataFrame:
    """Long ``person_id, feature, weight``: each person's largest positive contributions."""
    if not contributions:
        return pl.DataFrame(schema=DRIVERS)
    names = list(contributions)
    matrix = np.column_stack([np.asarray(contributions[n], dtype=np.float64) for n in names])
    matrix = np.nan_to_num(matrix, nan=0.0)
    k = min(DRIVERS_PER_PERSON, len(names))
    top = (
        np.argpartition(-matrix, k - 1, axis=1)[:, :k]
        if k < len(names)
        else np.tile(np.arange(k), (len(matrix), 1))
    )
    weights = np.take_along_axis(matrix, top, axis=1)
    frame = pl.DataFrame(
        {
            "person_id": np.repeat(person_ids.cast(pl.String).to_numpy(), k),
            "feature": np.asarray(names, dtype=object)[top.ravel()].tolist(),
            "weight": weights.ravel(),
        },
        schema=DRIVERS,
    )
    return frame.filter(pl.col("weight") > 0).sort(
        ["person_id", "weight", "feature"], descending=[False, True, False]
    )


def _drivers(
    model: Any, is_rules: bool, rows: pl.DataFrame, rules: RulesScore, centres: _Centres
) -> tuple[dict[str, np.ndarray], DriverSource]:
    if is_rules:
        return model.contributions(rows), "rules"
    if hasattr(model, "contributions"):
        X = rows.select(_columns_for(model, rows)).to_pandas()
        return dict(model.contributions(X)), "model"
    inner = _unwrap(model)
    X = rows.select(_columns_for(inner, rows)).to_pandas()
    found = _linear_attribution(inner, X, centres)
    if found:
        return found, "linear"
    return clone(rules).fit(rows.drop("person_id")).contributions(rows), "rules_fallback"


def score_cohort(
    features: pl.DataFrame,
    cohort: pl.DataFrame,
    model: ScoringModel | None,
    config: Config,
    *,
    rules: RulesScore,
    explain_top: int | None = None,
    linear_centre: Sequence[Sequence[float]] | None = None,
) -> ScoredCohort:
    """Score everyone in the cohort (and nobody else) and keep what drove each score.

    Args:
        features: ``build_person_features`` output (one row per person; it may hold people
            known to services: they are left out here).
        cohort: ``person_id`` of everyone known to no service (``early_warning_cohort``).
        model: the champion, or None for the transparent rules score.
        config: the configuration the features were built with.
        rules: the rules score to use when there is no champion (and for the fallback
            drivers): the council's points table (``RulesScore(table)``), which the caller
            read from the council's ``rules_score.yaml``; never a default chosen here.
        explain_top: keep drivers only for the best-ranked this many (None: everyone).
        linear_centre: for a linear model, the typical person its drivers are measured
            from (:func:`linear_centre` of the whole cohort); None: the median of the rows
            explained here. A night scored in parts passes the whole cohort's, so each
            person's drivers, and so their reasons, do not depend on the split.

    Raises:
        ValueError: a cohort member has no feature row, features repeat a person, or the
            model returns something that is not one 0-1 value per person.
    """
    rows = _checked_cohort(features, cohort)
    is_rules = model is None or isinstance(model, RulesScore)
    scorer: Any = model
    if model is None or (isinstance(model, RulesScore) and not hasattr(model, "table_")):
        # The configuration's feature columns (graph columns too, if joined): never person_id.
        columns = [c for c in rows.columns if c != "person_id"]
        known = set(feature_columns(config, columns))
        scorer = clone(rules if model is None else model).fit(rows.select([c for c in columns if c in known]))
    X = rows.select(_columns_for(_unwrap(scorer), rows)).to_pandas()
    score = _scores(scorer, X)
    name, version = str(scorer.name), str(scorer.version)
    scores = (
        pl.DataFrame({"person_id": rows["person_id"], "score": score})
        .with_columns(pl.col("score").cast(pl.Float64), pl.lit(version).alias("model_version"))
        .sort(["score", "person_id"], descending=[True, False])
    )
    scored = set(scores["person_id"].to_list())
    assert scored == set(cohort["person_id"].to_list()), "only (and all of) the cohort may be scored"

    explain = rows if explain_top is None else rows.join(scores.head(explain_top), on="person_id", how="semi")
    contributions, source = _drivers(scorer, is_rules, explain, rules, _Centres(linear_centre))
    described = (
        f"{NO_CHAMPION} ({version})."
        if model is None
        else f"Scored by the champion model {name}, version {version}."
    )
    return ScoredCohort(
        scores=scores,
        drivers=_top_drivers(explain["person_id"], contributions),
        model_name=name,
        model_version=version,
        model_description=described,
        drivers_source=source,
        drivers_description=_DRIVER_WORDS[source],
        scorer=scorer_name(scorer),
    )


def linear_centre(
    features: pl.DataFrame, cohort: pl.DataFrame, model: ScoringModel | None
) -> list[list[float]] | None:
    """The cohort medians a linear model's drivers are measured from, or None for any other model.

    Computed once over the whole cohort and passed to :func:`score_cohort` for
    each part when a night is scored in parts (plain lists, so they travel
    between processes cheaply); the rules score and tree models need none.
    """
    if model is None or isinstance(model, RulesScore) or hasattr(model, "contributions"):
        return None
    rows = _checked_cohort(features, cohort)
    if rows.is_empty():
        return None
    inner = _unwrap(model)
    centres = _Centres()
    found = _linear_attribution(inner, rows.select(_columns_for(inner, rows)).to_pandas(), centres)
    return [c.tolist() for c in centres.seen] if found else None
