"""Marking a record "not this person" in a real browser, and the data team finding and undoing it.

The ``page`` fixture enforces the app's CSP and fails on console errors;
axe-core checks the two new pages for WCAG 2.2 AA.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.review_ui.web.browser.conftest import LiveServer, describe_violations, run_axe, sign_in, sign_out

pytestmark = pytest.mark.browser


def test_a_caseworker_marks_a_record_and_the_data_team_undoes_it(page: Page, live: LiveServer) -> None:
    item = live.item("Northgate", 1)
    sign_in(page, "casey")
    page.goto(f"/items/{item}")
    page.get_by_role("link", name=re.compile(r"This record is not this person.*CC-N-2")).click()
    expect(page.get_by_role("heading", name="This record is not this person", level=1)).to_be_visible()

    # No reason: the error summary says what to fix and links to the field.
    page.get_by_role("button", name="Keep this record apart").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a reason")
    expect(page).to_have_title(re.compile(r"^Error: This record is not this person"))
    summary.get_by_role("link", name="Enter a reason").click()
    expect(page.get_by_label("Why is this record not this person?")).to_be_focused()

    page.get_by_label("Why is this record not this person?").fill("The contact centre record is her mother")
    page.get_by_role("button", name="Keep this record apart").click()
    expect(page).to_have_url(re.compile(rf"/items/{item}\?notice=record-marked"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("next nightly update")
    expect(page.get_by_text("Marked as not this person")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("This record is not this person"))).to_have_count(0)
    sign_out(page)

    sign_in(page, "ann")
    page.get_by_role("link", name="Records linked by people").click()
    expect(page.get_by_role("heading", name="Records linked by people", level=1)).to_be_visible()
    expect(page.get_by_text("The contact centre record is her mother")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Undo")).first.click()
    page.get_by_label("Why are you undoing it?").fill("Checked with the team: same person")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Undone")
    expect(page.get_by_text("Nothing is in use.")).to_be_visible()


def test_the_new_pages_meet_wcag_aa(axe_page: Page, live: LiveServer) -> None:
    item = live.item("Northgate", 0)
    sign_in(axe_page, "casey")
    for path in (f"/items/{item}", f"/items/{item}/not-this-person?source=contact_centre&reference=CC-N-1"):
        axe_page.goto(path)
        violations = run_axe(axe_page)
        assert not violations, describe_violations(violations)
    sign_out(axe_page)
    sign_in(axe_page, "ann")
    axe_page.goto("/linkage/constraints")
    violations = run_axe(axe_page)
    assert not violations, describe_violations(violations)
