"""The settings of the borough the registry tests share (its fixtures are in ``conftest``)."""

from __future__ import annotations

from datetime import date

from models.training_settings import load_training_settings

REGISTRY_AS_OF = date(2026, 3, 31)
REGISTRY_SETTINGS = load_training_settings().model_copy(
    update={"importance_repeats": 1, "importance_max_rows": 2000}
)
#: A setting that does not change the model: a second configuration, so the retrain is not identical.
REGISTRY_SETTINGS_2 = REGISTRY_SETTINGS.model_copy(update={"importance_max_rows": 1999})
