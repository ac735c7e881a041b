"""PR, calibration, confusion-at-capacity and importance plots as PNG files (matplotlib, Agg backend: no display needed).

Plots show aggregate curves only: no person appears in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from models.evaluation import Evaluation
from models.labels import LABEL


def plot_precision_recall(evaluations: Mapping[str, Evaluation], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, ev in evaluations.items():
        if ev.pr_curve is None:
            continue
        precision, recall = ev.pr_curve
        auc = ev.metrics.get("pr_auc", float("nan"))
        ax.plot(recall, precision, label=f"{name} (PR-AUC {auc:.3f})", linewidth=1.2)
        ax.scatter(
            [ev.metrics["recall_at_capacity"]], [ev.metrics["precision_at_capacity"]], s=18, marker="o"
        )
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_title(title + "\n(dots: at review capacity)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_calibration(evaluations: Mapping[str, Evaluation], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    top = 0.0
    for name, ev in evaluations.items():
        if ev.calibration is None:
            continue
        table = ev.calibration
        ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=name, linewidth=1.2)
        top = max(top, *table.select("mean_predicted", "observed_rate").max().row(0))
    top = min(1.0, top * 1.1 or 1.0)
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfectly calibrated")
    ax.set_xlabel("Mean predicted probability (equal-count bins)")
    ax.set_ylabel("Observed rate of crisis or enforcement")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_at_capacity(surfaced: pl.DataFrame) -> pl.DataFrame:
    """Counts of (surfaced at capacity, reached a label) over every report-period row: four numbers."""
    return (
        surfaced.group_by(pl.col("surfaced"), pl.col(LABEL).cast(pl.Boolean).alias("label"))
        .len()
        .rename({"len": "rows"})
        .sort("surfaced", "label", descending=True)
    )


def plot_confusion_at_capacity(surfaced: pl.DataFrame, path: Path, title: str) -> Path:
    """The 2x2 table at review capacity: surfaced or not against crisis/enforcement reached or not.

    Aggregate counts of (person, night) rows over the whole report period: no group is
    small enough to point at a person, and nobody is named.
    """
    counts = {(s, lab): n for s, lab, n in confusion_at_capacity(surfaced).iter_rows()}
    grid = [[counts.get((s, lab), 0) for lab in (True, False)] for s in (True, False)]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.imshow(grid, cmap="Blues")
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=11)
    ax.set_xticks([0, 1], ["reached a label", "did not"])
    ax.set_yticks([0, 1], ["surfaced", "not surfaced"])
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_permutation_importance(importance: pl.DataFrame, path: Path, title: str, top: int = 20) -> Path:
    """The ``top`` features by permutation importance (drop in PR-AUC), with their spread.

    Draws the importances training already computed (``models.selection.importances``):
    nothing is re-scored.
    """
    table = (
        importance.drop_nulls("permutation_importance_mean")
        .sort("permutation_importance_mean", descending=True)
        .head(top)
        .reverse()
    )
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.28 * table.height + 1.2)))
    ax.barh(
        table["feature"].to_list(),
        table["permutation_importance_mean"].to_list(),
        xerr=table["permutation_importance_std"].fill_null(0.0).to_list(),
        color="#1d70b8",
    )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("Drop in PR-AUC when the feature is shuffled (middle period)")
    ax.set_title(title)
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
