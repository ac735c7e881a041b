"""Make ``threshold_helpers`` importable under ``--import-mode=importlib``; the trained borough.

``registry_trained`` trains twice on one small generated borough (the real linkage,
then the same persons under a second configuration) and is shared, once per session,
by the registry tests and the registered-model tests: training is the slow part.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


import polars as pl  # noqa: E402
import pytest  # noqa: E402
from trained_borough import REGISTRY_AS_OF, REGISTRY_SETTINGS, REGISTRY_SETTINGS_2  # noqa: E402

from early_warning.config import load_config  # noqa: E402
from early_warning.synthetic import generate_borough  # noqa: E402
from models.training import TrainingResult, run_training  # noqa: E402


@pytest.fixture(scope="session")
def registry_borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("borough")
    generate_borough(out, residents=3_000, years=3, as_of=REGISTRY_AS_OF, seed=3)
    return out


@pytest.fixture(scope="session")
def registry_trained(
    registry_borough: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, TrainingResult, TrainingResult]:
    home = tmp_path_factory.mktemp("home")
    extracts = registry_borough / "extracts"
    config = load_config()
    first = run_training(extracts, REGISTRY_AS_OF, home, config, settings=REGISTRY_SETTINGS)  # real linkage
    persons = pl.read_parquet(home / "training" / "runs" / REGISTRY_AS_OF.isoformat() / "persons.parquet")
    # The same data and persons again under another configuration fingerprint: the same model,
    # so it is not better than the champion.
    second = run_training(
        extracts, REGISTRY_AS_OF, home, config, settings=REGISTRY_SETTINGS_2, persons=persons
    )
    return home, first, second
