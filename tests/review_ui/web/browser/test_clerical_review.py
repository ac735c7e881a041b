"""Clerical review in a real browser: an analyst labels a pair, changes the answer, and
the page passes axe-core's WCAG 2.2 AA checks."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from review_ui.store.clerical import ClericalLabel
from tests.review_ui.web.browser.conftest import LiveServer, run_axe, sign_in
from tests.support.clerical import store_sample

pytestmark = pytest.mark.browser

NIGHT = date(2026, 6, 30)


@pytest.fixture(scope="module", autouse=True)
def _sample(live: LiveServer) -> None:
    with live.app.state.session_factory() as db:
        store_sample(db, NIGHT)


def test_an_analyst_labels_a_pair_and_changes_the_answer(page: Page, live: LiveServer) -> None:
    sign_in(page, "ann")
    page.get_by_role("link", name="Clerical review").first.click()
    expect(page.get_by_role("heading", name="Clerical review", level=1)).to_be_visible()
    page.get_by_role("link", name=f"Label pairs for {NIGHT}").click()
    expect(page.get_by_role("heading", name="Are these records the same person?", level=1)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("^First name"))).to_be_visible()

    page.get_by_role("button", name="Save and show the next pair").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select whether these records are the same person"
    )

    page.get_by_role("radio", name="Not the same person").check()
    page.get_by_role("button", name="Save and show the next pair").click()
    expect(page).to_have_url(re.compile(r"/clerical/2026-06-30/next\?previous=\d+$"))
    page.get_by_role("link", name="Change your answer for the pair you just labelled").click()
    expect(page.get_by_role("radio", name="Not the same person")).to_be_checked()
    page.get_by_role("radio", name="Can't tell").check()
    page.get_by_role("button", name="Save and show the next pair").click()
    expect(page.get_by_role("heading", name="Are these records the same person?", level=1)).to_be_visible()

    with live.app.state.session_factory() as db:
        labels = [row.label for row in db.scalars(select(ClericalLabel).order_by(ClericalLabel.id))]
    assert labels == ["different", "cant_tell"]


def test_the_clerical_pages_pass_accessibility_checks(axe_page: Page, live: LiveServer) -> None:
    sign_in(axe_page, "ann")
    for path in ("/clerical", f"/clerical/{NIGHT}/next"):
        axe_page.goto(path)
        assert run_axe(axe_page) == [], path
