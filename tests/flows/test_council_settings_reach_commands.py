"""A council's configuration reaches every command that reads it (issue 20, item 1).

One table: for each configuration file, a setting a council would change in
it and the command that must honour it. Each row runs the real command on
the shared small borough with the council's ``--config`` folder and checks
the change took effect - not merely that the file was read: the night's
scores follow the council's points table, the night loads the council's own
registered model (real MLflow, in a temporary home), ``models list`` and
``models promote`` find it, and ``serve`` builds its app from the folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from early_warning.cli import build_parser, main
from tests.flows.conftest import AS_OF

COUNCIL_MODEL = "early-warning-eastborough"
COUNCIL_SALT = "eastborough-persons-2026"
#: Files of the council's folder: a points table on another scale, its own model name, one trusted
#: proxy, its own salt for person ids (linkage.yaml: what resolve_persons reads).
COUNCIL_FILES = {
    "rules_score.yaml": "scale:\n  midpoint: 2.5\n  spread: 0.75\n",
    # (importances on few rows: the train row checks who the persons are, not the plot)
    "training.yaml": f"registered_model_name: {COUNCIL_MODEL}\nimportance_repeats: 1\nimportance_max_rows: 500\n",
    "review_app.yaml": "trusted_proxies: ['10.1.2.3']\n",
    "linkage.yaml": f"person_id_salt: {COUNCIL_SALT}\n",
}


@dataclass(frozen=True)
class Council:
    folder: Path
    home: Path
    extracts: Path


@pytest.fixture(autouse=True)
def queue_under_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each home's review queue is SQLite under it."""
    from early_warning.settings import get_settings

    monkeypatch.delenv("EARLY_WARNING_DATABASE_URL", raising=False)
    monkeypatch.delenv("EARLY_WARNING_CONFIG", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def council(small_borough: Path, tmp_path_factory: pytest.TempPathFactory) -> Council:
    folder = tmp_path_factory.mktemp("council")
    for name, text in COUNCIL_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Council(folder, tmp_path_factory.mktemp("home"), small_borough / "extracts")


def _night(council: Council) -> dict[str, object]:
    args = ["nightly", "--extracts", str(council.extracts), "--as-of", AS_OF, "--home", str(council.home)]
    assert main([*args, "--config", str(council.folder), "--quiet"]) == 0
    summary = json.loads((council.home / "runs" / AS_OF / "run_summary.json").read_text())
    return dict(summary["score"])


def _register_champion(council: Council) -> tuple[str, str]:
    """A small model registered under the council's name and made champion; (version, run id)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from models.registry import start_training_run
    from models.training_settings import load_training_settings

    run = council.home / "runs" / AS_OF
    features = pl.read_parquet(run / "features.parquet")
    X = features.drop("person_id").to_pandas()
    y = (pl.read_parquet(run / "features.parquet")["distinct_services_90d"] >= 2).to_numpy()
    model = Pipeline(
        [
            ("impute", SimpleImputer(keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("fit", LogisticRegression(max_iter=2000)),
        ]
    )
    model.fit(X, y)
    settings = load_training_settings(council.folder)
    with start_training_run(council.home, settings, run_name="council-settings-test") as training:
        version = training.register_model(model, X.head(1), "a council's own model (test)")
        training.set_alias("champion", version, "test: the council's own champion")
        return version, training.run_id


def rules_table_scores_the_night(council: Council) -> None:
    """rules_score.yaml -> nightly: with no champion, the night scores by the council's table."""
    from models.rules_score import RulesScore, load_rules_table

    table = load_rules_table(council.folder)
    council_rules = RulesScore(table.model_dump())
    default_rules = RulesScore(load_rules_table().model_dump())
    assert council_rules.version != default_rules.version
    score = _night(council)
    fingerprint = council_rules.version.removeprefix("rules-")
    assert score["scored_by"] == f"rules score, council table {fingerprint}"
    run = council.home / "runs" / AS_OF
    scores = pl.read_parquet(run / "scores.parquet")
    assert set(scores["scorer"]) == {f"rules score, council table {fingerprint}"}
    assert set(scores["model_version"]) == {council_rules.version}
    # The very numbers the council's table gives, not the default table's.
    features = pl.read_parquet(run / "features.parquet").join(scores, on="person_id", how="semi")
    expected = council_rules.fit(features.drop("person_id")).predict_proba(features)[:, 1]
    got = features.select("person_id").join(scores, on="person_id", how="left")["score"].to_numpy()
    assert got == pytest.approx(expected, abs=1e-12)
    assert set(pl.read_parquet(run / "surfaced.parquet")["scorer"]) <= {scores["scorer"][0]}
    summary = (run / "run_summary.json").read_text()
    assert f"rules score, council table {fingerprint}" in summary


def model_name_is_the_one_the_night_loads(council: Council) -> None:
    """training.yaml's registered_model_name -> nightly: the night loads the council's champion."""
    version, run_id = _register_champion(council)
    score = _night(council)
    named = f"model {COUNCIL_MODEL} version {version}, MLflow run {run_id}"
    assert score["scored_by"] == named
    assert score["model_name"] == COUNCIL_MODEL
    assert score["scorer"] == f"model {COUNCIL_MODEL} version {version} (run {run_id})"
    run = council.home / "runs" / AS_OF
    assert set(pl.read_parquet(run / "scores.parquet")["scorer"]) == {named}
    surfaced = pl.read_parquet(run / "surfaced.parquet")
    assert surfaced.height > 0
    assert set(surfaced["scorer"]) == {named}


def model_name_is_the_one_models_lists_and_promotes(council: Council) -> None:
    """training.yaml's registered_model_name -> models list/promote: they find the council's model."""
    home = ["--home", str(council.home)]
    config = ["--config", str(council.folder)]
    # Without the council's folder the default name holds nothing ...
    assert main(["models", "promote", "1", "--reason", "test", *home]) == 2
    # ... with it, the council's model is listed and promoted.
    assert main(["models", "promote", "1", "--reason", "the council's model, checked", *home, *config]) == 0
    from models.registry import list_models
    from models.training_settings import load_training_settings

    rows = list_models(council.home, load_training_settings(council.folder))
    assert [row["aliases"] for row in rows] == [["champion"]]
    assert list_models(council.home, load_training_settings()) == []


def _salted_id(keys: list[tuple[str, str]], salt: str) -> str:
    from features.linkage.ids import _SEP, new_person_id

    return new_person_id([f"{source}{_SEP}{record}" for source, record in keys], salt)


def _ids_follow(persons: pl.DataFrame, salt: str) -> float:
    """The share of persons whose id is the one ``salt`` gives their records."""
    members = persons.group_by("person_id").agg("source", "source_person_id")
    same = [
        person_id == _salted_id(list(zip(sources, records, strict=True)), salt)
        for person_id, sources, records in members.iter_rows()
    ]
    return sum(same) / len(same)


def linkage_salt_names_the_nights_persons(council: Council) -> None:
    """linkage.yaml's person_id_salt -> nightly: resolve_persons ran with the council's linkage settings."""
    from features.linkage.settings import load_linkage_settings

    if not (council.home / "runs" / AS_OF / "persons.parquet").exists():
        _night(council)
    persons = pl.read_parquet(council.home / "runs" / AS_OF / "persons.parquet")
    assert persons.height > 100
    assert _ids_follow(persons, COUNCIL_SALT) == 1.0
    assert _ids_follow(persons, load_linkage_settings().person_id_salt) == 0.0


def linkage_settings_and_the_queues_constraints_reach_training(council: Council) -> None:
    """linkage.yaml -> train, with the queue's "not the same person" statements, as the night reads them:
    a record a caseworker marked is its own person in training, under an id the council's salt gives."""
    from tests.flows.test_link_constraints_night import _mark_a_record

    queue = f"sqlite:///{council.home / 'review_queue.sqlite3'}"
    if not (council.home / "runs" / AS_OF / "persons.parquet").exists():
        _night(council)
    person_id, marked, others = _mark_a_record(queue)
    args = ["train", "--extracts", str(council.extracts), "--as-of", AS_OF, "--home", str(council.home)]
    # 0 (registered) or 1 (too few labels on so small a borough): either way persons were resolved first.
    assert main([*args, "--config", str(council.folder)]) in (0, 1)
    (found,) = list((council.home / "training").rglob("persons.parquet"))
    persons = pl.read_parquet(found)

    def person_of(source: str, record: str) -> str:
        row = persons.filter((pl.col("source") == source) & (pl.col("source_person_id") == record))
        return str(row["person_id"].item())

    assert {person_of(o.source, o.record) for o in others} == {person_id}  # the night's id, kept
    apart = person_of(marked.source, marked.record)
    assert apart != person_id
    assert apart == _salted_id([(marked.source, marked.record)], COUNCIL_SALT)


ROWS: list[tuple[str, Callable[[Council], None]]] = [
    ("rules_score.yaml: points table -> nightly", rules_table_scores_the_night),
    ("linkage.yaml: person_id_salt -> nightly", linkage_salt_names_the_nights_persons),
    ("training.yaml: registered_model_name -> nightly", model_name_is_the_one_the_night_loads),
    ("training.yaml: registered_model_name -> models", model_name_is_the_one_models_lists_and_promotes),
    (
        "linkage.yaml and link constraints -> train",
        linkage_settings_and_the_queues_constraints_reach_training,
    ),
]
#: A whole `train` on a shared, loaded machine takes longer than the default limit.
SLOW = {"linkage.yaml and link constraints -> train"}


@pytest.mark.parametrize(
    ("setting", "check"),
    [pytest.param(*row, marks=[pytest.mark.timeout(2400)] if row[0] in SLOW else []) for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_a_councils_setting_reaches_the_command_that_reads_it(
    setting: str, check: Callable[[Council], None], council: Council
) -> None:
    """Rows run in order on one home: the night by the table, then by the council's model."""
    check(council)


def test_serve_builds_its_app_from_the_councils_folder(council: Council, tmp_path: Path) -> None:
    """review_app.yaml -> serve: --config reaches the app's settings (it wins over the environment)."""
    from early_warning.cli import _web_settings
    from review_ui.web.app import create_app

    args = build_parser().parse_args(["serve", "--home", str(tmp_path), "--config", str(council.folder)])
    settings = _web_settings(args)
    assert settings.config == council.folder
    app = create_app(settings)
    try:
        assert [str(p) for p in app.state.trusted_proxies] == ["10.1.2.3/32"]
    finally:
        app.state.engine.dispose()
