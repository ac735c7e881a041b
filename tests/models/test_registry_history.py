"""Registry history and the pyfunc model, fast: two small real pipelines in a real MLflow registry.

The slow end-to-end versions (a trained borough) are in ``test_training_registry`` and
``test_registered_model_anywhere``; these pin the rules on versions made in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from test_registered_model_anywhere import run_isolated

from models.pipelines import logistic_regression
from models.registry import (
    alias_history,
    list_models,
    load_champion,
    promote_model,
    start_training_run,
    tracking_uri,
)
from models.training_settings import load_training_settings

SETTINGS = load_training_settings()
COLUMNS = ["arrears_now", "signals_365d"]


def _pipeline(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"arrears_now": rng.normal(0, 500, 400), "signals_365d": rng.integers(0, 9, 400)})
    y = (x["signals_365d"] + rng.normal(0, 2, 400) > 5).astype(int).to_numpy()
    return logistic_regression(COLUMNS).fit(x, y), x


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    for seed, alias in ((1, "champion"), (2, "challenger")):
        model, x = _pipeline(seed)
        with start_training_run(home, SETTINGS, run_name=f"small {seed}") as run:
            version = run.register_model(model, x.head(2), f"small model {seed}")
            run.set_alias(alias, version, f"gate said {alias}")
    return home


def test_the_pyfunc_model_scores_0_to_1_with_integer_columns_and_no_project(
    registry: Path, tmp_path: Path
) -> None:
    model, x = _pipeline(1)
    rows = x.head(5).assign(arrears_now=lambda f: f["arrears_now"].round().astype("int64"))
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code = """
        import json, sys
        import mlflow, pandas as pd
        mlflow.set_tracking_uri(sys.argv[1])
        rows = pd.read_csv('rows.csv')
        assert str(rows['arrears_now'].dtype) == 'int64'
        scores = mlflow.pyfunc.load_model('models:/early-warning/1').predict(rows)
        print(json.dumps({'scores': scores['score'].tolist(), 'dtype': str(scores['score'].dtype),
                          'loaded': sorted(m for m in sys.modules if m.split('.')[0] in ('models', 'features'))}))
    """
    done = run_isolated(code, tmp_path, tracking_uri(registry))
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    assert out["dtype"] == "float64"
    expected = model.predict_proba(pd.read_csv(tmp_path / "rows.csv"))[:, 1]
    assert out["scores"] == pytest.approx(expected)
    assert all(0 < s < 1 for s in out["scores"])
    # The night loads the very same pipeline.
    champion = load_champion(registry, SETTINGS)
    assert champion is not None
    assert champion.model.predict_proba(rows)[:, 1] == pytest.approx(expected)


def test_every_alias_change_is_appended_and_the_gates_decision_stays(registry: Path) -> None:
    history = alias_history(registry, SETTINGS)
    assert [(e["alias"], e["version"], e["action"]) for e in history] == [
        ("champion", "1", "registered"),
        ("challenger", "2", "registered"),
    ]
    assert history[0]["by"].startswith("champion gate (training run ")
    promoted = promote_model(registry, "2", SETTINGS, reason="finds more on the March lists", by="ana")
    assert (promoted["action"], promoted["previous"]) == ("promoted", "1")
    back = promote_model(registry, "1", SETTINGS, reason="harder to act on; back to v1", by="bo")
    assert (back["action"], back["previous"]) == ("rolled back", "2")
    same = promote_model(registry, "1", SETTINGS, reason="checked again", by="cy")
    assert same["action"] == "confirmed"
    with pytest.raises(ValueError, match="needs a reason"):
        promote_model(registry, "2", SETTINGS, reason=" ", by="cy")
    events = alias_history(registry, SETTINGS)
    assert events[:2] == history
    assert [(e["alias"], e["version"], e["change"], e["by"]) for e in events[2:]] == [
        ("champion", "2", "set", "ana"),
        ("challenger", "2", "removed", "ana"),
        ("champion", "1", "set", "bo"),
        ("champion", "1", "confirmed", "cy"),
    ]
    assert events[4]["replaced"] == "2"
    assert events[4]["reason"] == "harder to act on; back to v1"
    rows = {row["version"]: row for row in list_models(registry, SETTINGS)}
    assert (rows["1"]["decision"], rows["2"]["decision"]) == ("champion", "challenger")  # the gate's, kept
    assert rows["1"]["aliases"] == ["champion"]
    assert rows["2"]["aliases"] == []


def test_the_confusion_matrix_at_capacity_counts_every_row() -> None:
    from models.labels import LABEL
    from models.plots import confusion_at_capacity

    rows = pl.DataFrame({"surfaced": [True, True, False, False, False], LABEL: [1, 0, 1, 0, 0]})
    counts = {(s, lab): n for s, lab, n in confusion_at_capacity(rows).iter_rows()}
    assert counts == {(True, True): 1, (True, False): 1, (False, True): 1, (False, False): 2}


def test_the_command_line_promotes_audits_and_prints_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from early_warning.cli import main
    from review_ui.store import queue_database_url
    from review_ui.store.audit import AuditAction, verify_audit_chain
    from review_ui.store.tables import AuditEntry
    from review_ui.web.accounts import _session

    home = tmp_path / "home"
    for seed in (1, 2):
        model, x = _pipeline(seed)
        with start_training_run(home, SETTINGS, run_name=f"small {seed}") as run:
            version = run.register_model(model, x.head(2), f"small model {seed}")
            run.set_alias("challenger", version, "gate said challenger")
    assert main(["models", "promote", "2", "--home", str(home)]) == 2  # no reason
    assert "--reason TEXT" in capsys.readouterr().err
    assert (
        main(["models", "promote", "2", "--reason", "better lists", "--by", "ana", "--home", str(home)]) == 0
    )
    assert "Version 2 is now the champion: promoted by ana" in capsys.readouterr().out
    assert main(["models", "promote", "1", "--reason", "back to v1", "--by", "bo", "--home", str(home)]) == 0
    assert "(was version 2): rolled back by bo" in capsys.readouterr().out
    with _session(queue_database_url(home)) as db:
        entries = db.query(AuditEntry).filter(AuditEntry.action == AuditAction.MODEL_ALIAS_MOVED).all()
        assert [(e.actor, e.detail["version"], e.detail["action"], e.detail["reason"]) for e in entries] == [
            ("ana", "2", "promoted", "better lists"),
            ("bo", "1", "rolled back", "back to v1"),
        ]
        assert verify_audit_chain(db).intact
    assert main(["models", "history", "--home", str(home)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "challenger -> v1  registered by champion gate (training run " in lines[0]
    assert "challenger -> v2 (replacing v1)  registered by champion gate" in lines[1]
    assert lines[2].endswith("champion   -> v2  promoted by ana: better lists")
    assert lines[3].endswith("challenger removed from v2  promoted by ana: became the champion")
    assert lines[4].endswith("champion   -> v1 (replacing v2)  rolled back by bo: back to v1")
