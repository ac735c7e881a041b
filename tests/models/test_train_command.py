"""The data team's commands: `train` (with a small search), `models list`, `models promote`."""

from __future__ import annotations

from pathlib import Path

import pytest

from early_warning.cli import main
from early_warning.synthetic import generate_borough


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import date

    borough = tmp_path_factory.mktemp("borough")
    generate_borough(borough, residents=3_000, years=3, as_of=date(2026, 3, 31), seed=4)
    home = tmp_path_factory.mktemp("home")
    args = ["train", "--extracts", str(borough / "extracts"), "--as-of", "2026-03-31", "--home", str(home)]
    assert main([*args, "--search", "1"]) == 0
    return home


def test_models_list_shows_the_champion_with_its_held_out_metrics(
    trained_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["models", "list", "--home", str(trained_home)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("v1 ")
    assert "champion" in out
    assert "precision_at_capacity" in out


def test_the_search_is_logged_as_nested_runs(trained_home: Path) -> None:
    from flows.runtime import configure_runtime

    configure_runtime(trained_home)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{trained_home / 'mlflow' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1
    assert len(children) >= 2, "one trial per model family at least"


def test_promoting_an_unknown_version_is_refused_plainly(
    trained_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "promote", "9", "--home", str(trained_home)]) == 2
    assert "no version 9" in capsys.readouterr().err
    assert main(["models", "promote", "1", "--home", str(trained_home)]) == 0


def test_models_list_with_nothing_registered_says_the_rules_score_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list", "--home", str(tmp_path)]) == 0
    assert "transparent rules score" in capsys.readouterr().out
