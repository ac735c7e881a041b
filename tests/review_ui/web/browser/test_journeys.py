"""Whole journeys in a real browser, with the app's strict CSP in force.

- A caseworker signs in through the form, sees their list, claims an item
  with htmx (the row changes in place: the page is not reloaded), opens the
  person page, records an outcome with a note and sees the success banner;
  the administrator then finds the view and the outcome in the audit log.
- A team lead gives an item to a caseworker, who then finds it on their list.
- Without JavaScript, claiming still works (a plain form and a redirect).

Each page must log no console errors (so no CSP violations and no failed
scripts): the ``page`` fixture checks.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.review_ui.web.browser.conftest import TIMEOUT_MS, LiveServer, sign_in, sign_out

pytestmark = pytest.mark.browser

NOTE = "Rang them; they would like help with the council tax arrears. Booked a visit."


def test_a_caseworker_claims_reviews_and_records_an_outcome_and_the_audit_log_shows_it(
    page: Page, live: LiveServer
) -> None:
    item = live.item("Northgate", 0)
    sign_in(page, "casey")
    expect(page).to_have_url(re.compile(r"/queue$"))
    expect(page.get_by_role("heading", name="Review list", level=1)).to_be_visible()
    row = page.locator(f"#item-{item}")
    expect(row).to_contain_text("New")
    # Nothing of another locality is listed.
    for other in live.world.items["Riverside"] + live.world.items["unknown"]:
        expect(page.locator(f'a[href="/items/{other}"]')).to_have_count(0)

    # Claim with htmx: the row is swapped in place, the page is not reloaded.
    page.evaluate("window.__notReloaded = 'still here'")
    with page.expect_response(lambda r: r.url.endswith(f"/items/{item}/claim")) as claimed:
        row.get_by_role("button", name=f"Claim item {item}").click()
    assert claimed.value.status == 200
    assert claimed.value.request.headers.get("hx-request") == "true"
    expect(row).to_contain_text("In review")
    expect(row).to_contain_text("You")
    expect(row.get_by_role("button", name=f"Release item {item}")).to_be_visible()
    assert page.evaluate("window.__notReloaded") == "still here"
    expect(page).to_have_url(re.compile(r"/queue$"))

    # Open the person page and record what happened.
    row.get_by_role("link", name=f"Item {item}").click()
    expect(page.get_by_role("heading", name=f"Item {item}", level=1)).to_be_visible()
    expect(page.locator(".app-key-facts").get_by_text("Jamie Example")).to_be_visible()
    page.get_by_role("radio", name="Help offered").check()
    page.get_by_label("What matters to the person, and what happened").fill(NOTE)
    page.get_by_role("button", name="Record and close").click()
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(f"Outcome recorded for item {item}")
    expect(page).to_have_url(re.compile(r"/queue\?"))
    expect(page.locator(f"#item-{item}")).to_have_count(0)  # closed items leave the list

    sign_out(page)
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    # The administrator finds both in the audit log.
    sign_in(page, "ada")
    expect(page).to_have_url(re.compile(r"/audit"))
    page.get_by_label("Item number").fill(str(item))
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(
        re.compile(rf"/audit\?(.*&)?item={item}(&|$)")
    )  # the filtered page, not the first
    table = page.locator("table.app-audit-table")
    viewed = table.locator("tr", has_text="Opened the person page").filter(has_text="casey")
    recorded = table.locator("tr", has_text="Recorded outcome: help offered").filter(has_text="casey")
    claimed_row = table.locator("tr", has_text="casey").filter(has_text=re.compile("[Cc]laimed"))
    expect(viewed.first).to_be_visible()
    expect(recorded).to_have_count(1)
    expect(claimed_row.first).to_be_visible()
    # The note is not in the audit log: it is about the person, not the action.
    expect(page.get_by_text(NOTE)).to_have_count(0)


def test_a_team_lead_gives_an_item_to_a_caseworker(page: Page, live: LiveServer) -> None:
    item = live.item("Northgate", 1)
    sign_in(page, "tess")
    page.goto(f"/items/{item}")
    page.get_by_label("Who should review it").select_option(label="Cora Example")
    page.get_by_role("button", name="Give to this person").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Item {item} is now with Cora Example"
    )
    expect(page.get_by_text("Being reviewed by")).to_be_visible()
    sign_out(page)

    sign_in(page, "cora")
    row = page.locator(f"#item-{item}")
    expect(row).to_contain_text("In review")
    expect(row).to_contain_text("You")
    row.get_by_role("link", name=f"Item {item}").click()
    expect(page.get_by_role("button", name="Record and close")).to_be_visible()


def test_claiming_works_without_javascript(browser: Browser, live: LiveServer) -> None:
    context = browser.new_context(base_url=live.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        item = live.item("Northgate", 2)
        sign_in(page, "cora")
        page.locator(f"#item-{item}").get_by_role("button", name=f"Claim item {item}").click()
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
            f"You are now reviewing item {item}"
        )
        expect(page.locator(f"#item-{item}")).to_contain_text("In review")
    finally:
        context.close()


def test_a_case_file_name_that_looks_like_script_is_shown_as_text(page: Page, live: LiveServer) -> None:
    """Person N-3's name in the live world is ``<script>alert(1)</script>``."""
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, "tess")
    page.goto(f"/items/{live.item('Northgate', 2)}")
    expect(page.locator(".app-key-facts").get_by_text("<script>alert(1)</script>")).to_be_visible()
    assert dialogs == []
