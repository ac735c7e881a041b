"""The registered model works wherever MLflow runs: pyfunc scores 0-1 without this project installed.

Uses the small generated borough the registry tests train on (``conftest``), then loads the
newest version through MLflow's generic ``python_function`` flavour in a fresh
interpreter whose ``sys.path`` holds no project package (``python -I`` from an
empty folder, with every path entry that holds ``models``, ``features`` or
``early_warning`` removed and their import refused), and through ``mlflow models
predict`` on a CSV of integer counts - the command docs/data-team.md shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from trained_borough import REGISTRY_SETTINGS

from models.registry import tracking_uri
from models.training import TrainingResult
from tests.support.isolated_python import run_isolated

SETTINGS = REGISTRY_SETTINGS


@pytest.fixture(scope="module")
def trained(registry_trained: tuple) -> tuple[Path, TrainingResult]:
    """The newest version: the second training of the shared borough (``conftest.registry_trained``)."""
    home, _, second = registry_trained
    return home, second


def test_the_isolated_interpreter_cannot_import_the_project(tmp_path: Path) -> None:
    done = run_isolated("import models.pipelines", tmp_path)
    assert done.returncode != 0
    assert "project package imported: models" in done.stderr or "No module named" in done.stderr


def test_pyfunc_scores_its_own_input_example_from_0_to_1_without_the_project(
    trained: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    home, result = trained
    code = """
        import json, sys
        import mlflow
        import pandas as pd
        from mlflow.models import Model
        mlflow.set_tracking_uri(sys.argv[1])
        client = mlflow.MlflowClient()
        newest = max(client.search_model_versions("name='early-warning'"), key=lambda v: int(v.version))
        uri = f"models:/early-warning/{newest.version}"
        model = mlflow.pyfunc.load_model(uri)
        local = mlflow.artifacts.download_artifacts(uri)
        example = Model.load(local).load_input_example(local)
        scores = model.predict(example)
        counts = example.round().astype('int64')  # integer columns, as a CSV of counts reads
        int_scores = model.predict(counts)
        print(json.dumps({
            "version": str(newest.version),
            "signature_out": str(model.metadata.signature.outputs),
            "columns": list(scores.columns),
            "dtype": str(scores['score'].dtype),
            "scores": scores['score'].tolist(),
            "int_scores": int_scores['score'].tolist(),
            "loaded": sorted(m for m in sys.modules if m.split('.')[0] in ('models', 'features', 'early_warning')),
        }))
    """
    done = run_isolated(code, tmp_path, tracking_uri(home))
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["version"] == result.version
    assert out["loaded"] == []
    assert out["columns"] == ["score"]
    assert out["dtype"] == "float64"
    assert "'score': double" in out["signature_out"]
    assert len(out["scores"]) >= 1
    assert len(out["int_scores"]) == len(out["scores"])
    assert all(0.0 <= s <= 1.0 for s in out["scores"] + out["int_scores"])
    assert len({round(s, 12) for s in out["scores"]} | {0.0, 1.0}) > 2  # a probability, not a label


def test_pyfunc_gives_the_score_the_night_ranks_by(trained: tuple[Path, TrainingResult]) -> None:
    """The same rows: pyfunc's score equals the night's pipeline's positive-class probability."""
    import mlflow

    from models.registry import load_champion

    home, result = trained
    mlflow.set_tracking_uri(tracking_uri(home))
    uri = f"models:/early-warning/{result.version}"
    local = mlflow.artifacts.download_artifacts(uri)
    example = mlflow.models.Model.load(local).load_input_example(local)
    rows = pd.concat([example, example * 0, example * 3], ignore_index=True)
    scores = mlflow.pyfunc.load_model(uri).predict(rows)["score"].to_numpy()
    from models.registry import _load_pipeline, _mlflow

    pipeline = _load_pipeline(_mlflow(home), uri)
    assert scores == pytest.approx(pipeline.predict_proba(rows)[:, 1])
    champion = load_champion(home, SETTINGS)
    if champion is not None:
        assert champion.model.predict_proba(rows)[:, 1] == pytest.approx(scores)


def test_a_column_that_is_not_a_number_is_named(trained: tuple[Path, TrainingResult]) -> None:
    import mlflow

    home, result = trained
    mlflow.set_tracking_uri(tracking_uri(home))
    uri = f"models:/early-warning/{result.version}"
    local = mlflow.artifacts.download_artifacts(uri)
    example = mlflow.models.Model.load(local).load_input_example(local)
    column = str(example.columns[0])
    bad = example.astype(object)
    bad[column] = "twelve"
    with pytest.raises(Exception, match=f"column '{column}' must hold numbers"):
        mlflow.pyfunc.load_model(uri).predict(bad)


def test_mlflow_models_predict_scores_a_csv_of_integer_counts(
    trained: tuple[Path, TrainingResult], tmp_path: Path
) -> None:
    """``mlflow models predict`` (as docs/data-team.md shows it), run without the project."""
    import mlflow

    home, result = trained
    mlflow.set_tracking_uri(tracking_uri(home))
    uri = f"models:/early-warning/{result.version}"
    local = mlflow.artifacts.download_artifacts(uri)
    example = mlflow.models.Model.load(local).load_input_example(local)
    rows = pd.concat([example, example * 2], ignore_index=True).round().astype("int64")
    rows.to_csv(tmp_path / "people.csv", index=False)
    code = f"""
        import os, sys
        os.environ["MLFLOW_TRACKING_URI"] = {tracking_uri(home)!r}
        from mlflow.cli import cli
        cli(sys.argv[1:])
    """
    done = run_isolated(
        code, tmp_path, "models", "predict", "-m", uri, "-i", "people.csv", "-t", "csv",
        "-o", "scores.json", "--env-manager", "local",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    predictions = json.loads((tmp_path / "scores.json").read_text())["predictions"]
    assert len(predictions) == 2
    assert all(0.0 <= p["score"] <= 1.0 for p in predictions)
