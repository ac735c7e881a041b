"""A fresh interpreter in which no project package can be imported: how a registered model is
loaded "wherever MLflow runs" (issue 20), shared by the registry tests and the independent
borough's acceptance tests.

``python -I`` from a given folder, with every ``sys.path`` entry that holds one of the
project's packages removed and any import of them refused.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT_PACKAGES = ("models", "features", "early_warning", "flows", "review_ui")

#: Prepended to every isolated script: drop the project from sys.path and refuse its packages.
ISOLATE = textwrap.dedent(
    f"""
    import importlib.abc, os, sys
    PROJECT = {PROJECT_PACKAGES!r}
    sys.path[:] = [p for p in sys.path
                   if not any(os.path.exists(os.path.join(p or '.', name)) for name in PROJECT)]
    class _Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in PROJECT:
                raise ImportError('project package imported: ' + name)
            return None
    sys.meta_path.insert(0, _Refuse())
    os.environ['MLFLOW_DISABLE_TELEMETRY'] = 'true'
    os.environ['DO_NOT_TRACK'] = 'true'
    """
)


def run_isolated(code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in ``python -I`` from ``cwd`` with no project package importable."""
    return subprocess.run(
        [sys.executable, "-I", "-c", ISOLATE + textwrap.dedent(code), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
