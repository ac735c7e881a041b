"""Scores go to a human review queue and nowhere else (DESIGN.md principle 1,
UK GDPR Article 22). These tests fail if a change adds a way out: an export
command, a write from scoring code, an enforcement word in the queue, or a
status change that is not a reviewer's."""

from __future__ import annotations

import ast
import inspect
import re
import tomllib
from pathlib import Path

import pytest

from early_warning.cli import build_parser
from review_ui.store import Outcome
from review_ui.store.tables import ItemStatus

ROOT = Path(__file__).parents[2]
PACKAGES = ("early_warning", "features", "models", "flows", "review_ui")
ENFORCEMENT_WORDS = re.compile(
    r"summons|liability|enforce|bailiff|evict|possession|nosp|sanction|penalt|prosecut|letter|notice",
    re.IGNORECASE,
)
ALLOWED_COMMANDS = {
    "generate",
    "nightly",
    "schedule",
    "config-check",
    "demo",
    "train",
    "models",
    "serve",
    "users",
    "bench",
    # Reviewed: serves MLflow's UI on the project's store, which holds aggregate metrics,
    # plots, model cards and the models - no person's score (tests/models/
    # test_training_registry.py::test_nothing_personal_is_logged); loopback by default.
    "mlflow",
    # Reviewed: `audit verify` reads the audit log's hash chain and prints a count and, when
    # broken, an entry id - no score, no person, nothing written.
    "audit",
    # Reviewed: `release NIGHT --reason` runs the nightly flow's remaining stages on a night
    # its checks held, so its list goes where every night's goes - the review queue and
    # nowhere else - after recording who released it and why in the audit log.
    "release",
    # Reviewed: `status` only reads - the night's summaries, each source's newest record date and
    # row counts, a count of open queue items, disk used - and prints counts and dates: no
    # score, no person, nothing written.
    "status",
}


def _python_files(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def test_no_command_exports_scores_or_acts_on_anyone() -> None:
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert commands <= ALLOWED_COMMANDS, f"a new command needs a safety review: {commands - ALLOWED_COMMANDS}"
    for name in commands:
        assert not re.search(r"export|send|notify|enforce|letter", name)


def test_outcomes_are_about_help_never_sanction() -> None:
    outcomes = {o.value for o in Outcome}
    assert outcomes == {"help_offered", "already_supported", "no_help_needed", "could_not_reach", "declined"}
    for word in outcomes | {s.value for s in ItemStatus}:
        assert not ENFORCEMENT_WORDS.search(word)


WRITE_CALLS = {
    "write_parquet",
    "write_csv",
    "to_csv",
    "to_parquet",
    "sink_parquet",
    "sink_csv",
    "write_text",
    "write_bytes",
    "execute",
    "commit",
    "urlopen",
    "post",
    "put",
}


def _writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in WRITE_CALLS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


@pytest.mark.parametrize(
    "module", ["models/scoring.py", "models/rules_score.py", "models/reasons.py", "models/thresholds.py"]
)
def test_scoring_code_writes_nothing_anywhere(module: str) -> None:
    assert _writes(ROOT / module) == [], "scoring is pure: the flow decides where its result goes"


def test_the_only_stage_that_writes_to_the_queue_is_route() -> None:
    from flows import route

    queue_writers = [
        name
        for name, fn in inspect.getmembers(route, inspect.isfunction)
        if fn.__module__ == route.__name__ and "route_night(" in inspect.getsource(fn)
    ]
    assert queue_writers == ["route_stage"]


def test_no_module_of_the_flow_but_the_route_stage_names_the_review_app() -> None:
    # The import contract lists modules by name; this also catches a module added to flows later.
    naming = sorted(
        p.name
        for p in (ROOT / "flows").rglob("*.py")
        if re.search(r"^\s*(from|import) review_ui", p.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert naming == ["route.py"]


def test_the_queue_contract_covers_every_module_of_the_flow_but_the_route_stage() -> None:
    # import-linter treats a listed package as the package and all its modules, so listing
    # flows.stages covers flows.stages.score and the rest; a new module or package of flows
    # must be listed too, or the contract would not see it.
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    queue = next(c for c in contracts["contracts"] if c["name"].startswith("only the route stage"))
    assert queue["forbidden_modules"] == ["review_ui"]
    assert queue.get("as_packages", True)
    flows = ROOT / "flows"
    present = {f"flows.{p.stem}" for p in flows.glob("*.py") if p.stem != "__init__"} | {
        f"flows.{p.parent.name}" for p in flows.glob("*/__init__.py")
    }
    assert set(queue["source_modules"]) == present - {"flows.route"}


@pytest.mark.parametrize("path", ["review_ui/routing.py", "review_ui/queue/plan.py"])
def test_routing_never_closes_or_claims_an_item(path: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert "ItemStatus.CLOSED" not in source.replace("== ItemStatus.CLOSED", "")
    assert "ItemStatus.IN_REVIEW" not in source
    assert "outcome=" not in source


def test_no_code_names_an_enforcement_action_outside_the_vocabulary_and_labels() -> None:
    """Enforcement event types may appear only where they are read as evidence or labels."""
    allowed = {
        "early_warning/config",
        "early_warning/synthetic",
        "models/labels.py",
        "models/thresholds.py",
        "models/_reason_wording.py",
        "models/_reason_sentences.py",
        "models/evaluation.py",
        "models/model_card.py",
        "features/person_features",
    }
    offenders = []
    for path in _python_files(*PACKAGES):
        rel = str(path.relative_to(ROOT))
        if any(rel.startswith(a) for a in allowed):
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(
                r"\b(summons|liability_order|enforcement_agent_referral|nosp_served|possession_order|eviction)\b",
                line,
            ):
                offenders.append(f"{rel}:{lineno}: {line.strip()}")
    assert offenders == []
