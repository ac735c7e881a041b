"""The aggregate artefacts a training run logs: tables, plots, feature list, model card.

Nothing here holds a person: every table is per model, per group or per
feature, and the input example is one row of training medians. Fairness
tables are written only in their published form: counts below
``suppress_below`` shown as "<10", rates built on them withheld.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from early_warning.config import Config
from features.person_features import feature_descriptions
from models import pipelines as pipes
from models.evaluation import Evaluation
from models.training_data import TrainingData


def input_example(data: TrainingData) -> pd.DataFrame:
    """One row of training-period medians: the shape of the input, not a person."""
    medians = data.period("train").select(pl.col(data.features).cast(pl.Float64).median().fill_null(0.0))
    return medians.to_pandas()


def _fairness_markdown(ev: Evaluation) -> str:
    from models.model_card import fairness_method, frame_markdown

    return (
        f"# Fairness audit: {ev.name} (held-out report period)\n\n{fairness_method(ev.rules)}\n\n"
        f"{frame_markdown(ev.published_fairness)}\n\n"
        f"## Gap per attribute (smoothed ratio to the pooled rate, 1 = parity)\n\n{frame_markdown(ev.gaps)}\n"
    )


def write_fairness_artefacts(folder: Path, report: dict[str, Evaluation], chosen: str) -> None:
    """``fairness_report.csv``, ``fairness_gaps_report.csv`` and ``fairness.md``.

    Only the published form of a fairness table is ever written: counts below
    the evaluation's ``suppress_below`` shown as "<10", rates built on them withheld.
    """
    pl.concat(
        [ev.published_fairness.with_columns(pl.lit(name).alias("model")) for name, ev in report.items()]
    ).write_csv(folder / "fairness_report.csv")
    pl.concat([ev.gaps.with_columns(pl.lit(name).alias("model")) for name, ev in report.items()]).write_csv(
        folder / "fairness_gaps_report.csv"
    )
    (folder / "fairness.md").write_text(_fairness_markdown(report[chosen]))


def write_artefacts(
    folder: Path,
    *,
    data: TrainingData,
    config: Config,
    report: dict[str, Evaluation],
    middle: dict[str, Evaluation],
    chosen: str,
    trials: list[dict[str, Any]],
    importance: pl.DataFrame,
    card: str,
    surfaced: pl.DataFrame | None = None,
) -> None:
    """Every aggregate artefact; ``surfaced`` is the chosen model's report rows at capacity
    (``models.evaluation.surface_at_capacity``), for the confusion matrix."""
    from models.plots import (
        confusion_at_capacity,
        plot_calibration,
        plot_confusion_at_capacity,
        plot_permutation_importance,
        plot_precision_recall,
    )

    (folder / "metrics_report.json").write_text(
        json.dumps({k: v.metrics for k, v in report.items()}, indent=2)
    )
    (folder / "metrics_middle.json").write_text(
        json.dumps({k: v.metrics for k, v in middle.items()}, indent=2)
    )
    (folder / "split.json").write_text(
        json.dumps(
            {k: [d.isoformat() for d in getattr(data.split, k)] for k in ("train", "middle", "report")},
            indent=2,
        )
    )
    write_fairness_artefacts(folder, report, chosen)
    calibrations = [
        ev.calibration.with_columns(pl.lit(name).alias("model"))
        for name, ev in report.items()
        if ev.calibration is not None
    ]
    if calibrations:
        pl.concat(calibrations).write_csv(folder / "calibration_report.csv")
    plot_precision_recall(report, folder / "precision_recall_report.png", "Held-out report period")
    plot_calibration(
        {k: v for k, v in report.items() if k in pipes.MODEL_NAMES},
        folder / "calibration_report.png",
        "Calibration, held-out report period",
    )
    descriptions = feature_descriptions(config)
    (folder / "features.json").write_text(
        json.dumps([{"feature": f, "description": descriptions.get(f, "")} for f in data.features], indent=2)
    )
    importance.write_csv(folder / "importances.csv")
    plot_permutation_importance(
        importance, folder / "permutation_importance.png", f"Permutation importance: {chosen}"
    )
    if surfaced is not None:
        confusion_at_capacity(surfaced).write_csv(folder / "confusion_at_capacity_report.csv")
        plot_confusion_at_capacity(
            surfaced,
            folder / "confusion_at_capacity_report.png",
            f"{chosen} at review capacity, report period",
        )
    pl.DataFrame(trials).write_csv(folder / "search_trials.csv")
    (folder / "model_card.md").write_text(card)
