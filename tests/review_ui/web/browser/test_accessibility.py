"""axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on every page of the review app, in Chromium.

Each case signs in as a role that may open the page, gets it into the
state to check (for example a form sent back with errors), injects axe-core
and fails on any serious or critical violation, listing each one with the
element and axe's explanation. Minor and moderate findings are printed but
do not fail the run. The context bypasses the CSP only so that axe can be
injected (a strict CSP blocks ``add_script_tag``); the journeys and keyboard
tests run with the CSP in force.

A test also checks that every page the app serves to a person is in ``CASES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page

from tests.review_ui.web.browser.conftest import LiveServer, describe_violations, run_axe, sign_in
from tests.review_ui.web.test_access_matrix import declared_routes

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}


@dataclass(frozen=True)
class Case:
    name: str
    #: who signs in first (None: nobody)
    username: str | None
    #: gets the page into the state to check
    open: Callable[[Page, LiveServer], None]


def _goto(path: str, status: int = 200) -> Callable[[Page, LiveServer], None]:
    def open_(page: Page, _live: LiveServer) -> None:
        response = page.goto(path)
        assert response is not None, path
        assert response.status == status, f"{path}: {response.status}, expected {status}"

    return open_


def _sign_in_with_errors(page: Page, _live: LiveServer) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill("casey")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Enter your password").first.wait_for()


def _sign_in_wrong_password(page: Page, _live: LiveServer) -> None:
    page.goto("/sign-in")
    page.get_by_label("Username").fill("casey")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    page.locator(".govuk-error-summary").wait_for()


def _person(page: Page, live: LiveServer) -> None:
    _goto(f"/items/{live.item('Northgate', 0)}")(page, live)


def _goto_item(suffix: str) -> Callable[[Page, LiveServer], None]:
    """The first Northgate item's page (or one of its sub-pages) with ``suffix`` after its path."""

    def open_(page: Page, live: LiveServer) -> None:
        _goto(f"/items/{live.item('Northgate', 0)}{suffix}")(page, live)

    return open_


def _person_claimed(page: Page, live: LiveServer) -> None:
    """The page with the outcome form, the timeline and (for a team lead) the reassign form."""
    item = live.item("Northgate", 2)
    page.goto(f"/items/{item}")
    claim = page.get_by_role("button", name="Claim", exact=True)
    if claim.count():
        claim.click()
    page.get_by_role("button", name="Record and close").wait_for()


def _list_after_htmx_claim(page: Page, live: LiveServer) -> None:
    """The list after htmx swapped a row in (the swapped-in HTML is checked too)."""
    item = live.item("unknown", 0)
    page.goto("/queue?locality=unknown")
    page.get_by_role("button", name=f"Claim item {item}").click()
    page.get_by_role("button", name=f"Release item {item}").wait_for()


def _outcome_with_errors(page: Page, live: LiveServer) -> None:
    """Submit the outcome form with no outcome chosen: the error summary and messages show."""
    item = live.item("Northgate", 1)
    page.goto(f"/items/{item}")
    claim = page.get_by_role("button", name="Claim", exact=True)
    if claim.count():
        claim.click()
    page.get_by_role("button", name="Record and close").click()
    page.locator(".govuk-error-summary").wait_for()


def _users_with_errors(page: Page, _live: LiveServer) -> None:
    page.goto("/users")
    page.get_by_role("button", name="Add user").click()
    page.locator(".govuk-error-summary").wait_for()


def _change_password_with_errors(page: Page, _live: LiveServer) -> None:
    page.goto("/account/password")
    page.get_by_role("button", name="Change password").click()
    page.locator(".govuk-error-summary").wait_for()


def _clerical_pair(page: Page, live: LiveServer) -> None:
    """A sampled pair, side by side (a sample is stored first; storing it twice keeps one)."""
    from datetime import date

    from sqlalchemy import select

    from review_ui.store.clerical import ClericalPair
    from tests.support.clerical import store_sample

    with live.app.state.session_factory() as db:
        store_sample(db, date(2026, 6, 30))
        pair_id = db.scalars(select(ClericalPair.id).order_by(ClericalPair.id)).first()
    page.goto(f"/clerical/pairs/{pair_id}")


def _not_this_person(page: Page, live: LiveServer) -> None:
    item = live.item("Northgate", 0)
    _goto(f"/items/{item}/not-this-person?source=contact_centre&reference=CC-N-1")(page, live)


def _not_this_person_with_errors(page: Page, live: LiveServer) -> None:
    _not_this_person(page, live)
    page.get_by_role("button", name="Keep this record apart").click()
    page.locator(".govuk-error-summary").wait_for()


def _linkage_constraints_with_errors(page: Page, _live: LiveServer) -> None:
    page.goto("/linkage/constraints")
    page.get_by_role("button", name="Save").click()
    page.locator(".govuk-error-summary").wait_for()


def _undo_linkage_constraint(page: Page, live: LiveServer) -> None:
    """The undo form of a "same person" statement (stored first, as the data team's form does)."""
    from review_ui.store import get_user_by_username
    from review_ui.store.link_constraints import RecordKey, add_same_person

    with live.app.state.session_factory() as db:
        ann = get_user_by_username(session=db, username="ann")
        assert ann is not None
        row = add_same_person(
            session=db,
            user=ann,
            record_a=RecordKey("council_tax", "CT-1"),
            record_b=RecordKey("hb", "HB-1"),
            reason="r",
        )
    _goto(f"/linkage/constraints/{row.id}/undo")(page, live)


def _clerical_next_with_errors(page: Page, live: LiveServer) -> None:
    _clerical_pair(page, live)
    page.goto("/clerical/2026-06-30/next")
    page.get_by_role("button", name="Save and show the next pair").click()
    page.locator(".govuk-error-summary").wait_for()


CASES = [
    Case("sign-in", None, _goto("/sign-in")),
    Case("sign-in with errors", None, _sign_in_with_errors),
    Case("sign-in with a wrong password", None, _sign_in_wrong_password),
    Case("accessibility statement", None, _goto("/accessibility")),
    Case("privacy notice", None, _goto("/privacy")),
    Case("accessibility statement signed in", "casey", _goto("/accessibility")),
    Case("review list", "casey", _goto("/queue")),
    Case("review list filtered", "tess", _goto("/queue?locality=unknown")),
    Case("review list, team lead", "tess", _goto("/queue")),
    Case(
        "review list, filtered by status and ward", "casey", _goto("/queue?status=new&ward=Central&sort=ward")
    ),
    Case("review list, nothing matches", "casey", _goto("/queue?ward=Nowhere")),
    Case("review list after an htmx claim", "tess", _list_after_htmx_claim),
    Case("person page", "casey", _person),
    Case("person page, claimed, team lead", "tess", _person_claimed),
    Case("person page, every timeline entry", "casey", _goto_item("?timeline=all#timeline")),
    Case("person page, a reason's entries highlighted", "casey", _goto_item("?reason=2#entry-1")),
    Case("person page, household services opened", "casey", _goto_item("/household")),
    Case("outcome form with errors", "casey", _outcome_with_errors),
    Case("audit log", "ada", _goto("/audit")),
    Case("audit log filtered", "ada", _goto("/audit?actor=casey&action=signed_in")),
    Case(
        "audit log with errors", "ada", _goto("/audit?item=abc&from-day=31&from-month=2&from-year=2026", 400)
    ),
    Case("learning", "ann", _goto("/learning")),
    Case("learning, team lead", "tess", _goto("/learning")),
    Case("users", "ada", _goto("/users")),
    Case("clerical review", "ann", _goto("/clerical")),
    Case("clerical review pair", "ann", _clerical_pair),
    Case("clerical review pair with errors", "ann", _clerical_next_with_errors),
    Case("users form with errors", "ada", _users_with_errors),
    Case("change password", "casey", _goto("/account/password")),
    Case("change password with errors", "casey", _change_password_with_errors),
    Case("your sessions", "casey", _goto("/account/sessions")),
    Case("not this person", "casey", _not_this_person),
    Case("not this person with errors", "casey", _not_this_person_with_errors),
    Case("records linked by people", "ann", _goto("/linkage/constraints")),
    Case("records linked by people with errors", "ann", _linkage_constraints_with_errors),
    Case("undo a record link", "ann", _undo_linkage_constraint),
    Case("page not found", "casey", _goto("/items/999999", 404)),
    Case("role refused", "ada", _goto("/queue", 403)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_serious_accessibility_violations(axe_page: Page, live: LiveServer, case: Case) -> None:
    if case.username:
        sign_in(axe_page, case.username)
    case.open(axe_page, live)
    axe_page.wait_for_load_state()
    violations = run_axe(axe_page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    others = [v for v in violations if v["impact"] not in BLOCKING]
    if others:
        print(f"{case.name}: minor or moderate findings (not failing):\n{describe_violations(others)}")
    assert not blocking, (
        f"{case.name} ({axe_page.url}) has accessibility violations:\n" + describe_violations(blocking)
    )


#: The pages CASES opens, by route; every page the app serves must be here or in NOT_PAGES.
PAGES_CHECKED = {
    "/sign-in",
    "/accessibility",
    "/privacy",
    "/queue",
    "/items/{item_id}",
    "/items/{item_id}/household",
    "/audit",
    "/learning",
    "/users",
    "/account/password",
    "/account/sessions",
    "/clerical",
    "/clerical/pairs/{pair_id}",
    "/clerical/{night}/next",
    "/items/{item_id}/not-this-person",
    "/linkage/constraints",
    "/linkage/constraints/{constraint_id}/undo",
}
NOT_PAGES = {
    "/": "redirects to the start page of the role",
    "/queue/counts": "an htmx fragment, checked inside the list after a claim",
    "/sign-in/oidc": "redirects to the council's identity provider",
    "/sign-in/oidc/callback": "redirects back from the identity provider",
    "/docs/oauth2-redirect": "FastAPI's API documentation helper",
}


def test_every_page_of_the_app_is_checked(live: LiveServer) -> None:
    pages = {path for method, path in declared_routes(live.app.routes) if method == "GET"}
    pages = {path for path in pages if not path.startswith("/api/")}
    unchecked = pages - PAGES_CHECKED - set(NOT_PAGES)
    assert not unchecked, f"add accessibility cases for these pages to CASES: {sorted(unchecked)}"
