"""PR and calibration plots as PNG files (matplotlib, Agg backend: no display needed).

Plots show aggregate curves only: no person appears in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from models.evaluation import Evaluation


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
