"""Issue 16 in a real browser: claiming by keyboard (focus and the live announcement), recording
"could not reach" and an outcome with strengths (with and without JavaScript), the closed views,
the list at 320 px, and axe-core on each new state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from review_ui.web.app import ASSETS_DIR
from tests.review_ui.web.browser.conftest import (
    TIMEOUT_MS,
    LiveServer,
    describe_violations,
    run_axe,
    sign_in,
)
from tests.review_ui.web.browser.test_keyboard import FOCUS_VISIBLE, focused, tab_to

pytestmark = pytest.mark.browser


@pytest.fixture
def no_js_page(browser: Browser, live: LiveServer) -> Iterator[Page]:
    """A page with JavaScript switched off: every form must still work."""
    context = browser.new_context(base_url=live.url, java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def assert_no_violations(page: Page) -> None:
    violations = run_axe(page)
    assert not violations, describe_violations(violations)


def test_claiming_by_keyboard_keeps_the_focus_in_the_row_and_announces_it(
    page: Page, live: LiveServer
) -> None:
    item = live.item("Northgate", 1)
    sign_in(page, "casey")
    expect(page).to_have_url(re.compile(r"/queue$"))
    announcer = page.locator("#app-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text("")
    tab_to(page, f"Claim item {item}", {"tag": "button"})
    page.keyboard.press("Enter")
    row = page.locator(f"#item-{item}")
    expect(row).to_contain_text("In review")
    expect(announcer).to_have_text(f"You are now reviewing item {item}.")
    release = row.get_by_role("button", name=f"Release item {item}")
    expect(release).to_be_focused()
    assert page.evaluate(FOCUS_VISIBLE)
    # Release it again by keyboard, once htmx has settled the new row (pressed before that, the
    # button's form is not yet htmx's and submits as a plain form): the focus stays on the row.
    expect(page.locator(".htmx-settling, .htmx-swapping, .htmx-added, .htmx-request")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(announcer).to_have_text(f"Item {item} is back on the list for anyone to claim.")
    expect(row.get_by_role("button", name=f"Claim item {item}")).to_be_focused()
    assert focused(page)["tag"] == "button"


def test_could_not_reach_then_help_offered_with_strengths(
    page: Page, axe_page: Page, live: LiveServer
) -> None:
    item = live.item("Northgate", 2)
    sign_in(page, "cora")
    page.goto("/queue")
    page.locator(f"#item-{item}").get_by_role("button", name=f"Claim item {item}").click()
    expect(page.locator(f"#item-{item}")).to_contain_text("In review")
    page.goto(f"/items/{item}")
    page.get_by_role("radio", name="Could not reach").check()
    page.get_by_role("radio", name="Phone").check()
    page.get_by_label("What you tried (optional)").fill("Rang at 10am, no answer")
    page.get_by_role("button", name="Record and close").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Try 1 to get in touch recorded for item {item}"
    )
    expect(page.get_by_role("heading", name="The work on this item")).to_be_visible()
    expect(page.get_by_text("Rang at 10am, no answer")).to_be_visible()

    # Accessibility of the new states: the form with the attempt open, and the work record.
    sign_in(axe_page, "cora")
    axe_page.goto(f"/items/{item}")
    assert_no_violations(axe_page)
    axe_page.get_by_role("radio", name="Could not reach").check()
    assert_no_violations(axe_page)
    axe_page.get_by_role("button", name="Record and close").click()  # no channel: the error state
    expect(axe_page.locator(".govuk-error-summary")).to_contain_text("Select how you tried to get in touch")
    assert_no_violations(axe_page)

    page.get_by_role("radio", name="Help offered").check()
    page.get_by_role("checkbox", name="Engages with services").check()
    page.get_by_label("Other strengths").fill("Cares for her mother")
    page.get_by_role("button", name="Record and close").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Outcome recorded for item {item}"
    )
    page.goto("/queue?status=done_by_me")
    expect(page.locator(f"#item-{item}")).to_contain_text("Help offered")
    axe_page.goto("/queue?status=done_by_me")
    assert_no_violations(axe_page)
    axe_page.goto(f"/items/{item}")
    expect(axe_page.get_by_text("Engages with services; Cares for her mother")).to_be_visible()
    assert_no_violations(axe_page)


def test_the_forms_work_without_javascript(no_js_page: Page, live: LiveServer) -> None:
    page = no_js_page
    item = live.item("Northgate", 0)
    sign_in(page, "tess")
    page.goto("/queue?ward=Central")
    page.locator(f"#item-{item}").get_by_role("button", name=f"Claim item {item}").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"You are now reviewing item {item}"
    )
    expect(page).to_have_url(re.compile(r"/queue\?ward=Central&notice=claimed"))
    page.get_by_role("link", name=f"Item {item}").click()
    page.get_by_role("radio", name="Could not reach").check()
    page.get_by_role("radio", name="Home visit").check()
    page.get_by_role("checkbox", name="Close the item now: I will not try again").check()
    page.get_by_role("button", name="Record and close").click()
    # Back to the list the reviewer came from, filters kept.
    expect(page).to_have_url(re.compile(r"/queue\?ward=Central&notice=recorded"))
    page.goto("/queue?status=closed")
    expect(page.locator(f"#item-{item}")).to_contain_text("Could not reach")


@pytest.mark.parametrize("path", ["/queue", "/queue?status=closed"])
def test_the_list_reflows_at_320_pixels(page: Page, live: LiveServer, path: str) -> None:
    if ".app-queue-table .govuk-table__head" not in (ASSETS_DIR / "council.min.css").read_text():
        pytest.fail("the built styles predate council.scss's narrow-screen rules: run `make assets`")
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, "casey")
    page.goto(path)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at 320 px wide"


def test_new_and_changed_tags_and_the_api_page_pass_axe(axe_page: Page, live: LiveServer) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from review_ui.store import ItemHistory, ReviewItem
    from tests.support.review_app import AS_OF

    item = live.item("Northgate", 1)
    before = AS_OF - timedelta(days=7)
    with live.app.state.session_factory() as db:
        db.execute(update(ReviewItem).where(ReviewItem.id == item).values(first_surfaced_on=before))
        for night, reasons in ((before, ["Missed 1 rent payment."]), (AS_OF, ["Missed 2 rent payments."])):
            db.merge(
                ItemHistory(
                    item_id=item,
                    as_of=night,
                    person_id="N-2",
                    locality="Northgate",
                    score=0.5,
                    rank=2,
                    reasons=reasons,
                    services=["council_tax"],
                    model_version="m",
                )
            )
        db.commit()
    sign_in(axe_page, "casey")
    axe_page.goto("/queue")
    row = axe_page.locator(f"#item-{item}")
    expect(row).to_contain_text("Changed")
    expect(row).to_contain_text("Since 23 June 2026: missed 2 rent payments")
    assert_no_violations(axe_page)
    axe_page.goto(f"/items/{item}")
    expect(axe_page.get_by_text("Since 23 June 2026: missed 2 rent payments")).to_be_visible()
    assert_no_violations(axe_page)
    axe_page.goto("/api/docs")
    expect(axe_page.get_by_role("heading", name="GET /api/items", exact=False).first).to_be_visible()
    assert_no_violations(axe_page)
