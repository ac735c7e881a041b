"""Only models/registry.py imports mlflow, and only when a registry function runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_only_the_registry_module_mentions_an_mlflow_import() -> None:
    importing = sorted(
        p.name for p in MODELS.glob("*.py") if re.search(r"^\s*(import|from)\s+mlflow\b", p.read_text(), re.M)
    )
    assert importing == ["registry.py"]


def test_importing_the_models_package_does_not_import_mlflow() -> None:
    code = (
        "import sys, models, models.training, models.registry, models.evaluation, models.labels;"
        "print('mlflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=MODELS.parent
    )
    assert out.stdout.strip() == "False"
