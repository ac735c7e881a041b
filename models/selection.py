"""Fit the candidates, choose on the middle period, decide on promotion. Pure: no MLflow."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from early_warning.config import Config
from models import pipelines as pipes
from models.evaluation import GAP_ATTRIBUTES, Evaluation, evaluate
from models.training_data import TrainingData, score_rows, xy
from models.training_settings import TrainingSettings

# --- Fitting and choosing -----------------------------------------------------------------


def _fit(
    family: str, data: TrainingData, params: dict[str, Any], rules_table: dict[str, Any] | None
) -> Pipeline:
    train = xy(data.period("train"), data.features)
    if family == pipes.LOGISTIC:
        return pipes.logistic_regression(data.features, **params).fit(*train)
    if family == pipes.GRADIENT_BOOSTING:
        middle = xy(data.period("middle"), data.features)
        return pipes.fit_gradient_boosting(data.features, train, middle, **params)
    return pipes.rules_score_pipeline(data.features, rules_table).fit(train[0])


def _trials(
    family: str, settings: TrainingSettings, search: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    defaults = dict(getattr(settings.defaults, family, {}))
    space = dict(getattr(settings.search, family, {}))
    trials = [defaults]
    for _ in range(search if space else 0):
        trials.append(defaults | {k: values[int(rng.integers(len(values)))] for k, values in space.items()})
    return trials


def _rank_key(metrics: dict[str, float]) -> tuple[float, float]:
    """Choose by PR-AUC on the middle period, then precision at capacity.

    The middle period holds only a share of people, so its top-capacity lists are
    drawn from a smaller pool than a real night's and rest on a few dozen hits;
    PR-AUC uses every positive and does not depend on the pool size.
    """
    return (metrics.get("pr_auc", 0.0), metrics.get("precision_at_capacity", 0.0))


def fit_candidates(
    data: TrainingData,
    config: Config,
    settings: TrainingSettings,
    search: int,
    rules_table: dict[str, Any] | None = None,
    log_trial: Any = None,
) -> tuple[dict[str, Pipeline], dict[str, Evaluation], list[dict[str, Any]]]:
    """Fit each family (searching ``search`` extra settings), keep the best per family on the middle period."""
    rng = np.random.default_rng(settings.search_seed)
    middle = data.period("middle")
    models: dict[str, Pipeline] = {}
    evaluations: dict[str, Evaluation] = {}
    trials_log: list[dict[str, Any]] = []
    for family in pipes.MODEL_NAMES:
        trials = [{}] if family == pipes.RULES else _trials(family, settings, search, rng)
        for i, params in enumerate(trials):
            model = _fit(family, data, params, rules_table)
            ev = evaluate(
                family,
                score_rows(model, middle, data.features),
                config,
                fairness=settings.fairness_rules(),
            )
            trials_log.append({"model": family, "trial": i, **params, **_rounded(ev.metrics)})
            if log_trial is not None and len(trials) > 1:
                log_trial(f"{family}-{i}", params, ev.metrics)
            if family not in evaluations or _rank_key(ev.metrics) > _rank_key(evaluations[family].metrics):
                models[family], evaluations[family] = model, ev
                evaluations[family].extra["params"] = params
    return models, evaluations, trials_log


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in metrics.items()}


def choose(middle: dict[str, Evaluation]) -> str:
    """The learned family with the best PR-AUC on the middle period (then precision at capacity).

    The rules score is not a candidate: it is what stays in use when no learned model
    passes the champion gate (``models.gate``).
    """
    learned = [name for name in middle if name != pipes.RULES] or list(middle)
    return max(learned, key=lambda name: _rank_key(middle[name].metrics))


def widened_gaps(new: dict[str, float], champion: dict[str, float], tolerance: float) -> list[str]:
    """Attributes whose recall gap grew by more than ``tolerance``, with the two values.

    Per attribute (``fairness_gap_<attribute>``) where both models have one; both
    are scored on the same rows, so the same groups are compared. Metrics from
    before per-attribute gaps existed fall back to the overall ``fairness_gap``.
    """
    out = []
    for attribute in GAP_ATTRIBUTES:
        key = f"fairness_gap_{attribute}"
        if key in new and key in champion and new[key] > champion[key] + tolerance:
            out.append(f"{attribute.replace('_', ' ')} ({new[key]:.3f} vs champion {champion[key]:.3f})")
    per_attribute = any(
        f"fairness_gap_{a}" in new and f"fairness_gap_{a}" in champion for a in GAP_ATTRIBUTES
    )
    if not per_attribute and new["fairness_gap"] > champion["fairness_gap"] + tolerance:
        out.append(f"overall ({new['fairness_gap']:.3f} vs champion {champion['fairness_gap']:.3f})")
    return out


def promotion_decision(
    new: dict[str, float], champion: dict[str, float] | None, tolerance: float
) -> tuple[str, str]:
    """(alias, reason): champion only if more precise at capacity and no recall gap wider (+ tolerance).

    The gaps are ``models.evaluation``'s smoothed ratios to the pooled rate (finite,
    1 at parity), compared attribute by attribute for sex, ethnicity and age band;
    the reason names each attribute whose gap widened beyond the tolerance.
    """
    if champion is None:
        return "champion", "first model registered: there was no champion to compare with"
    p_new, p_old = new["precision_at_capacity"], champion["precision_at_capacity"]
    g_new, g_old = new["fairness_gap"], champion["fairness_gap"]
    better = p_new > p_old
    widened = widened_gaps(new, champion, tolerance)
    facts = (
        f"precision at capacity {p_new:.3f} vs champion {p_old:.3f}; "
        f"fairness gap {g_new:.3f} vs champion {g_old:.3f} (tolerance {tolerance})"
    )
    if better and not widened:
        return "champion", f"beats the champion on the same held-out period: {facts}"
    why = [] if better else ["not more precise at capacity than the champion"]
    if widened:
        why.append(f"widens the fairness gap beyond the tolerance on {', '.join(widened)}")
    return "challenger", f"{' and '.join(why)}: {facts}"


def importances(model: Pipeline, data: TrainingData, settings: TrainingSettings) -> pl.DataFrame:
    """Permutation importance (drop in PR-AUC) on a sample of the middle period; coefficients too for LR."""
    middle = data.period("middle")
    if middle.height > settings.importance_max_rows:
        middle = middle.sample(settings.importance_max_rows, seed=0)
    x, y = xy(middle, data.features)
    result = permutation_importance(
        model, x, y, scoring="average_precision", n_repeats=settings.importance_repeats, random_state=0
    )
    table = pl.DataFrame(
        {
            "feature": data.features,
            "permutation_importance_mean": result.importances_mean,
            "permutation_importance_std": result.importances_std,
        }
    )
    last = model.steps[-1][1]
    if hasattr(last, "coef_"):
        names = [str(n) for n in model[:-1].get_feature_names_out()]
        coefs = pl.DataFrame({"feature": names, "coefficient": last.coef_[0].tolist()})
        table = table.join(coefs, on="feature", how="full", coalesce=True)
    return table.sort("permutation_importance_mean", descending=True, nulls_last=True)
