"""Issues 21 and 20, "Done when", on a borough this project did not generate.

The extracts come from ``tests/support/independent_borough.py``, written from
DATA_CONTRACT.md alone (never from ``early_warning.synthetic``): Parquet with
timestamp dates, a housing export with its own headings and dd/mm/yyyy dates
declared in the council folder's mappings, a CRLF contact-centre CSV with a
byte-order mark and its columns in another order, optional columns missing,
names typed differently between systems, and a few bad rows. Everything runs
through the real command line (``early_warning.cli.main``) on the session's
Prefect server, with real SQLite queues and a real MLflow store.

Issue 21: after a clean night, a night with one extract cut in half, and a night
on stale extracts, are held (exit code 3), name the file and add nothing to the
queue; ``status`` names the last whole night and the held ones.

Issue 20: a council folder with a changed points table and its own model name:
the night before any model scores with that points table; ``train`` registers
under that name; the night after scores by the council's model and (a tree model
having no per-person breakdown) gives its reasons by the council's table; the newest version
scores its own input example 0-1 through pyfunc without the project; its
training run carries a dataset input and the git commit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from early_warning import exit_codes
from early_warning.cli import main
from early_warning.config import DEFAULTS_DIR
from tests.flows.test_held_nights import folder_digest
from tests.flows.test_nightly_flow import queue_dump, queue_rows, run_night
from tests.support.independent_borough import LOCALITIES, Borough, write_borough, write_council_folder
from tests.support.isolated_python import run_isolated

AS_OF = date(2026, 9, 14)
NIGHT = AS_OF.isoformat()
NEXT = (AS_OF + timedelta(days=1)).isoformat()
COUNCIL_MODEL = "hartwell-early-warning"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Hartwell:
    borough: Borough
    council: Path


@dataclass(frozen=True)
class Home:
    home: Path
    queue: str
    console: str


@pytest.fixture(scope="module")
def hartwell(tmp_path_factory: pytest.TempPathFactory) -> Hartwell:
    out = tmp_path_factory.mktemp("hartwell")
    borough = write_borough(out, residents=800, years=3, as_of=AS_OF, seed=7)
    return Hartwell(borough, write_council_folder(out / "council"))


def _night(
    extracts: Path, home: Path, night: str, queue: str, council: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    capsys.readouterr()
    code = run_night(extracts, home, night, queue=queue, options=("--config", str(council)))
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def clean(hartwell: Hartwell, tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A clean night on Hartwell's extracts: routed whole."""
    home = tmp_path_factory.mktemp("home")
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    code = run_night(
        hartwell.borough.extracts, home, NIGHT, queue=queue, options=("--config", str(hartwell.council))
    )
    assert code == exit_codes.ROUTED
    return Home(home, queue, "")


def test_a_clean_night_reads_every_export_and_quarantines_only_the_bad_rows(
    hartwell: Hartwell, clean: Home
) -> None:
    run = clean.home / "runs" / NIGHT
    report = json.loads((run / "ingest_report.json").read_text())
    for name, source in report["sources"].items():
        assert source["status"] == "ingested", (name, source.get("message"))
        for kind, file in source["files"].items():
            assert file["rows_read"] == file["accepted"] + file["quarantined"], (name, kind)
            expected = hartwell.borough.bad_rows.get(name, 0) if kind == "events" else 0
            assert file["quarantined"] == expected, (name, kind, file["quarantined_by_reason"])
    tax = report["sources"]["council_tax"]["files"]["events"]
    assert tax["format"] == "parquet"
    assert any("holds timestamps" in note for note in tax["notes"])
    rent = report["sources"]["housing_rent"]["files"]["events"]
    assert rent["columns_renamed"], "housing's own headings are mapped by the council's mappings.yaml"
    assert rent["date_formats"]["event_date"]["not a date"] == 1  # the 31st of February, and only it
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "routed"
    surfaced = pl.read_parquet(run / "surfaced.parquet")
    assert surfaced.height > 0
    assert set(surfaced["locality"]) <= set(LOCALITIES)
    assert {str(r["person_id"]) for r in queue_rows(clean.queue, "review_items")} == set(
        surfaced["person_id"]
    )


def _held(
    night: str, extracts: Path, clean: Home, council: Path, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """Run ``night`` on ``extracts``; check that it was held and published nothing. The HELD BY lines."""
    before_queue = queue_dump(clean.queue)
    before_night = folder_digest(clean.home / "runs" / NIGHT)
    code, out = _night(extracts, clean.home, night, clean.queue, council, capsys)
    assert code == exit_codes.HELD, out[-3000:]
    assert out.strip().splitlines()[-1].startswith("HELD: "), out[-2000:]
    assert "Nothing was sent to caseworkers" in out
    assert queue_dump(clean.queue) == before_queue, "a held night adds nothing to the queue"
    assert folder_digest(clean.home / "runs" / NIGHT) == before_night, "the whole night is untouched"
    assert not (clean.home / "runs" / night).exists()
    return [line.strip() for line in out.splitlines() if line.strip().startswith("HELD BY:")]


@pytest.fixture
def damaged(hartwell: Hartwell, tmp_path: Path) -> Path:
    copy = tmp_path / "extracts"
    shutil.copytree(hartwell.borough.extracts, copy)
    return copy


def test_a_crlf_file_cut_in_half_holds_the_night_and_names_the_file(
    hartwell: Hartwell, clean: Home, damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = damaged / "contact_centre" / "events.csv"
    data = events.read_bytes()
    events.write_bytes(data[: len(data) // 2])
    held = _held(NEXT, damaged, clean, hartwell.council, capsys)
    assert any(str(events) in line and "the previous whole night" in line for line in held), held


def test_a_parquet_file_cut_in_half_holds_the_night_and_names_the_file(
    hartwell: Hartwell, clean: Home, damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = damaged / "council_tax" / "events.parquet"
    data = events.read_bytes()
    events.write_bytes(data[: len(data) // 2])
    night = (AS_OF + timedelta(days=2)).isoformat()
    held = _held(night, damaged, clean, hartwell.council, capsys)
    assert any(str(events) in line and "not a readable Parquet file" in line for line in held), held


def test_stale_extracts_hold_the_night(
    hartwell: Hartwell, clean: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same extracts, a month on: nobody refreshed them."""
    night = (AS_OF + timedelta(days=30)).isoformat()
    held = _held(night, hartwell.borough.extracts, clean, hartwell.council, capsys)
    stale = [line for line in held if "stale" in line]
    assert any("council_tax/events.parquet" in line and "the limit is 7 days" in line for line in stale), held
    assert any("contact_centre/events.csv" in line for line in stale), held


@pytest.mark.xfail(
    strict=True,
    reason="known gap (flows/audit.py freshness): the newest event decides, so one mistyped future "
    "date - quarantined when the extract was taken, 40 days ahead - makes the same stale extract "
    "look fresh once the night passes it",
)
def test_stale_extracts_with_one_mistyped_future_date_still_hold_the_night(
    hartwell: Hartwell, clean: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"  # a copy: while the gap is open, this night is routed
    shutil.copytree(clean.home, home)
    copy = Home(home, f"sqlite:///{home / 'queue.sqlite3'}", "")
    night = (AS_OF + timedelta(days=42)).isoformat()
    held = _held(night, hartwell.borough.extracts, copy, hartwell.council, capsys)
    assert any("council_tax/events.parquet" in line and "stale" in line for line in held), held


def test_status_names_the_last_whole_night_and_the_held_ones(
    clean: Home, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    held = sorted(p.name for p in (clean.home / "runs" / ".held").iterdir())
    assert held, "run after the held nights above (pytest keeps a file's order)"
    monkeypatch.setenv("EARLY_WARNING_DATABASE_URL", clean.queue)
    capsys.readouterr()
    assert main(["status", "--home", str(clean.home)]) == exit_codes.ROUTED
    out = capsys.readouterr().out
    assert f"Last whole night: {NIGHT}" in out, out
    for night in held:
        assert any(line.strip().startswith(f"{night}: HELD") for line in out.splitlines()), out


# ------------------------------------------------------------------------------------------ issue 20


def _points_table() -> str:
    """The default points table with several services at once worth more (2.5 points, not 1.5)."""
    values = yaml.safe_load((DEFAULTS_DIR / "rules_score.yaml").read_text())
    (rule,) = [r for r in values["rules"] if r["feature"] == "distinct_services_90d"]
    assert rule["per_unit"]["points_each"] != 2.5
    rule["per_unit"]["points_each"] = 2.5
    return yaml.safe_dump(values)


@dataclass(frozen=True)
class Trained:
    home: Path
    queue: str
    council: Path
    rules_night: dict[str, object]
    train_console: str


@pytest.fixture(scope="module")
def trained(hartwell: Hartwell, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Hartwell's own points table and model name: a night by the table, then ``train``."""
    council = write_council_folder(
        tmp_path_factory.mktemp("council") / "hartwell",
        extra={
            "rules_score.yaml": _points_table(),
            "training.yaml": (
                f"registered_model_name: {COUNCIL_MODEL}\nexperiment_name: hartwell\n"
                "importance_repeats: 1\nimportance_max_rows: 2000\ngate: {bootstrap_resamples: 200, min_win_share: 0.9, seed: 0}\n"
            ),
        },
    )
    home = tmp_path_factory.mktemp("home")
    queue = f"sqlite:///{home / 'queue.sqlite3'}"
    options = ("--config", str(council))
    assert (
        run_night(hartwell.borough.extracts, home, NIGHT, queue=queue, options=options) == exit_codes.ROUTED
    )
    rules_night = json.loads((home / "runs" / NIGHT / "run_summary.json").read_text())
    args = ["train", "--extracts", str(hartwell.borough.extracts), "--as-of", NIGHT, "--home", str(home)]
    os.environ["EARLY_WARNING_DATABASE_URL"] = queue
    try:
        code = main([*args, "--config", str(council)])
    finally:
        os.environ.pop("EARLY_WARNING_DATABASE_URL", None)
    assert code == exit_codes.ROUTED
    return Trained(home, queue, council, rules_night, "")


def _versions(home: Path) -> list[object]:
    import mlflow

    from models.registry import tracking_uri

    client = mlflow.MlflowClient(tracking_uri(home))
    return sorted(client.search_model_versions(f"name='{COUNCIL_MODEL}'"), key=lambda v: int(v.version))


def test_the_night_before_any_model_scores_by_the_councils_points_table(trained: Trained) -> None:
    from models.rules_score import RulesScore, load_rules_table

    council_rules = RulesScore(load_rules_table(trained.council).model_dump())
    assert council_rules.version != RulesScore(load_rules_table().model_dump()).version
    named = f"rules score, council table {council_rules.version.removeprefix('rules-')}"
    assert trained.rules_night["score"]["scored_by"] == named  # type: ignore[index]


def test_train_registers_under_the_councils_name_with_a_dataset_input_and_the_git_commit(
    trained: Trained, hartwell: Hartwell
) -> None:
    import mlflow

    from models.provenance import extracts_fingerprint
    from models.registry import tracking_uri

    versions = _versions(trained.home)
    assert versions, f"nothing registered under {COUNCIL_MODEL}"
    client = mlflow.MlflowClient(tracking_uri(trained.home))
    run = client.get_run(versions[-1].run_id)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert run.data.tags["mlflow.source.git.commit"] == commit.stdout.strip()
    inputs = run.inputs.dataset_inputs
    assert inputs, "the training run carries the extracts as a dataset input"
    digest = extracts_fingerprint(hartwell.borough.extracts)
    (extracts,) = [i for i in inputs if i.dataset.name == "extracts"]
    assert extracts.dataset.digest == digest[:36]  # as much as MLflow's store keeps
    assert {t.key: t.value for t in extracts.tags}["data.fingerprint"] == digest
    dataset = extracts.dataset
    assert str(hartwell.borough.extracts.resolve()) in dataset.source
    # The council's own points table is what training compared the model with.
    logged = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id,
        artifact_path="config/rules_score.yaml",
        tracking_uri=tracking_uri(trained.home),
    )
    assert yaml.safe_load(Path(logged).read_text()) == yaml.safe_load(
        (trained.council / "rules_score.yaml").read_text()
    )


def test_the_night_after_training_uses_the_councils_model(
    trained: Trained, hartwell: Hartwell, capsys: pytest.CaptureFixture[str]
) -> None:
    """The newest version, made champion by the data team if the gate kept the rules score,
    is what the next night loads by the council's model name."""
    newest = _versions(trained.home)[-1]
    if "champion" not in newest.aliases:
        os.environ["EARLY_WARNING_DATABASE_URL"] = trained.queue
        try:
            promote = [
                "models",
                "promote",
                str(newest.version),
                "--reason",
                "acceptance: Hartwell's own model",
            ]
            assert main([*promote, "--home", str(trained.home), "--config", str(trained.council)]) == 0
        finally:
            os.environ.pop("EARLY_WARNING_DATABASE_URL", None)
    code, out = _night(hartwell.borough.extracts, trained.home, NEXT, trained.queue, trained.council, capsys)
    assert code == exit_codes.ROUTED, out[-3000:]
    run = trained.home / "runs" / NEXT
    summary = json.loads((run / "run_summary.json").read_text())
    named = f"model {COUNCIL_MODEL} version {newest.version}, MLflow run {newest.run_id}"
    assert summary["score"]["scored_by"] == named
    assert summary["score"]["model_name"] == COUNCIL_MODEL
    assert set(pl.read_parquet(run / "scores.parquet")["scorer"]) == {named}
    surfaced = pl.read_parquet(run / "surfaced.parquet")
    assert set(surfaced["scorer"]) <= {named}
    routed = {str(r["as_of"]) for r in queue_rows(trained.queue, "route_runs")}
    assert {NIGHT, NEXT} <= routed
    # The same night uses the council's points table too: a model with no per-person breakdown
    # (a tree, or the rules score itself) gives reasons by the council's table - 2.5 points a
    # service beyond the first, capped at 4.5, where the default table gives 1.5 and 3.
    import mlflow

    from models.registry import tracking_uri

    chosen = (
        mlflow.MlflowClient(tracking_uri(trained.home)).get_run(newest.run_id).data.params["chosen_model"]
    )
    if chosen != "logistic_regression":
        drivers = pl.read_parquet(run / "drivers.parquet").filter(
            pl.col("feature") == "distinct_services_90d"
        )
        assert drivers.height > 0
        assert set(drivers["weight"]) <= {2.5, 4.5}, drivers["weight"].value_counts()


def test_the_newest_version_scores_its_own_input_example_0_to_1_through_pyfunc(
    trained: Trained, tmp_path: Path
) -> None:
    from models.registry import tracking_uri

    code = f"""
        import json, sys
        import mlflow
        from mlflow.models import Model
        mlflow.set_tracking_uri(sys.argv[1])
        client = mlflow.MlflowClient()
        newest = max(client.search_model_versions("name='{COUNCIL_MODEL}'"), key=lambda v: int(v.version))
        uri = f"models:/{COUNCIL_MODEL}/{{newest.version}}"
        local = mlflow.artifacts.download_artifacts(uri)
        example = Model.load(local).load_input_example(local)
        scores = mlflow.pyfunc.load_model(uri).predict(example)
        print(json.dumps({{"version": newest.version, "rows": len(example), "scores": scores["score"].tolist()}}))
    """
    done = run_isolated(code, tmp_path, tracking_uri(trained.home))
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(out["version"]) == str(_versions(trained.home)[-1].version)
    assert out["rows"] >= 1
    assert len(out["scores"]) == out["rows"]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in out["scores"])
