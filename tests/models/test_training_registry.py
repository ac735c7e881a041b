"""Training end to end on a small generated borough, with the real MLflow registry (SQLite)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import polars as pl
import pytest
from trained_borough import REGISTRY_AS_OF, REGISTRY_SETTINGS

from early_warning.config import load_config
from models.registry import list_models, load_champion, promote_model
from models.training import AlreadyRegistered, TrainingResult, run_training

AS_OF = REGISTRY_AS_OF
CONFIG = load_config()
SETTINGS = REGISTRY_SETTINGS


@pytest.fixture(scope="module")
def borough(registry_borough: Path) -> Path:
    return registry_borough


@pytest.fixture(scope="module")
def trained(registry_trained: tuple) -> tuple[Path, TrainingResult, TrainingResult]:
    return registry_trained


def test_load_champion_is_none_when_nothing_is_registered(tmp_path: Path) -> None:
    assert load_champion(tmp_path, SETTINGS) is None
    assert list_models(tmp_path, SETTINGS) == []


def test_the_first_model_is_champion_only_if_the_gate_lets_it_through(trained: tuple) -> None:
    home, first, _ = trained
    assert first.version == "1"
    assert first.gate is not None
    assert first.alias == ("champion" if first.gate.passed else "challenger")
    assert first.reason.startswith(first.gate.sentence)
    loaded = load_champion(home, SETTINGS)
    assert (loaded is not None) == first.gate.passed
    from models.registry import scorer_in_use

    what, why = scorer_in_use(home, SETTINGS)
    if first.gate.passed:
        assert what.startswith("model early-warning version 1 (run ")
    else:
        assert "stays in use" in first.reason
        assert what == "the transparent rules score"
        assert why.startswith(
            "no learned model has passed the champion gate (latest, version 2: The learned model"
        )
    # Whatever the gate said, the registered pipeline scores the nightly table (it picks its own columns).
    import mlflow

    from features.person_features import build_person_features
    from models.registry import tracking_uri

    mlflow.set_tracking_uri(tracking_uri(home))
    model = mlflow.pyfunc.load_model("models:/early-warning/1").unwrap_python_model().pipeline
    run = home / "training" / "runs" / AS_OF.isoformat()
    features = build_person_features(
        pl.scan_parquet(run / "canonical" / "events.parquet"),
        pl.scan_parquet(run / "persons.parquet"),
        AS_OF,
        CONFIG,
    ).collect()
    proba = model.predict_proba(features.with_columns(pl.lit(1).alias("household_size")).to_pandas())
    assert proba.shape == (features.height, 2)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_every_metric_is_reported_for_models_and_naive_baselines_on_the_report_period(trained: tuple) -> None:
    _, first, _ = trained
    assert set(first.report) == {
        "rules_score", "logistic_regression", "gradient_boosting", "baseline_most_contacts",
        "baseline_most_distinct_services", "baseline_highest_arrears_below_threshold",
    }  # fmt: skip
    for metrics in first.report.values():
        assert {"precision_at_capacity", "recall_at_capacity", "fairness_gap"} <= set(metrics)
    assert {"brier", "expected_calibration_error"} <= set(first.report["logistic_regression"])
    assert first.rows["report_rows"] > 0
    assert first.rows["train_rows"] > first.rows["middle_rows"] > 0
    assert max(first.split.train) < min(first.split.middle)
    assert max(first.split.middle) < min(first.split.report)


def test_a_model_that_is_not_better_becomes_challenger_with_the_reason(trained: tuple) -> None:
    home, first, second = trained
    assert (second.version, second.alias) == ("2", "challenger")
    versions = {row["version"]: row for row in list_models(home, SETTINGS)}
    assert versions["2"]["aliases"] == ["challenger"]
    if first.alias == "champion":
        # The same model again cannot be more precise than itself.
        assert "not more precise at capacity" in second.reason
        assert second.champion_before is not None
        assert second.champion_before["version"] == "1"
        assert versions["1"]["aliases"] == ["champion"]
    else:
        assert second.reason.endswith("the rules score stays in use.")
    assert versions["2"]["metrics"]["precision_at_capacity"] == pytest.approx(
        first.report[first.chosen_model]["precision_at_capacity"]
    )


def _personal_strings(borough: Path, home: Path) -> list[str]:
    run = home / "training" / "runs" / AS_OF.isoformat()
    people = pl.read_parquet(run / "canonical" / "people.parquet")
    persons = pl.read_parquet(run / "persons.parquet")
    values: set[str] = set(persons["person_id"]) | set(persons["source_person_id"])
    values |= {d.isoformat() for d in people["dob"].drop_nulls()}
    values |= {
        f"{first} {last}" for first, last in people.select("first_name", "last_name").drop_nulls().iter_rows()
    }
    for column in ("ni_number", "nhs_number", "phone", "email"):
        values |= set(people[column].drop_nulls())
    return sorted(v for v in values if len(v) >= 5)


def _logged_text(home: Path) -> list[tuple[str, str]]:
    from mlflow import MlflowClient

    from models.registry import tracking_uri

    client = MlflowClient(tracking_uri(home))
    texts = []
    for run in client.search_runs([e.experiment_id for e in client.search_experiments()]):
        texts.append(
            (f"run {run.info.run_id}", repr(run.data.params) + repr(run.data.metrics) + repr(run.data.tags))
        )
    for mv in client.search_model_versions("name='early-warning'"):
        texts.append((f"version {mv.version}", repr(mv.tags) + str(mv.description)))
    for path in (home / "mlflow" / "artifacts").rglob("*"):
        if path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                texts += [(f"{path}:{n}", archive.read(n).decode("latin-1")) for n in archive.namelist()]
        elif path.is_file():
            texts.append((str(path), path.read_bytes().decode("latin-1")))
    return texts


def _leaks(secrets: list[str], text: str) -> list[str]:
    """Secrets found in text: whole tokens for single words, substrings for spaced values."""
    lowered = text.lower()
    tokens = {t.strip(".-'") for t in re.findall(r"[\w@.+'-]+", lowered)}
    found = []
    for secret in secrets:
        s = secret.lower()
        if (" " in s and s in lowered) or (" " not in s and s in tokens):
            found.append(secret)
    return found


def test_nothing_personal_is_logged(trained: tuple, borough: Path) -> None:
    home, _, _ = trained
    secrets = _personal_strings(borough, home)
    assert len(secrets) > 1000
    logged = _logged_text(home)
    assert any("model_card.md" in name for name, _ in logged)
    assert _leaks(secrets, "summary for " + secrets[0] + ".")  # the scan itself finds a planted value
    leaks = [(name, found) for name, text in logged for found in [_leaks(secrets, text)] if found]
    assert leaks == []


def test_promote_moves_the_champion_alias(trained: tuple) -> None:
    home, _, _ = trained
    with pytest.raises(ValueError, match="no version 9"):
        promote_model(home, 9, SETTINGS, reason="test", by="tester")
    with pytest.raises(ValueError, match="needs a reason"):
        promote_model(home, "2", SETTINGS, reason="  ", by="tester")
    promote_model(home, "2", SETTINGS, reason="compared in MLflow", by="tester")
    versions = {row["version"]: row for row in list_models(home, SETTINGS)}
    assert versions["2"]["aliases"] == ["champion"]
    assert versions["1"]["aliases"] == []
    loaded = load_champion(home, SETTINGS)
    assert loaded is not None
    assert loaded[1] == "2"


def test_logged_fairness_tables_suppress_small_cells_and_gaps_are_finite(trained: tuple) -> None:
    home, first, second = trained
    tables = list((home / "mlflow" / "artifacts").rglob("fairness_report.csv"))
    assert len(tables) == 2
    for path in tables:
        logged = pl.read_csv(path, infer_schema=False)
        for column in (
            "people",
            "positive_people",
            "cohort_rows",
            "surfaced",
            "positives",
            "surfaced_positives",
        ):
            assert all(v in ("0", "<10") or int(v) >= 10 for v in logged[column].to_list()), (path, column)
    for result in (first, second):
        for metrics in result.report.values():
            assert 1.0 <= metrics["fairness_gap"] < float("inf")
        assert result.fairness is not None
        assert result.fairness.schema["people"] == pl.String  # the published form


def test_an_identical_retrain_is_not_registered_again(trained: tuple, borough: Path) -> None:
    home, first, _ = trained
    persons = pl.read_parquet(home / "training" / "runs" / AS_OF.isoformat() / "persons.parquet")
    with pytest.raises(
        AlreadyRegistered, match="Version 1 of early-warning was trained on the same"
    ) as caught:
        run_training(borough / "extracts", AS_OF, home, CONFIG, settings=SETTINGS, persons=persons)
    assert caught.value.version == first.version
    assert [row["version"] for row in list_models(home, SETTINGS)] == ["1", "2"]


def _client(home: Path):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    from models.registry import tracking_uri

    return MlflowClient(tracking_uri(home))


def test_every_run_carries_its_provenance(trained: tuple, borough: Path) -> None:
    from models.provenance import extracts_fingerprint

    home, first, second = trained
    client = _client(home)
    runs = {
        r.info.run_id: r for r in client.search_runs([e.experiment_id for e in client.search_experiments()])
    }
    one, two = runs[first.run_id], runs[second.run_id]
    # Names tell the runs apart: family, data period, configuration and data fingerprints.
    pattern = r"^(logistic_regression|gradient_boosting) \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d cfg [0-9a-f]{8} data [0-9a-f]{6}$"
    assert re.match(pattern, one.info.run_name), one.info.run_name
    assert one.info.run_name != two.info.run_name
    assert one.data.tags["config.fingerprint"] != two.data.tags["config.fingerprint"]
    # Each hyper-parameter its own param, for both learned families.
    assert {"logistic_regression.C", "gradient_boosting.learning_rate"} <= set(one.data.params)
    # Timings under their own keys.
    assert {"seconds.data", "seconds.fit", "seconds.evaluate"} <= set(one.data.metrics)
    assert not {"fit_seconds", "data_seconds"} & set(one.data.metrics)
    # The extracts as a dataset input: name, digest = the data fingerprint, source = the folder.
    fingerprint = extracts_fingerprint(borough / "extracts")
    inputs = one.inputs.dataset_inputs
    assert len(inputs) == 1
    dataset = inputs[0].dataset
    assert (dataset.name, dataset.digest) == ("extracts", fingerprint[:36])
    assert str((borough / "extracts").resolve()) in dataset.source
    assert {t.key: t.value for t in inputs[0].tags}["data.fingerprint"] == fingerprint
    # The code and the configuration files, with their fingerprint.
    assert one.data.tags["code.version"] == "0.1.0"
    assert len(one.data.tags["mlflow.source.git.commit"]) == 40
    assert re.fullmatch(r"[0-9a-f]{16}", one.data.tags["config.files.fingerprint"])
    logged = {a.path for a in client.list_artifacts(first.run_id, "config")}
    assert {
        "config/training.yaml",
        "config/rules_score.yaml",
        "config/linkage.yaml",
        "config/thresholds.yaml",
    } <= logged
    # Version tags agree with the run's.
    version = client.get_model_version("early-warning", first.version)
    assert version.tags["data.fingerprint"] == one.data.tags["data.fingerprint"]
    assert version.tags["config.fingerprint"] == one.data.tags["config.fingerprint"]


def test_the_same_metric_keys_for_every_scorer_and_the_plots_a_reviewer_expects(trained: tuple) -> None:
    home, first, second = trained
    client = _client(home)
    children = client.search_runs(
        [client.get_run(first.run_id).info.experiment_id],
        f"tags.mlflow.parentRunId = '{first.run_id}' and tags.`run.kind` = 'scorer'",
    )
    scorers = {r.data.tags["scorer"]: r.data.metrics for r in children}
    assert set(scorers) == set(first.report)
    for name, metrics in scorers.items():
        assert metrics["precision_at_capacity"] == pytest.approx(first.report[name]["precision_at_capacity"])
        assert {"recall_at_capacity", "pr_auc", "fairness_gap"} <= set(metrics)
    if second.champion_before is not None and "metrics" in second.champion_before:
        later = client.search_runs(
            [client.get_run(second.run_id).info.experiment_id],
            f"tags.mlflow.parentRunId = '{second.run_id}' and tags.`run.kind` = 'scorer'",
        )
        assert "champion v1" in {r.data.tags["scorer"] for r in later}
    artefacts = {a.path for a in client.list_artifacts(first.run_id)}
    assert {
        "confusion_at_capacity_report.png",
        "permutation_importance.png",
        "precision_recall_report.png",
    } <= artefacts
    confusion = pl.read_csv(next((home / "mlflow" / "artifacts").rglob("confusion_at_capacity_report.csv")))
    assert confusion["rows"].sum() == first.rows["report_rows"]
    # The model card is attached to the version and names its own version.
    version = client.get_model_version("early-warning", first.version)
    assert f"(version {first.version})" in version.description
    card = client.download_artifacts(first.run_id, "model_card.md")
    assert f"(version {first.version})" in Path(card).read_text()


def test_promotions_and_rollbacks_are_appended_never_overwritten(trained: tuple) -> None:
    from models.registry import alias_history

    home, first, second = trained
    client = _client(home)
    gate_decision = {v: client.get_model_version("early-warning", v).tags["decision"] for v in ("1", "2")}
    before = alias_history(home, SETTINGS)
    assert before[0]["action"] == "registered"
    assert before[0]["by"].startswith("champion gate (training run ")
    holder = next(
        (
            v
            for v, a in ((r["version"], r["aliases"]) for r in list_models(home, SETTINGS))
            if "champion" in a
        ),
        None,
    )
    target = "2" if holder != "2" else "1"
    promote_model(home, target, SETTINGS, reason="compared the lists with the team", by="analyst.one")
    back = "1" if target == "2" else "2"
    promote_model(home, back, SETTINGS, reason="the March list was worse: going back", by="analyst.two")
    confirmed = promote_model(home, back, SETTINGS, reason="checked again after a month", by="analyst.three")
    assert confirmed["action"] == "confirmed"
    events = alias_history(home, SETTINGS)
    assert events[: len(before)] == before  # nothing earlier rewritten
    added = [e for e in events[len(before) :] if e["alias"] == "champion"]
    assert [(e["version"], e["by"], e["change"]) for e in added] == [
        (target, "analyst.one", "set"),
        (back, "analyst.two", "set"),
        (back, "analyst.three", "confirmed"),
    ]
    assert added[1]["reason"] == "the March list was worse: going back"
    assert added[1]["action"] == ("rolled back" if int(back) < int(target) else "promoted")
    # The gate's own decision stays on each version.
    assert {
        v: client.get_model_version("early-warning", v).tags["decision"] for v in ("1", "2")
    } == gate_decision
