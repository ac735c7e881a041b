"""The data team's commands: `train` (with a small search), `models list`, `models promote`, `mlflow`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from early_warning.cli import main
from early_warning.synthetic import generate_borough
from models.training_settings import load_training_settings


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("borough")
    generate_borough(out, residents=3_000, years=3, as_of=date(2026, 3, 31), seed=4)
    return out


@pytest.fixture(scope="module")
def trained(borough: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    home = tmp_path_factory.mktemp("home")
    args = ["train", "--extracts", str(borough / "extracts"), "--as-of", "2026-03-31", "--home", str(home)]
    command = [sys.executable, "-m", "early_warning.cli", *args, "--search", "1"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=1800, check=False
    )  # a shared, loaded machine
    assert done.returncode == 0, done.stderr[-3000:]
    return home, done.stdout, done.stderr


def test_train_shows_progress_with_time_left_and_ends_with_one_plain_sentence(trained: tuple) -> None:
    _, out, err = trained
    assert "review outcomes read from the review queue" in err
    assert "resolving" in err
    assert "(Splink)" in err
    assert "snapshot 2 of" in err
    assert "left)" in err
    assert "the champion gate" in err
    sentence = next(line for line in out.splitlines() if line.startswith("The learned model ("))
    assert " at capacity, the rules score " in sentence
    assert sentence.endswith(("stays in use.", "so it becomes the champion."))
    assert "Registered version 1 as " in out


def test_models_list_shows_each_version_with_its_decision(
    trained: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    home, out, _ = trained
    capsys.readouterr()
    assert main(["models", "list", "--home", str(home)]) == 0
    listed = capsys.readouterr().out
    assert "v1 " in listed
    assert "precision_at_capacity" in listed
    if "becomes the champion" not in out:
        assert listed.startswith("No version is champion: the nightly run uses the transparent rules score.")


def test_the_run_records_what_made_it(trained: tuple, borough: Path) -> None:
    from flows.runtime import configure_runtime

    home, _, _ = trained
    configure_runtime(home)
    import mlflow

    from models.provenance import extracts_fingerprint

    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    tags, params = parent.data.tags, parent.data.params
    assert tags["data.fingerprint"] == extracts_fingerprint(borough / "extracts")
    assert tags["code.version"] == "0.1.0"
    assert len(tags["mlflow.source.git.commit"]) == 40
    assert "Crisis events are labels" in tags["labels"]
    assert params["labels_enforcement"] == "with_other_need"
    artefacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id)}
    assert {"features.json", "model_card.md"} <= artefacts


def test_the_search_is_logged_as_nested_runs(trained: tuple) -> None:
    from flows.runtime import configure_runtime

    home, _, _ = trained
    configure_runtime(home)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1
    trials = [r for r in children if r.data.tags.get("run.kind") == "trial"]
    assert len(trials) >= 2, "one trial per model family at least"
    for trial in trials:
        # Middle-period metrics under middle.*, never the parent's report-period keys.
        assert trial.data.metrics
        assert all(key.startswith("middle.") for key in trial.data.metrics), trial.data.metrics
    scorers = [r for r in children if r.data.tags.get("run.kind") == "scorer"]
    assert "precision_at_capacity" in scorers[0].data.metrics


def test_promoting_needs_a_reason_and_records_who_and_why(
    trained: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.registry import list_models, scorer_in_use

    home, _, _ = trained
    assert main(["models", "promote", "9", "--reason", "x", "--home", str(home)]) == 2
    assert "no version 9" in capsys.readouterr().err
    assert main(["models", "promote", "1", "--home", str(home)]) == 2
    assert "--reason TEXT" in capsys.readouterr().err
    reason = "Reviewed the March lists with the Northgate team: it finds people the rules score misses"
    assert main(["models", "promote", "1", "--reason", reason, "--by", "a.analyst", "--home", str(home)]) == 0
    row = list_models(home, load_training_settings())[0]
    assert row["aliases"] == ["champion"]
    assert row["promoted"].startswith("by a.analyst on ")
    assert row["promoted"].endswith(reason)
    assert row["reason"].startswith("The learned model (")  # the gate's own decision is kept
    what, why = scorer_in_use(home, load_training_settings())
    assert what.startswith("model early-warning version 1 (run ")
    assert "a.analyst" in why
    assert reason in why
    # The promotion is in the project's audit log, and in the printed history.
    from review_ui.store import queue_database_url
    from review_ui.store.audit import AuditAction, verify_audit_chain
    from review_ui.store.tables import AuditEntry
    from review_ui.web.accounts import _session

    with _session(queue_database_url(home)) as db:
        entries = db.query(AuditEntry).filter(AuditEntry.action == AuditAction.MODEL_ALIAS_MOVED).all()
        assert [(e.actor, e.detail["version"], e.detail["reason"]) for e in entries] == [
            ("a.analyst", "1", reason)
        ]
        assert verify_audit_chain(db).intact
    capsys.readouterr()
    assert main(["models", "history", "--home", str(home)]) == 0
    history = capsys.readouterr().out.splitlines()
    assert "registered by champion gate (training run " in history[0]
    # Promoted, or (when the gate had already made v1 champion) confirmed; a promoted
    # challenger's own alias leaves it in the same step, so that line may come last.
    champion = [
        line
        for line in history[1:]
        if re.search(r"champion   (-> v1|== v1 \(unchanged\))  (promoted|confirmed) by a\.analyst", line)
    ]
    assert len(champion) == 1, history
    assert f"by a.analyst: {reason}" in champion[0]
    assert all("a.analyst" in line for line in history[1:]), history


def test_an_identical_retrain_says_so_and_registers_nothing(trained: tuple, borough: Path) -> None:
    home, _, _ = trained
    args = ["train", "--extracts", str(borough / "extracts"), "--as-of", "2026-03-31", "--home", str(home)]
    done = subprocess.run(
        [sys.executable, "-m", "early_warning.cli", *args, "--search", "1"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        "Version 1 of early-warning was trained on the same extracts, review outcomes, configuration and code"
        in done.stdout
    )
    assert "Registered version" not in done.stdout


def test_models_list_with_nothing_registered_says_the_rules_score_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.registry import scorer_in_use

    assert main(["models", "list", "--home", str(tmp_path)]) == 0
    assert "transparent rules score" in capsys.readouterr().out
    assert scorer_in_use(tmp_path, load_training_settings()) == (
        "the transparent rules score",
        "no model has been trained",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_mlflow_opens_the_ui_on_the_projects_own_store(trained: tuple) -> None:
    home, _, _ = trained
    port = _free_port()
    command = [sys.executable, "-m", "early_warning.cli", "mlflow", "--home", str(home), "--port", str(port)]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "MLflow did not answer within 2 minutes"
            time.sleep(1)
        found = httpx.get(
            f"http://127.0.0.1:{port}/api/2.0/mlflow/registered-models/search", timeout=10
        ).json()
        assert [m["name"] for m in found["registered_models"]] == ["early-warning"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        server.stdout.close()  # type: ignore[union-attr]
