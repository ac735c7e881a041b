"""Every audit action is named once, described once, and never spelt out by hand."""

from __future__ import annotations

import ast
from pathlib import Path

from review_ui.store.audit import ACTION_DESCRIPTIONS, AuditAction
from review_ui.web.reports import describe

ROOT = Path(__file__).parents[2]


def test_every_action_has_a_plain_english_description() -> None:
    assert set(ACTION_DESCRIPTIONS) == set(AuditAction)
    assert all(text and text[0].isupper() and not text.endswith(".") for text in ACTION_DESCRIPTIONS.values())
    assert describe("clerical_label_recorded", {}) == "Labelled a pair of records"


def test_no_call_writes_an_action_as_a_bare_string() -> None:
    bare = []
    for path in (ROOT / "review_ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "append_audit":
                for keyword in node.keywords:
                    if keyword.arg == "action" and isinstance(keyword.value, ast.Constant | ast.JoinedStr):
                        bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []
