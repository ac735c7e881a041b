"""Issue 16's newer parts by keyboard only: Tab, Shift+Tab, Enter, Space and the arrow keys.

One caseworker's morning on a changed item: the "Changed" line on the list, claiming in place
(htmx: focus stays on the row's new button and the live region says what happened), the person
page's "what changed", a "could not reach" try recorded (focus on the success banner, which is
announced), the tries table's own scroll region, the household drill-down and back (focus
continues from the household section), then an outcome and the "Done by me" and "Closed"
views chosen with the keyboard. Every control reached must show where the focus is.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from review_ui.store import CaseFile, ItemHistory, ReviewItem
from tests.review_ui.web.browser.conftest import LiveServer, sign_in
from tests.review_ui.web.browser.test_keyboard import FOCUS_VISIBLE, focused, tab_to
from tests.support.busy_person import BUSY_REASONS, busy_case_file
from tests.support.review_app import AS_OF

pytestmark = pytest.mark.browser

#: htmx is busy swapping or settling (a key pressed then may reach the old element).
HTMX_BUSY = ".htmx-settling, .htmx-swapping, .htmx-added, .htmx-request"


@pytest.fixture(scope="module")
def changed(live: LiveServer) -> int:
    """The second Northgate item: the busy person, first found a week before the latest night,
    with one more missed payment in its reasons since then."""
    item_id = live.item("Northgate", 1)
    before = AS_OF - timedelta(days=7)
    with live.app.state.session_factory() as db:
        db.execute(update(ReviewItem).where(ReviewItem.id == item_id).values(first_surfaced_on=before))
        item = db.get(ReviewItem, item_id)
        assert item is not None
        item.reasons = list(BUSY_REASONS)
        stored = db.get(CaseFile, item.person_id)
        assert stored is not None
        stored.content = busy_case_file(item.person_id)
        for night, reasons in ((before, ["Missed 2 rent payments."]), (AS_OF, ["Missed 3 rent payments."])):
            db.merge(
                ItemHistory(
                    item_id=item_id,
                    as_of=night,
                    person_id=item.person_id,
                    locality="Northgate",
                    score=0.5,
                    rank=2,
                    reasons=reasons,
                    services=["housing_rent"],
                    model_version="m",
                )
            )
        db.commit()
    return item_id


def _settled(page: Page) -> None:
    expect(page.locator(HTMX_BUSY)).to_have_count(0)


def _choose(page: Page, select_id: str, value: str) -> None:
    """Move the focused select to ``value`` with the arrow keys, as a keyboard user does."""
    select = page.locator(f"#{select_id}")
    expect(select).to_be_focused()
    for key in ["ArrowDown"] * 8 + ["ArrowUp"] * 8:
        if select.input_value() == value:
            return
        page.keyboard.press(key)
    raise AssertionError(f"the arrow keys never chose {value!r} in #{select_id}")


def test_a_morning_on_a_changed_item_by_keyboard_only(page: Page, live: LiveServer, changed: int) -> None:
    item = changed
    sign_in(page, "casey")
    expect(page).to_have_url(re.compile(r"/queue$"))

    # The list: the row says what changed since the last night.
    row = page.locator(f"#item-{item}")
    expect(row.locator(".app-change-tag")).to_have_text("Changed")
    expect(row).to_contain_text("Since 23 June 2026: missed 3 rent payments")

    # Claim in place (htmx): focus moves to the row's new Release button, and it is announced.
    tab_to(page, f"Claim item {item}", {"tag": "button"})
    page.keyboard.press("Enter")
    expect(page.locator("#app-announcer")).to_have_text(f"You are now reviewing item {item}.")
    expect(row.get_by_role("button", name=f"Release item {item}")).to_be_focused()
    assert page.evaluate(FOCUS_VISIBLE)
    _settled(page)

    # Back along the row to its link, and open the person page.
    tab_to(page, f"Item {item}", {"tag": "a"}, backwards=True)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Item {item}", level=1)).to_be_visible()
    expect(page.locator(".app-change")).to_contain_text("Since 23 June 2026: missed 3 rent payments")

    # "Could not reach": the arrow keys choose it among the outcomes; then how, and a note.
    tab_to(page, "", {"tag": "input", "name": "outcome"})
    for _ in range(6):
        if focused(page)["value"] == "could_not_reach":
            break
        page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Could not reach")).to_be_checked()
    tab_to(page, "", {"tag": "input", "name": "channel"})
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="Phone")).to_be_checked()
    tab_to(page, "", {"tag": "textarea", "id": "attempt_note"})
    page.keyboard.type("Rang at 10am, no answer")
    tab_to(page, "Record and close", {"tag": "button"})
    page.keyboard.press("Enter")

    # Focus lands on the success banner (an alert, so it is read out), not at the top of the page.
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(f"Try 1 to get in touch recorded for item {item}")
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_be_focused()

    # The record of the work: its table's region is a Tab stop, with visible focus.
    expect(page.get_by_role("heading", name="The work on this item")).to_be_visible()
    tab_to(page, "Tries to get in touch (1 of 3)", {"tag": "div"})
    expect(page.get_by_role("region", name="Tries to get in touch (1 of 3)")).to_be_focused()
    expect(page.get_by_role("region", name="Tries to get in touch (1 of 3)")).to_contain_text(
        "Rang at 10am, no answer"
    )

    # The household drill-down and back: focus continues from the household section.
    page.locator("body").focus()
    tab_to(page, "Show which services know the people at this address", {"tag": "a"})
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Services that know the people at this address")).to_be_visible()
    tab_to(page, f"Back to item {item}", {"tag": "a"})
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/items/{item}#household$"))
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Show which services know the people at this address"
    assert page.evaluate(FOCUS_VISIBLE)

    # Then help is offered: Space on the first outcome, and submit.
    tab_to(page, "", {"tag": "input", "name": "outcome", "value": "help_offered"})
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="Help offered")).to_be_checked()
    tab_to(page, "Record and close", {"tag": "button"})
    page.keyboard.press("Enter")
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(f"Outcome recorded for item {item}")
    expect(banner).to_be_focused()

    # "Done by me", then "Closed": chosen with the arrow keys in the Status filter.
    for view in ("done_by_me", "closed"):
        page.locator("body").focus()
        tab_to(page, "", {"tag": "select", "id": "status"})
        _choose(page, "status", view)
        tab_to(page, "Show people", {"tag": "button"})
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"status={view}"))
        closed_row = page.locator(f"#item-{item}")
        expect(closed_row).to_contain_text("Help offered")
        expect(closed_row).to_contain_text("You")
        tab_to(page, f"Item {item}", {"tag": "a"})
