"""How well a score finds people early and fairly, on the held-out report period. Pure: no MLflow.

Input is one row per (cohort person, snapshot night) with ``snapshot``,
``label`` (0/1), ``label_date`` (first crisis/enforcement date in the horizon,
null for negatives), ``locality``, ``sex``, ``ethnicity``, ``age_band`` and the
model's ``score``.

**At capacity.** Each night a locality team is sent at most
``config.capacity_of(locality)`` people, so on every snapshot the top-scoring
people of each locality up to its capacity are *surfaced* ("unknown" locality
is its own group with the default capacity; ties broken by ``person_id``).
Over the period:

* precision at capacity = positives surfaced / people surfaced;
* recall at capacity = positives surfaced / positives in the cohort
  (counted per snapshot row, so a person positive on three snapshots counts
  three times on both sides).

**Lead time** is, for each person surfaced at least once while positive,
the days from their first appearance on a surfaced list in the period to
the date of the crisis or enforcement event that made them positive.

**Fairness** repeats surfacing rate, precision and recall per group of sex,
ethnicity, age band and locality; the ratio per attribute is the largest
group value over the smallest, among known groups ("unknown" is shown but
not compared) with at least ``min_group_positives`` positives. The
*fairness gap* used for promotion is the largest recall ratio over sex,
ethnicity and age band (locality is capacity-driven by design).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve

from early_warning.config import Config

FAIRNESS_ATTRIBUTES: tuple[str, ...] = ("sex", "ethnicity", "age_band", "locality")
GAP_ATTRIBUTES: tuple[str, ...] = ("sex", "ethnicity", "age_band")
UNKNOWN = "unknown"


def surface_at_capacity(rows: pl.DataFrame, config: Config) -> pl.DataFrame:
    """``rows`` with ``surfaced``: in the top ``capacity_of(locality)`` of its locality that night."""
    localities = rows["locality"].unique().to_list()
    capacity = pl.DataFrame(
        {"locality": localities, "_capacity": [config.capacity_of(x) for x in localities]},
        schema={"locality": rows.schema["locality"], "_capacity": pl.Int64},
    )
    return (
        rows.join(capacity, on="locality", how="left")
        .sort(["snapshot", "locality", "score", "person_id"], descending=[False, False, True, False])
        .with_columns(
            (pl.int_range(pl.len()).over("snapshot", "locality") < pl.col("_capacity")).alias("surfaced")
        )
        .drop("_capacity")
    )


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (how uncertain a precision of few hits is)."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def at_capacity(surfaced: pl.DataFrame) -> dict[str, float]:
    """Precision and recall at capacity over every snapshot in ``surfaced``."""
    hits = int(surfaced.filter(pl.col("surfaced"))["label"].sum())
    n_surfaced = int(surfaced["surfaced"].sum())
    positives = int(surfaced["label"].sum())
    low, high = wilson_interval(hits, n_surfaced)
    return {
        "precision_at_capacity": hits / n_surfaced if n_surfaced else 0.0,
        "precision_at_capacity_ci_low": low,
        "precision_at_capacity_ci_high": high,
        "recall_at_capacity": hits / positives if positives else 0.0,
        "surfaced": float(n_surfaced),
        "surfaced_positives": float(hits),
        "positives": float(positives),
        "cohort_rows": float(surfaced.height),
    }


def lead_times(surfaced: pl.DataFrame) -> pl.Series:
    """Days from first surfacing to the crisis/enforcement date, one value per person found."""
    shown = surfaced.filter(pl.col("surfaced"))
    per_person = shown.group_by("person_id").agg(
        pl.col("snapshot").min().alias("first_surfaced"),
        pl.col("label_date").filter(pl.col("label") == 1).min().alias("crisis"),
    )
    return (
        per_person.filter(pl.col("crisis").is_not_null())
        .select((pl.col("crisis") - pl.col("first_surfaced")).dt.total_days().alias("lead_days"))
        .to_series()
    )


def lead_time_summary(days: pl.Series) -> dict[str, float]:
    if days.is_empty():
        return {"lead_time_people": 0.0}
    return {
        "lead_time_people": float(days.len()),
        "lead_time_median_days": float(days.median()),  # type: ignore[arg-type]
        "lead_time_mean_days": float(days.mean()),  # type: ignore[arg-type]
        "lead_time_min_days": float(days.min()),  # type: ignore[arg-type]
        "lead_time_max_days": float(days.max()),  # type: ignore[arg-type]
    }


def calibration_table(label: np.ndarray, score: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Binned calibration: equal-count bins of the score, mean predicted vs observed rate."""
    order = np.argsort(score, kind="stable")
    chunks = [c for c in np.array_split(order, bins) if len(c)]
    return pl.DataFrame(
        {
            "bin": list(range(1, len(chunks) + 1)),
            "rows": [len(c) for c in chunks],
            "mean_predicted": [float(score[c].mean()) for c in chunks],
            "observed_rate": [float(label[c].mean()) for c in chunks],
        }
    )


def expected_calibration_error(table: pl.DataFrame) -> float:
    weights = table["rows"] / table["rows"].sum()
    return float((weights * (table["mean_predicted"] - table["observed_rate"]).abs()).sum())


def fairness_table(surfaced: pl.DataFrame, attributes: tuple[str, ...] = FAIRNESS_ATTRIBUTES) -> pl.DataFrame:
    """Surfacing rate, precision and recall at capacity per group of each attribute."""
    frames = []
    for attribute in attributes:
        frames.append(
            surfaced.group_by(pl.col(attribute).cast(pl.String).alias("group"))
            .agg(
                pl.len().alias("cohort_rows"),
                pl.col("surfaced").sum().alias("surfaced"),
                pl.col("label").cast(pl.Int64).sum().alias("positives"),
                (pl.col("surfaced") & (pl.col("label") == 1)).sum().alias("surfaced_positives"),
            )
            .with_columns(pl.lit(attribute).alias("attribute"))
        )
    table = pl.concat(frames).select(
        "attribute",
        "group",
        pl.col("cohort_rows", "surfaced", "positives", "surfaced_positives").cast(pl.Int64),
    )
    return table.with_columns(
        (pl.col("surfaced") / pl.col("cohort_rows")).alias("surfacing_rate"),
        pl.when(pl.col("surfaced") > 0)
        .then(pl.col("surfaced_positives") / pl.col("surfaced"))
        .otherwise(None)
        .alias("precision"),
        pl.when(pl.col("positives") > 0)
        .then(pl.col("surfaced_positives") / pl.col("positives"))
        .otherwise(None)
        .alias("recall"),
    ).sort("attribute", "group")


def _ratio(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    if high == 0:
        return 1.0
    return float("inf") if low == 0 else high / low


def fairness_ratios(table: pl.DataFrame, min_group_positives: int) -> pl.DataFrame:
    """Largest group value over the smallest, per attribute and metric (known, large-enough groups)."""
    rows = []
    for attribute in table["attribute"].unique().sort().to_list():
        groups = table.filter(
            (pl.col("attribute") == attribute)
            & (pl.col("group") != UNKNOWN)
            & (pl.col("positives") >= min_group_positives)
        )
        rows.append(
            {
                "attribute": attribute,
                "groups_compared": groups.height,
                **{
                    f"{metric}_ratio": _ratio(groups[metric].drop_nulls().to_list())
                    for metric in ("surfacing_rate", "precision", "recall")
                },
            }
        )
    schema = {"attribute": pl.String, "groups_compared": pl.Int64}
    schema |= {f"{m}_ratio": pl.Float64 for m in ("surfacing_rate", "precision", "recall")}
    return pl.DataFrame(rows, schema=schema)


def fairness_gap(ratios: pl.DataFrame) -> float:
    """The largest recall ratio over sex, ethnicity and age band (1.0 when nothing is comparable)."""
    values = ratios.filter(pl.col("attribute").is_in(GAP_ATTRIBUTES))["recall_ratio"].drop_nulls()
    return float(values.max()) if values.len() else 1.0  # type: ignore[arg-type]


@dataclass
class Evaluation:
    """Metrics and aggregate tables for one score on one period (no person ids inside)."""

    name: str
    metrics: dict[str, float]
    fairness: pl.DataFrame
    ratios: pl.DataFrame
    calibration: pl.DataFrame | None = None
    pr_curve: tuple[np.ndarray, np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def evaluate(
    name: str,
    rows: pl.DataFrame,
    config: Config,
    *,
    min_group_positives: int,
    probabilistic: bool = True,
) -> Evaluation:
    """Every metric for one score; ``rows`` must hold only the period being reported.

    ``probabilistic=False`` (naive baselines: counts, not probabilities) skips Brier
    score and calibration.
    """
    surfaced = surface_at_capacity(rows, config)
    label = surfaced["label"].to_numpy().astype(int)
    score = surfaced["score"].to_numpy().astype(float)
    metrics = at_capacity(surfaced) | lead_time_summary(lead_times(surfaced))
    calibration = None
    pr_curve = None
    if 0 < label.sum() < len(label):
        metrics["pr_auc"] = float(average_precision_score(label, score))
        precision, recall, _ = precision_recall_curve(label, score)
        pr_curve = (precision, recall)
    if probabilistic and len(label):
        metrics["brier"] = float(brier_score_loss(label, np.clip(score, 0.0, 1.0)))
        calibration = calibration_table(label, score)
        metrics["expected_calibration_error"] = expected_calibration_error(calibration)
    table = fairness_table(surfaced)
    ratios = fairness_ratios(table, min_group_positives)
    metrics["fairness_gap"] = fairness_gap(ratios)
    return Evaluation(
        name=name, metrics=metrics, fairness=table, ratios=ratios, calibration=calibration, pr_curve=pr_curve
    )
