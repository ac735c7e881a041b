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
ethnicity, age band and locality (``fairness_table``). A known group is
*compared* only when it holds at least ``min_group_size`` people and
``min_group_positives`` people who went on to a crisis or enforcement event;
smaller groups are kept in the table marked "too few to compare", and
"unknown" is shown but never compared. Ratios between raw rates of small
groups are noise (one group with no positive surfaced makes the
largest-over-smallest ratio infinite), so each compared group is compared
with its attribute's *pooled* rate over the compared groups, after additive
smoothing towards that pooled rate: r = (x + k·p) / (n + k) for x hits out of
n, pooled rate p and ``smoothing`` k (a Beta prior centred on p). A group's
gap is max(r/p, p/r), 1 at parity and always finite; an attribute's gap is
its compared groups' largest (``fairness_gaps``), none with fewer than two
compared groups. The *fairness gap* used for promotion is the largest recall
gap over sex, ethnicity and age band, also reported per attribute as
``fairness_gap_<attribute>`` (locality is capacity-driven by design).

What is logged is ``publishable_fairness``: counts from 1 to
``suppress_below - 1`` shown as "<10" (for the default 10) and rates built
on them withheld, so no table singles anyone out.
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
    shown = {}
    if "need_shown" in surfaced.columns:
        found = int(surfaced.filter(pl.col("surfaced"))["need_shown"].sum())
        shown["precision_need_shown_at_capacity"] = found / n_surfaced if n_surfaced else 0.0
    return shown | {
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


@dataclass(frozen=True)
class FairnessRules:
    """Which groups the fairness audit compares, how it smooths, what it suppresses.

    * ``min_group_size``: distinct people a known group needs to be compared;
    * ``min_group_positives``: distinct people in it who went on to a crisis or
      enforcement event (the recall denominator, in people);
    * ``smoothing``: pseudo-observations added to each group at its attribute's
      pooled rate (see ``fairness_gaps``);
    * ``suppress_below``: counts from 1 to ``suppress_below - 1`` are published as
      ``"<suppress_below>"`` (``publishable_fairness``).
    """

    min_group_size: int = 30
    min_group_positives: int = 10
    smoothing: float = 2.0
    suppress_below: int = 10


COMPARED = "compared"
TOO_FEW = "too few to compare"
NOT_COMPARED_UNKNOWN = "unknown: shown, not compared"
#: metric -> (numerator, denominator) columns of the fairness table.
RATES: dict[str, tuple[str, str]] = {
    "surfacing_rate": ("surfaced", "cohort_rows"),
    "precision": ("surfaced_positives", "surfaced"),
    "recall": ("surfaced_positives", "positives"),
}
COUNT_COLUMNS: tuple[str, ...] = (
    "people",
    "positive_people",
    "cohort_rows",
    "surfaced",
    "positives",
    "surfaced_positives",
)


def fairness_table(
    surfaced: pl.DataFrame,
    rules: FairnessRules | None = None,
    attributes: tuple[str, ...] = FAIRNESS_ATTRIBUTES,
) -> pl.DataFrame:
    """Counts, rates and smoothed ratio to the attribute's pooled rate, per group of each attribute.

    ``people`` and ``positive_people`` count distinct persons (eligibility);
    ``cohort_rows``, ``surfaced``, ``positives`` and ``surfaced_positives`` count
    (person, snapshot) rows (the rates, as for the whole list). ``status`` says
    whether a group is compared, "too few to compare" (below ``min_group_size``
    people or ``min_group_positives`` positive people) or "unknown" (shown, never
    compared). ``<metric>_vs_pooled`` is the group's smoothed rate over the pooled
    rate of the compared groups of its attribute (null when not compared).
    """
    rules = rules or FairnessRules()
    frames = []
    for attribute in attributes:
        frames.append(
            surfaced.group_by(pl.col(attribute).cast(pl.String).fill_null(UNKNOWN).alias("group"))
            .agg(
                pl.col("person_id").n_unique().alias("people"),
                pl.col("person_id").filter(pl.col("label") == 1).n_unique().alias("positive_people"),
                pl.len().alias("cohort_rows"),
                pl.col("surfaced").sum().alias("surfaced"),
                pl.col("label").cast(pl.Int64).sum().alias("positives"),
                (pl.col("surfaced") & (pl.col("label") == 1)).sum().alias("surfaced_positives"),
            )
            .with_columns(pl.lit(attribute).alias("attribute"))
        )
    table = pl.concat(frames).select("attribute", "group", pl.col(COUNT_COLUMNS).cast(pl.Int64))
    status = (
        pl.when(pl.col("group") == UNKNOWN)
        .then(pl.lit(NOT_COMPARED_UNKNOWN))
        .when(
            (pl.col("people") >= rules.min_group_size)
            & (pl.col("positive_people") >= rules.min_group_positives)
        )
        .then(pl.lit(COMPARED))
        .otherwise(pl.lit(TOO_FEW))
    )
    table = table.with_columns(
        *[
            pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None).alias(metric)
            for metric, (num, den) in RATES.items()
        ],
        status.alias("status"),
    )
    compared = pl.col("status") == COMPARED
    ratios = []
    for metric, (num, den) in RATES.items():
        pooled = pl.col(num).filter(compared).sum().over("attribute") / pl.col(den).filter(
            compared
        ).sum().over("attribute")
        ratios.append(
            pl.when(compared)
            .then(_smoothed_ratio(pl.col(num), pl.col(den), pooled, rules.smoothing))
            .otherwise(None)
            .alias(f"{metric}_vs_pooled")
        )
    return table.with_columns(ratios).sort("attribute", "group")


def _smoothed_ratio(hits: pl.Expr, n: pl.Expr, pooled: pl.Expr, k: float) -> pl.Expr:
    """(hits + k·p) / (n + k) / p: the group's rate shrunk towards the pooled rate p, over p.

    Finite whenever p > 0 (the smoothed rate is at least k·p/(n + k) > 0); when
    p = 0 every compared group is at 0 too and the ratio is 1 (parity).
    """
    smoothed = (hits + k * pooled) / (n + k)
    return pl.when(pooled > 0).then(smoothed / pooled).otherwise(1.0)


def _fold(ratio: pl.Expr) -> pl.Expr:
    """A ratio to the pooled rate as a distance from parity: max(r, 1/r) >= 1."""
    return pl.max_horizontal(ratio, 1.0 / ratio)


def fairness_gaps(table: pl.DataFrame) -> pl.DataFrame:
    """Per attribute and metric, the gap: the largest smoothed ratio between a compared group and the pool.

    For a metric with numerator x and denominator n (recall: surfaced positives
    over positives), the pooled rate p of an attribute is the sum of x over
    the sum of n across its compared groups; each compared group's rate is
    smoothed towards p with k pseudo-observations, r = (x + k·p) / (n + k) (a
    Beta prior centred on p; Laplace's two pseudo-observations, placed at p
    instead of at one half), and the gap is the largest of r/p and p/r over
    the compared groups. It is 1 at parity, always finite, and a group with
    few observations moves it little. Fewer than two compared groups: no gap
    (null), with the groups listed as too few to compare.
    """
    rows = []
    for attribute in table["attribute"].unique().sort().to_list():
        groups = table.filter(pl.col("attribute") == attribute)
        compared = groups.filter(pl.col("status") == COMPARED)
        row: dict[str, Any] = {
            "attribute": attribute,
            "groups_compared": compared.height,
            "too_few_to_compare": ", ".join(groups.filter(pl.col("status") == TOO_FEW)["group"].to_list()),
        }
        for metric in RATES:
            if compared.height < 2:
                row[f"{metric}_gap"], row[f"{metric}_gap_group"] = None, None
                continue
            folded = compared.select("group", _fold(pl.col(f"{metric}_vs_pooled")).alias("gap")).sort(
                ["gap", "group"], descending=[True, False]
            )
            row[f"{metric}_gap"] = float(folded["gap"][0])
            row[f"{metric}_gap_group"] = str(folded["group"][0])
        rows.append(row)
    schema: dict[str, Any] = {
        "attribute": pl.String,
        "groups_compared": pl.Int64,
        "too_few_to_compare": pl.String,
    }
    for metric in RATES:
        schema |= {f"{metric}_gap": pl.Float64, f"{metric}_gap_group": pl.String}
    return pl.DataFrame(rows, schema=schema)


def gap_metrics(gaps: pl.DataFrame) -> dict[str, float]:
    """``fairness_gap_<attribute>`` (recall gap) per comparable attribute of sex, ethnicity and age
    band, and ``fairness_gap``: the largest of them (1.0, parity, when nothing is comparable)."""
    out = {
        f"fairness_gap_{row['attribute']}": float(row["recall_gap"])
        for row in gaps.filter(pl.col("attribute").is_in(GAP_ATTRIBUTES)).iter_rows(named=True)
        if row["recall_gap"] is not None
    }
    return {"fairness_gap": max(out.values(), default=1.0)} | out


def fairness_gap(gaps: pl.DataFrame) -> float:
    """The largest recall gap over sex, ethnicity and age band (1.0 when nothing is comparable)."""
    return gap_metrics(gaps)["fairness_gap"]


def publishable_fairness(table: pl.DataFrame, suppress_below: int) -> pl.DataFrame:
    """The fairness table safe to log or publish: small cells suppressed.

    Every count from 1 to ``suppress_below - 1`` becomes the text
    ``"<suppress_below>"`` (0 and larger counts are shown), and every rate or
    ratio computed from a suppressed count becomes null, so it cannot be
    multiplied back into the count. Rates are rounded to 3 places.
    """
    hidden = f"<{suppress_below}"

    def small(column: str) -> pl.Expr:
        return (pl.col(column) > 0) & (pl.col(column) < suppress_below)

    rates = []
    for metric, (num, den) in RATES.items():
        unsafe = small(num) | small(den)
        for column in (metric, f"{metric}_vs_pooled"):
            rates.append(pl.when(unsafe).then(None).otherwise(pl.col(column).round(3)).alias(column))
    counts = [
        pl.when(small(c)).then(pl.lit(hidden)).otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in COUNT_COLUMNS
    ]
    return table.with_columns(*rates, *counts)


@dataclass
class Evaluation:
    """Metrics and aggregate tables for one score on one period (no person ids inside).

    ``fairness`` holds exact counts for computing; log only ``published_fairness``.
    """

    name: str
    metrics: dict[str, float]
    fairness: pl.DataFrame
    gaps: pl.DataFrame
    rules: FairnessRules = field(default_factory=FairnessRules)
    calibration: pl.DataFrame | None = None
    pr_curve: tuple[np.ndarray, np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def published_fairness(self) -> pl.DataFrame:
        """The fairness table with small cells suppressed: the only form to log or publish."""
        return publishable_fairness(self.fairness, self.rules.suppress_below)


def evaluate(
    name: str,
    rows: pl.DataFrame,
    config: Config,
    *,
    fairness: FairnessRules | None = None,
    probabilistic: bool = True,
) -> Evaluation:
    """Every metric for one score; ``rows`` must hold only the period being reported.

    ``fairness`` says which groups are compared and how (default ``FairnessRules()``).
    ``probabilistic=False`` (naive baselines: counts, not probabilities) skips Brier
    score and calibration.
    """
    rules = fairness or FairnessRules()
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
    table = fairness_table(surfaced, rules)
    gaps = fairness_gaps(table)
    metrics |= gap_metrics(gaps)
    return Evaluation(
        name=name,
        metrics=metrics,
        fairness=table,
        gaps=gaps,
        rules=rules,
        calibration=calibration,
        pr_curve=pr_curve,
    )
