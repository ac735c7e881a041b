"""The main journey by keyboard only: Tab, Shift+Tab, Enter and Space, never the mouse.

The skip link is the first thing Tab reaches and moves focus to the main
content; then sign in, reach and press Claim on the list, open the person,
choose an outcome and submit it. Every control reached on the way must show
where the focus is (WCAG 2.4.7), and a form sent back with errors puts focus
on its error summary, whose links lead to the field.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.review_ui.web.browser.conftest import LiveServer
from tests.support.review_app import PASSWORD

pytestmark = pytest.mark.browser

#: What is focused, described for assertions and for the failure message.
DESCRIBE_FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return {tag: 'body', text: '', id: '', href: '', name: '', value: ''};
    return {
        tag: el.tagName.toLowerCase(),
        text: (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 80),
        id: el.id || '',
        href: el.getAttribute('href') || '',
        name: el.getAttribute('name') || '',
        value: el.getAttribute('value') || '',
    };
}"""

#: GOV.UK Frontend shows focus with a yellow outline, background or box shadow.
FOCUS_VISIBLE = """() => {
    const style = getComputedStyle(document.activeElement);
    const outline = style.outlineStyle !== 'none' && style.outlineWidth !== '0px'
        && style.outlineColor !== 'rgba(0, 0, 0, 0)' && style.outlineColor !== 'transparent';
    return outline || style.boxShadow !== 'none';
}"""

MAX_TABS = 80


def focused(page: Page) -> dict[str, str]:
    result: dict[str, str] = page.evaluate(DESCRIBE_FOCUS)
    return result


def tab_to(
    page: Page, wanted: str, matches: dict[str, str] | None = None, *, backwards: bool = False
) -> None:
    """Press Tab until the focused element's text contains ``wanted`` (and its attributes match)."""
    visited: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        visited.append(f"{now['tag']}#{now['id']} {now['text'] or now['href'] or now['name']}")
        if wanted in now["text"] and all(now.get(key) == value for key, value in (matches or {}).items()):
            assert page.evaluate(FOCUS_VISIBLE), f"focus is not visible on {visited[-1]}"
            return
    raise AssertionError(
        f"Tab never reached {wanted!r} {matches or ''}; it visited:\n  " + "\n  ".join(visited)
    )


def test_the_whole_journey_works_by_keyboard(page: Page, live: LiveServer) -> None:
    item = live.item("Northgate", 0)
    page.goto("/sign-in")

    # The skip link comes first and takes focus to the main content.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to main content"
    assert page.evaluate(FOCUS_VISIBLE)
    page.keyboard.press("Enter")
    expect(page.locator("#main-content")).to_be_focused()

    # Sign in: the next Tab stops are the username, the password and the button.
    tab_to(page, "", {"tag": "input", "id": "username"})
    page.keyboard.type("casey")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Sign in"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/queue$"))

    # Reach Claim for the item and press it with Space (htmx swaps the row).
    tab_to(page, f"Claim item {item}", {"tag": "button"})
    page.keyboard.press("Space")
    row = page.locator(f"#item-{item}")
    expect(row).to_contain_text("In review")
    expect(row.get_by_role("button", name=f"Release item {item}")).to_be_visible()

    # Open the person page with Enter on its link.
    page.locator("body").focus()
    tab_to(page, f"Item {item}", {"tag": "a", "href": f"/items/{item}"})
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Item {item}", level=1)).to_be_visible()

    # Submitting without an outcome: focus goes to the error summary, whose link leads to the radios.
    tab_to(page, "Record and close", {"tag": "button"})
    page.keyboard.press("Enter")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    tab_to(page, "Select what happened", {"tag": "a"})
    page.keyboard.press("Enter")
    expect(page.locator("input[name='outcome']:focus")).to_have_count(1)

    # Choose an outcome with Space, then reach the button and submit.
    assert focused(page)["value"] == "help_offered"
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="Help offered")).to_be_checked()
    # Arrow keys move between the radios (and choose), as in any radio group.
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Already supported")).to_be_checked()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("radio", name="Help offered")).to_be_checked()
    tab_to(page, "", {"tag": "textarea", "id": "note"})
    page.keyboard.type("Rang and offered help.")
    tab_to(page, "Record and close", {"tag": "button"})
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"Outcome recorded for item {item}"
    )


def test_the_sign_out_button_is_reachable_by_keyboard(page: Page, live: LiveServer) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(r"/learning"))
    page.locator("body").focus()
    tab_to(page, "Sign out", {"tag": "button"})
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sign-in\?signed_out=true"))
