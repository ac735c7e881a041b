"""The transparent rules score: a points table anyone can read, needing no training.

It is what the nightly run uses when no trained model has been chosen (the
cold start) and the baseline every trained model is compared with. The
points table lives in ``rules_score.yaml`` (a council's ``--config`` folder
wins over ``early_warning/config/defaults``), validated on load, so a
mistake names the file and the key.

How a person is scored, all of it in the table:

* each rule gives points for one person feature (``features.person_features``):
  ``per_unit`` (points for every unit above a floor, up to a cap) or ``steps``
  (points once the value reaches each level; the highest level reached counts);
* a person's points are the sum over the rules; a missing value counts as
  nothing (0 points);
* points become a number in (0, 1) with a fixed logistic curve,
  ``1 / (1 + exp(-(points - midpoint) / spread))``. It is for ranking; it is
  not a calibrated probability.

Every rule's points are non-negative and non-decreasing in its feature, and
the curve is increasing, so raising any feature never lowers the score.

:class:`RulesScore` is a scikit-learn classifier (``fit`` only records the
classes and column names), so it sits inside a ``Pipeline`` and pickles; its
state is plain Python data (dicts, lists, floats, numpy arrays of strings), so
skops can save it once the data team trusts ``models.rules_score.RulesScore``.
Put it after steps that keep the raw feature values and their names (for
example a column selector with ``set_output(transform="pandas")``): it reads
pounds and counts, not scaled values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from early_warning.config import Config, ConfigError, describe_error, merged_values
from features.person_features import feature_columns

RULES_FILE = "rules_score.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerUnit(_Strict):
    """``points_each`` for every unit above ``above``, at most ``cap`` points."""

    points_each: float = Field(gt=0)
    above: float = 0.0
    cap: float = Field(gt=0)


class Step(_Strict):
    at_least: float
    points: float = Field(gt=0)


class PointsRule(_Strict):
    """Points for one feature: exactly one of ``per_unit`` or ``steps``."""

    feature: str = Field(min_length=1)
    per_unit: PerUnit | None = None
    steps: list[Step] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_kind_rising_steps(self) -> PointsRule:
        if (self.per_unit is None) == (self.steps is None):
            raise ValueError("give exactly one of per_unit or steps")
        if self.steps is not None:
            for before, after in zip(self.steps, self.steps[1:], strict=False):
                if after.at_least <= before.at_least or after.points <= before.points:
                    raise ValueError(
                        "steps must go up: each at_least and each points larger than the one before "
                        f"(got at_least {before.at_least} -> {after.at_least}, "
                        f"points {before.points} -> {after.points})"
                    )
        return self

    @property
    def max_points(self) -> float:
        return self.per_unit.cap if self.per_unit is not None else max(s.points for s in self.steps or [])


class Scale(_Strict):
    midpoint: float
    spread: float = Field(gt=0)


class RulesTable(_Strict):
    """The validated points table of ``rules_score.yaml``."""

    rules: list[PointsRule] = Field(min_length=1)
    scale: Scale

    @model_validator(mode="after")
    def _one_rule_per_feature(self) -> RulesTable:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.feature in seen:
                raise ValueError(f"feature {rule.feature!r} has more than one rule; merge them into one")
            seen.add(rule.feature)
        return self

    @property
    def features(self) -> list[str]:
        return [rule.feature for rule in self.rules]


def parse_rules_table(raw: Any, where: str = RULES_FILE, config: Config | None = None) -> RulesTable:
    """Validate a points table held as plain data (the parsed YAML).

    Raises:
        ConfigError: naming ``where``, the key and what was wrong; with ``config``, also
            a rule whose feature the configuration does not produce.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'rules' and 'scale' at the top level")
    try:
        table = RulesTable.model_validate(dict(raw))
    except ValidationError as exc:
        raise describe_error(exc, where) from None
    if config is not None:
        known = set(feature_columns(config))
        for i, rule in enumerate(table.rules):
            if rule.feature not in known:
                raise ConfigError(
                    f"{where}: rules.{i}.feature: {rule.feature!r} is not a person feature of this "
                    "configuration (see feature_descriptions in features.person_features)"
                )
    return table


def load_rules_table(config_dir: str | Path | None = None, config: Config | None = None) -> RulesTable:
    """The default table, overridden key by key (``rules``, ``scale``) by ``config_dir/rules_score.yaml``
    if present - read like every configuration file (:func:`early_warning.config.load_file`).

    Raises:
        ConfigError: naming the file, the key and what was wrong.
    """
    values, path = merged_values(RULES_FILE, config_dir)
    return parse_rules_table(values, str(path), config)


def rule_points(rule: PointsRule, values: np.ndarray) -> np.ndarray:
    """Points ``rule`` gives each value (a missing value gives none)."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=np.inf, neginf=0.0)
    if rule.per_unit is not None:
        unit = rule.per_unit
        return np.clip((v - unit.above) * unit.points_each, 0.0, unit.cap)
    out = np.zeros(v.shape, dtype=np.float64)
    for step in rule.steps or []:
        out = np.where(v >= step.at_least, step.points, out)
    return out


def _table_data(table: RulesTable | Mapping[str, Any] | None) -> dict[str, Any]:
    if table is None:
        return load_rules_table().model_dump()
    if isinstance(table, RulesTable):
        return table.model_dump()
    return parse_rules_table(table, "RulesScore(table=...)").model_dump()


class RulesScore(ClassifierMixin, BaseEstimator):
    """The points table as a scikit-learn classifier; ``fit`` learns nothing.

    Args:
        table: the points table as a :class:`RulesTable` or its plain-data form
            (``RulesTable.model_dump()``); None reads the default ``rules_score.yaml``
            when fitted. Pass a council's table with
            ``RulesScore(load_rules_table(config_dir).model_dump())``.

    Example:
        >>> model = RulesScore().fit(features_pandas)  # doctest: +SKIP
        >>> model.predict_proba(features_pandas)[:, 1]  # doctest: +SKIP
    """

    name = "rules"

    def __init__(self, table: RulesTable | Mapping[str, Any] | None = None) -> None:
        self.table = table

    def fit(self, X: Any, y: Any = None) -> RulesScore:
        """Record the classes (0, 1) and the column names; nothing is learned from ``y``."""
        self.table_: dict[str, Any] = _table_data(self.table)
        self.classes_ = np.array([0, 1])
        names = _column_names(X)
        if names is not None:
            missing = [f for f in self._rules_table().features if f not in names]
            if missing:
                raise ValueError(f"the rules need feature columns that are missing: {', '.join(missing)}")
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names) if names is not None else int(np.asarray(X).shape[1])
        return self

    @property
    def version(self) -> str:
        """``rules-`` and a short fingerprint of the points table: a changed table is a new version."""
        data = self.table_ if hasattr(self, "table_") else _table_data(self.table)
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
        return f"rules-{digest}"

    def used_features(self) -> list[str]:
        """The feature columns the points table reads, in table order."""
        check_is_fitted(self, "table_")
        return self._rules_table().features

    def _rules_table(self) -> RulesTable:
        return RulesTable.model_validate(self.table_)

    def contributions(self, X: Any) -> dict[str, np.ndarray]:
        """Points each rule gives each row: feature name -> array of points (0 when it did not apply)."""
        check_is_fitted(self, "table_")
        table = self._rules_table()
        columns = self._columns(X, table.features)
        return {rule.feature: rule_points(rule, columns[rule.feature]) for rule in table.rules}

    def points(self, X: Any) -> np.ndarray:
        """Total points per row."""
        parts = self.contributions(X)
        total = np.zeros(_n_rows(X), dtype=np.float64)
        for pts in parts.values():
            total = total + pts
        return total

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2): column 1 is the rules score in (0, 1), column 0 is one minus it."""
        check_is_fitted(self, "table_")
        scale = self._rules_table().scale
        score = 1.0 / (1.0 + np.exp(-(self.points(X) - scale.midpoint) / scale.spread))
        return np.column_stack([1.0 - score, score])

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)])

    def _columns(self, X: Any, needed: list[str]) -> dict[str, np.ndarray]:
        if isinstance(X, pd.DataFrame | pl.DataFrame):
            missing = [f for f in needed if f not in X.columns]
            if missing:
                raise ValueError(f"the rules need feature columns that are missing: {', '.join(missing)}")
            if isinstance(X, pl.DataFrame):
                return {f: X[f].cast(pl.Float64).to_numpy() for f in needed}
            return {f: X[f].to_numpy(dtype=np.float64, na_value=np.nan) for f in needed}
        array = np.asarray(X, dtype=np.float64)
        if array.ndim != 2:
            raise ValueError(f"expected a 2-D table of features, got {array.ndim} dimension(s)")
        names = list(getattr(self, "feature_names_in_", needed))
        if array.shape[1] != len(names):
            raise ValueError(
                f"expected {len(names)} columns in this order: {', '.join(names)}; got {array.shape[1]}"
            )
        return {f: array[:, names.index(f)] for f in needed}


def _column_names(X: Any) -> list[str] | None:
    if isinstance(X, pd.DataFrame | pl.DataFrame):
        return [str(c) for c in X.columns]
    return None


def _n_rows(X: Any) -> int:
    return int(X.shape[0])
