"""docs/operations.md stays true: a runbook for every exit code and every check, and the
Prefect automation it ships is one Prefect accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from early_warning import exit_codes

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()


def test_every_exit_code_has_a_runbook_with_its_number() -> None:
    codes = {name: value for name, value in vars(exit_codes).items() if name.isupper()}
    headings = dict(re.findall(r"^### (\d) — (.+)$", DOC, flags=re.MULTILINE))
    assert {int(number) for number in headings} == set(codes.values())
    for name, value in codes.items():
        assert headings[str(value)].replace(" ", "_").upper() == name


def test_every_check_kind_has_a_row() -> None:
    rows = re.findall(r"^\| (present|non-empty|header|rows band|freshness|quarantined share) \|", DOC, re.M)
    assert sorted(rows) == sorted(
        ["present", "non-empty", "header", "rows band", "freshness", "quarantined share"]
    )


def test_every_gazetteer_check_has_a_row() -> None:
    """flows/audit.py checks the gazetteer too (present, not empty, rows, localities)."""
    rows = re.findall(r"^\| gazetteer (present, not empty|rows|localities) \|", DOC, re.M)
    assert sorted(rows) == ["localities", "present, not empty", "rows"]


def test_the_shipped_automation_is_one_prefect_accepts() -> None:
    from prefect.events.schemas.automations import AutomationCore

    automation = AutomationCore.model_validate(
        yaml.safe_load((ROOT / "docs" / "alerts" / "night-not-routed.yaml").read_text())
    )
    assert {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"} <= automation.trigger.expect  # type: ignore[union-attr]
    assert "alerts/night-not-routed.yaml" in DOC
