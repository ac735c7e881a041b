"""docs/security-asvs.md stays true: every test it names exists, every ASVS id is there.

The doc maps each OWASP ASVS 5.0 level 1/2 requirement to the test that
checks it. A renamed or deleted test would silently turn a row into a false
claim, and a dropped row would hide a requirement; both fail here. The
standard's ids come from ``docs/asvs-5.0-l2-ids.txt`` (extracted once from
the standard's text, which CI does not have).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "security-asvs.md"
IDS = ROOT / "docs" / "asvs-5.0-l2-ids.txt"

ROW = re.compile(r"^\| (\d+\.\d+\.\d+) \| (L[12]) (.*?) \| (.*?) \| (.*) \|$")
NODE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _rows() -> dict[str, tuple[str, str, str]]:
    """id -> (level, applies?, test or gap), from the doc's tables."""
    rows: dict[str, tuple[str, str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            requirement_id, level, _, applies, evidence = match.groups()
            assert requirement_id not in rows, f"{requirement_id} has two rows"
            rows[requirement_id] = (level, applies, evidence)
    return rows


def _standard() -> dict[str, str]:
    """id -> level, from the committed list."""
    lines = IDS.read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines if line and not line.startswith("#"))


@cache
def _test_functions(path: str) -> frozenset[str]:
    """The names of the test functions defined at the top level of a test file (or nothing)."""
    file = ROOT / path
    if not file.is_file():
        return frozenset()
    tree = ast.parse(file.read_text(encoding="utf-8"))
    return frozenset(
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def test_every_level_1_and_2_requirement_has_a_row_at_its_level() -> None:
    rows = _rows()
    standard = _standard()
    assert len(standard) > 200  # the committed list was read, not an empty file
    missing = sorted(set(standard) - set(rows))
    assert not missing, f"ASVS requirements missing from {DOC.name}: {missing}"
    extra = sorted(set(rows) - set(standard))
    assert not extra, f"rows for ids that are not level 1/2 ASVS 5.0 requirements: {extra}"
    wrong = sorted(i for i, (level, _, _) in rows.items() if level != standard[i])
    assert not wrong, f"rows with the wrong level: {wrong}"


def test_every_named_test_exists() -> None:
    named = NODE.findall(DOC.read_text(encoding="utf-8"))
    assert len(named) > 100
    missing = sorted({f"{path}::{name}" for path, name in named if name not in _test_functions(path)})
    assert not missing, f"{DOC.name} names tests that do not exist: {missing}"


def test_a_row_that_applies_names_a_test_or_a_gap_and_one_that_does_not_says_why() -> None:
    for requirement_id, (_, applies, evidence) in _rows().items():
        if applies.startswith("yes"):
            assert NODE.search(evidence) or "gap:" in evidence, f"{requirement_id}: no test and no gap"
        else:
            assert re.match(r"no: \S", applies), f"{requirement_id}: says neither yes nor 'no: why'"
            assert not NODE.search(evidence), f"{requirement_id}: does not apply yet names a test"
