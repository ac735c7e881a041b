"""Only models/registry.py imports mlflow, and only when a registry function runs.

``models/pyfunc_score.py`` also imports mlflow, but the project never imports it: it is
the registered model's own code, which MLflow copies into each version and runs when
the version is loaded (models from code).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_only_the_registry_module_mentions_an_mlflow_import() -> None:
    importing = sorted(
        p.name for p in MODELS.glob("*.py") if re.search(r"^\s*(import|from)\s+mlflow\b", p.read_text(), re.M)
    )
    assert importing == ["pyfunc_score.py", "registry.py"]
    project = [p.name for p in MODELS.parent.rglob("*.py") if ".venv" not in p.parts]
    users = sorted(
        p.name
        for p in MODELS.parent.glob("[!.]*/**/*.py")
        if re.search(r"^\s*(import|from)\s+models\.pyfunc_score\b", p.read_text(), re.M)
    )
    assert project
    assert users == []


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return {name.split(".")[0] for name in names}


def test_the_registered_models_code_imports_nothing_from_the_project() -> None:
    allowed = {"__future__", "typing", "cloudpickle", "mlflow", "numpy", "pandas"}
    assert _top_level_imports(MODELS / "pyfunc_score.py") <= allowed
    assert _top_level_imports(MODELS / "transforms.py") <= {"__future__", "typing", "numpy"}


def test_importing_the_models_package_does_not_import_mlflow() -> None:
    code = (
        "import sys, models, models.training, models.registry, models.evaluation, models.labels;"
        "print('mlflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=MODELS.parent
    )
    assert out.stdout.strip() == "False"
