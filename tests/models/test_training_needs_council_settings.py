"""Training never falls back quietly to the default linkage settings (issue 20: one settings object,
built once per command from ``--config`` and passed down, never re-read with defaults deeper in)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from early_warning.config import load_config
from models.training_data import prepare_training_data
from models.training_settings import load_training_settings


def test_preparing_training_data_without_the_councils_linkage_settings_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the council's linkage settings"):
        prepare_training_data(
            tmp_path / "extracts", date(2026, 3, 31), tmp_path, load_config(), load_training_settings()
        )
    assert not (tmp_path / "training").exists()  # refused before reading or writing anything
