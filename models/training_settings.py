"""Training settings a council's data team edits: ``training.yaml``.

Loaded like the rest of the configuration (a council's ``--config`` folder
wins over ``early_warning/config/defaults``) and validated on load, so a
mistake names the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from early_warning.config import load_file

if TYPE_CHECKING:
    from models.evaluation import FairnessRules
    from models.labels import LabelRules

TRAINING_FILE = "training.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchSpace(_Strict):
    """Candidate values per hyper-parameter, per model family."""

    gradient_boosting: dict[str, list[Any]] = {}
    logistic_regression: dict[str, list[Any]] = {}


class ModelDefaults(_Strict):
    gradient_boosting: dict[str, Any] = {}
    logistic_regression: dict[str, Any] = {}


class LabelSettings(_Strict):
    """What counts as need in training (``models.labels``)."""

    enforcement: Literal["never", "with_other_need", "always"] = "with_other_need"
    other_need_days: int = Field(default=180, gt=0)
    use_review_outcomes: bool = True
    services_taking_on: bool = False


class GateSettings(_Strict):
    """The champion gate (``models.gate``): what a learned model must beat, and how surely."""

    bootstrap_resamples: int = Field(default=1000, ge=100)
    min_win_share: float = Field(default=0.9, gt=0.5, le=1.0)
    seed: int = 0


class TrainingSettings(_Strict):
    """See ``defaults/training.yaml`` for what each setting means."""

    horizon_days: int = Field(default=180, gt=0)
    min_history_days: int = Field(default=365, ge=0)
    report_snapshots: int = Field(default=3, ge=1)
    middle_snapshots: int = Field(default=3, ge=1)
    middle_person_share: float = Field(default=0.3, gt=0, lt=1)
    fairness_tolerance: float = Field(default=0.1, ge=0)
    min_group_positives: int = Field(default=10, ge=1)
    min_group_size: int = Field(default=30, ge=1)
    fairness_smoothing: float = Field(default=2.0, gt=0)
    suppress_below: int = Field(default=10, ge=1)
    registered_model_name: str = "early-warning"
    experiment_name: str = "early-warning"
    importance_repeats: int = Field(default=3, ge=1)
    importance_max_rows: int = Field(default=20000, ge=100)
    search_seed: int = 0
    search: SearchSpace = SearchSpace()
    defaults: ModelDefaults = ModelDefaults()
    labels: LabelSettings = LabelSettings()
    gate: GateSettings = GateSettings()

    def label_rules(self) -> LabelRules:
        """The label rules (``models.labels.LabelRules``) these settings say."""
        from models.labels import LabelRules

        return LabelRules(
            enforcement=self.labels.enforcement,
            other_need_days=self.labels.other_need_days,
            use_review_outcomes=self.labels.use_review_outcomes,
            services_taking_on=self.labels.services_taking_on,
        )

    def fairness_rules(self) -> FairnessRules:
        """The fairness audit's group sizes, smoothing and suppression (``models.evaluation``)."""
        from models.evaluation import FairnessRules

        return FairnessRules(
            min_group_size=self.min_group_size,
            min_group_positives=self.min_group_positives,
            smoothing=self.fairness_smoothing,
            suppress_below=self.suppress_below,
        )


def load_training_settings(config_dir: str | Path | None = None) -> TrainingSettings:
    """The defaults, overridden key by key by ``config_dir/training.yaml`` if present
    (:func:`early_warning.config.load_file`, the one loader every file goes through).

    Raises:
        ConfigError: naming the file, the key and what was wrong.
    """
    return load_file(TRAINING_FILE, TrainingSettings, config_dir)
