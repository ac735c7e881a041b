"""Who may do what: every role × every route × own/other locality, on SQLite and PostgreSQL.

One table, ``ROUTES``, lists every route the app has; a test fails if the app
gains a route that is not in it (or in ``NOT_IN_MATRIX``, with the reason), so
a new page cannot ship without saying who may use it.

For each route and each user (signed out, a Northgate caseworker, the
Northgate team lead, the administrator, the analyst) and, for item routes,
each kind of item (own locality, another locality, the "unknown" list, an id
that does not exist), the expected answer is worked out from the rules:

- signed out: pages and forms redirect (303) to /sign-in; the API answers 401;
- a role the route does not allow: 403 (administrators and analysts never see
  a person, so every item route is 403 for them, whatever the id);
- an item the user may not see (another locality, or the unknown list for a
  caseworker) or that does not exist: 404, and the two look the same;
- otherwise the action works: 200 for pages and the API, 303 for forms (and
  the redirect does not report a failure).

Before each action the item is put in the state where the action could
succeed (for example claimed by the user before they record an outcome), so
a refusal is about access and never about the item's state. List pages are
also checked for leaks: they never link to an item outside what the user may see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Route as StarletteRoute

from review_ui.store import ItemStatus, ReviewItem, WebSession
from review_ui.store.tables import AuditEntry
from review_ui.web import create_app
from review_ui.web.case_file_reads import CaseFileReadLimit
from review_ui.web.sessions import session_reference
from tests.review_ui.web.conftest import Web, csrf_from, web_settings
from tests.support.review_app import PASSWORD, build_world, claim_as

ANONYMOUS = "anonymous"
#: The users in the matrix: one of each role (caseworker and team lead in Northgate).
USERS = [ANONYMOUS, "casey", "tess", "ada", "ann"]
REVIEWERS = frozenset({"casey", "tess"})
TEAM_LEADS = frozenset({"tess"})
ADMINISTRATORS = frozenset({"ada"})
LEARNING = frozenset({"ann", "tess"})
CLERICAL = frozenset({"ann"})
SIGNED_IN = frozenset(USERS) - {ANONYMOUS}
EVERYONE = frozenset(USERS)

#: Which lists each user may see.
VISIBLE = {"casey": {"Northgate"}, "tess": {"Northgate", "unknown"}, "ada": set(), "ann": set()}
#: Item kinds for item routes: own locality, another, the unknown list, and an id that does not exist.
ITEM_KINDS = ["Northgate", "Riverside", "unknown", "missing"]
MISSING_ID = 999_999
#: Who holds an item that has to be in review, when the acting user cannot hold it themselves.
HOLDERS = {"Northgate": "casey", "Riverside": "rivka", "unknown": "tess"}


@dataclass(frozen=True)
class Route:
    method: str
    #: the route's path as the app declares it (``{item_id}`` for item routes)
    template: str
    #: who may use it (signed-out users only if ANONYMOUS is in it)
    allowed: frozenset[str]
    #: a concrete path when it differs from the template (query string, a username)
    path: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    #: what must be true of the item first: "new" or "in_review" (held by the actor if they may)
    needs: str = "new"
    #: a user's answer when it is not what the rules above give (e.g. 404 for a list they may not see)
    overrides: dict[str, int] = field(default_factory=dict)
    #: the answer on an item of a kind (which the user may see) when the action is refused there
    refused_on: dict[str, int] = field(default_factory=dict)
    #: the answer when it works, if not 200 (GET) or 303 (form POST)
    success: int | None = None
    #: where a successful form POST lands, if it is not a page of the app's own (sign-out)
    lands_on: str | None = None

    @property
    def is_api(self) -> bool:
        # /api/docs is a page for people: signed out, it sends them to sign in like any page.
        return self.template.startswith("/api/") and self.template != "/api/docs"

    @property
    def is_item_route(self) -> bool:
        return "{item_id}" in self.template

    @property
    def name(self) -> str:
        return f"{self.method} {self.path or self.template}"


OUTCOME = {"outcome": "help_offered", "note": "Rang and offered help with the council tax arrears."}
NOT_HIM = "source=contact_centre&reference={reference}"
NOT_THIS_PERSON = {"source": "contact_centre", "reference": "{reference}", "reason": "A relative's record"}
SAME_PERSON = {
    "kind": "same_person",
    "source_a": "council_tax",
    "reference_a": "CT-1",
    "source_b": "housing_benefit",
    "reference_b": "HB-1",
    "reason": "Same NI number",
}

ROUTES = [
    # Open to everyone.
    Route("GET", "/sign-in", EVERYONE),
    Route("GET", "/accessibility", EVERYONE),
    Route("GET", "/privacy", EVERYONE),
    Route("GET", "/", EVERYONE, success=303),
    # Any signed-in user.
    Route("POST", "/sign-out", SIGNED_IN, lands_on="/sign-in?signed_out=true"),
    Route("GET", "/api/me", SIGNED_IN),
    Route("GET", "/api/openapi.json", SIGNED_IN),
    Route("GET", "/api/docs", SIGNED_IN),
    Route("GET", "/account/password", SIGNED_IN),
    Route(
        "POST",
        "/account/password",
        SIGNED_IN,
        body={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase here",
            "confirm_password": "a brand new passphrase here",
        },
    ),
    Route("GET", "/account/sessions", SIGNED_IN),
    Route("POST", "/account/sessions/end", SIGNED_IN, body={"session": "<another-session>"}),
    Route("POST", "/account/sessions/end-others", SIGNED_IN),
    # Reviewers' lists.
    Route("GET", "/queue", REVIEWERS),
    Route("GET", "/queue", REVIEWERS, path="/queue?locality=unknown&status=new&sort=ward"),
    Route("GET", "/queue", REVIEWERS, path="/queue?locality=Riverside&assigned=anyone&page=1"),
    Route("GET", "/queue/counts", REVIEWERS),
    Route("GET", "/queue/counts", REVIEWERS, path="/queue/counts?locality=Riverside"),
    Route("GET", "/api/items", REVIEWERS),
    Route("GET", "/api/items", REVIEWERS, path="/api/items?locality=unknown", overrides={"casey": 404}),
    Route(
        "GET",
        "/api/items",
        REVIEWERS,
        path="/api/items?locality=Riverside",
        overrides={"casey": 404, "tess": 404},
    ),
    # A person, and the reviewer's actions on them.
    Route("GET", "/items/{item_id}", REVIEWERS),
    Route("GET", "/items/{item_id}", REVIEWERS, path="/items/{item_id}?timeline=all&reason=1"),
    Route("GET", "/items/{item_id}/household", REVIEWERS),
    Route("POST", "/items/{item_id}/claim", REVIEWERS),
    Route("POST", "/items/{item_id}/release", REVIEWERS, needs="in_review"),
    Route("POST", "/items/{item_id}/outcome", REVIEWERS, body=OUTCOME, needs="in_review"),
    # Cora is a Northgate caseworker: a "No known address" item may go only to a team lead.
    Route(
        "POST",
        "/items/{item_id}/reassign",
        TEAM_LEADS,
        body={"to_user": "<cora>"},
        refused_on={"unknown": 400},
    ),
    Route("GET", "/api/items/{item_id}", REVIEWERS),
    Route("POST", "/api/items/{item_id}/outcome", REVIEWERS, body=OUTCOME, needs="in_review", success=200),
    # Administration and figures: never a person.
    Route("GET", "/audit", ADMINISTRATORS),
    Route("GET", "/users", ADMINISTRATORS),
    Route(
        "POST",
        "/users",
        ADMINISTRATORS,
        body={
            "username": "<new>",
            "display_name": "New Caseworker",
            "role": "caseworker",
            "locality": "Northgate",
        },
    ),
    Route("POST", "/users/{username}/deactivate", ADMINISTRATORS, path="/users/cora/deactivate"),
    Route("POST", "/users/{username}/activate", ADMINISTRATORS, path="/users/cora/activate"),
    Route("GET", "/learning", LEARNING),
    # Clerical review: the data team sees sampled record pairs (test_clerical_pages.py has a real pair).
    Route("GET", "/clerical", CLERICAL),
    Route("GET", "/clerical/{night}/next", CLERICAL, path="/clerical/2026-06-30/next"),
    Route(
        "GET", "/clerical/pairs/{pair_id}", CLERICAL, path="/clerical/pairs/999999", overrides={"ann": 404}
    ),
    Route(
        "POST",
        "/clerical/pairs/{pair_id}/label",
        CLERICAL,
        path="/clerical/pairs/999999/label",
        body={"label": "same"},
        overrides={"ann": 404},
    ),
    # "This record is not this person" on the person page ({reference}: the item's contact-centre record).
    Route(
        "GET",
        "/items/{item_id}/not-this-person",
        REVIEWERS,
        path=f"/items/{{item_id}}/not-this-person?{NOT_HIM}",
    ),
    Route("POST", "/items/{item_id}/not-this-person", REVIEWERS, body=NOT_THIS_PERSON),
    # Records linked by people: the data team's statements about records, and undoing them.
    Route("GET", "/linkage/constraints", CLERICAL),
    Route("POST", "/linkage/constraints", CLERICAL, body=SAME_PERSON),
    Route(
        "GET",
        "/linkage/constraints/{constraint_id}/undo",
        CLERICAL,
        path="/linkage/constraints/999999/undo",
        overrides={"ann": 404},
    ),
    Route(
        "POST",
        "/linkage/constraints/{constraint_id}/undo",
        CLERICAL,
        path="/linkage/constraints/999999/undo",
        body={"reason": "Checked: not needed"},
        overrides={"ann": 404},
    ),
]

#: Routes the matrix does not drive, and why.
SINGLE_SIGN_ON = "single sign-on: off unless configured; tested in test_oidc.py"
NOT_IN_MATRIX = {
    ("POST", "/sign-in"): "signing in is tested in test_sign_in.py and test_security.py",
    ("GET", "/sign-in/oidc"): SINGLE_SIGN_ON,
    ("GET", "/sign-in/oidc/callback"): SINGLE_SIGN_ON,
}


def expected(route: Route, user: str, kind: str | None) -> int:
    """The status the rules give for ``user`` on ``route`` (and an item of ``kind``)."""
    if user == ANONYMOUS and ANONYMOUS not in route.allowed:
        return 401 if route.is_api else 303
    if user not in route.allowed:
        return 403
    if user in route.overrides:
        return route.overrides[user]
    if kind is not None and kind not in VISIBLE[user]:
        return 404
    if kind in route.refused_on:
        return route.refused_on[kind]
    if route.success is not None:
        return route.success
    return 200 if route.method == "GET" else 303


# --- Running a cell -------------------------------------------------------------


@pytest.fixture
def matrix_web(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The small world with one item per matrix user in each list (so cells never share an item)."""
    settings = web_settings(tmp_path)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db, items_per_locality=len(USERS))
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


def _client(web: Web, user: str) -> TestClient:
    return web.anonymous() if user == ANONYMOUS else web.sign_in(user)


def _token(client: TestClient) -> str:
    return csrf_from(client.get("/accessibility").text)


def _item_id(web: Web, user: str, kind: str) -> int:
    if kind == "missing":
        return MISSING_ID
    return web.world.items[kind][USERS.index(user)]


def _prepare(web: Web, route: Route, user: str, kind: str, item_id: int) -> None:
    if route.needs != "in_review" or kind == "missing":
        return
    holder = user if kind in VISIBLE.get(user, set()) else HOLDERS[kind]
    with web.app.state.session_factory() as db:
        claim_as(db, item_id, holder)


def _body(web: Web, route: Route, user: str) -> dict[str, Any]:
    body = dict(route.body)
    if body.get("to_user") == "<cora>":
        body["to_user"] = str(web.world.users["cora"].id)
    if body.get("session") == "<another-session>":
        body["session"] = _another_session(web, user)
    if body.get("username") == "<new>":
        body["username"] = f"new-{user}"
        body["password"] = PASSWORD
    return body


def _another_session(web: Web, user: str) -> str:
    """A reference to another session of the user's own (a second sign-in), for "sign out of this session"."""
    if user == ANONYMOUS:
        return "0" * 24
    web.sign_in(user)
    with web.app.state.session_factory() as db:
        newest = db.scalars(
            select(WebSession.id)
            .where(WebSession.user_id == web.world.users[user].id)
            .order_by(WebSession.created_at.desc())
        ).first()
    return session_reference(str(newest))


def _reference(web: Web, item_id: int) -> str:
    """The item's contact-centre record (every world item has one), or a made-up one for a missing item."""
    with web.app.state.session_factory() as db:
        found = db.get(ReviewItem, item_id)
    return f"CC-{found.person_id}" if found is not None else "CC-none"


def _request(client: TestClient, web: Web, route: Route, user: str, path: str, reference: str = "") -> Any:
    if route.method == "GET":
        return client.get(path, follow_redirects=False)
    body = {
        k: v.replace("{reference}", reference) if isinstance(v, str) else v
        for k, v in _body(web, route, user).items()
    }
    token = "" if user == ANONYMOUS else _token(client)
    if route.is_api:
        return client.post(path, json=body, headers={"X-CSRF-Token": token}, follow_redirects=False)
    return client.post(path, data={**body, "csrf_token": token}, follow_redirects=False)


ITEM_LINK = re.compile(r"/items/([0-9]+)")


def _leaked_ids(web: Web, user: str, response: Any) -> set[int]:
    """Item ids a list response shows that are outside the user's lists."""
    visible = {item for kind in VISIBLE.get(user, set()) for item in web.world.items[kind]}
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        shown = {entry["id"] for entry in payload.get("items", [])} if isinstance(payload, dict) else set()
    else:
        shown = {int(found) for found in ITEM_LINK.findall(response.text)}
    return shown - visible


def _page_refusals(web: Web, user: str) -> list[tuple[str, str]]:
    """(method, path) of every page this user was refused for their role, oldest first."""
    with web.app.state.session_factory() as db:
        entries = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor == user, AuditEntry.action == "page_refused")
            .order_by(AuditEntry.id)
        )
        return [(entry.detail["method"], entry.detail["path"]) for entry in entries]


@dataclass
class Cell:
    user: str
    kind: str | None
    path: str
    want: int
    got: int
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.want == self.got and not self.note


def _check(web: Web, client: TestClient, route: Route, user: str, kind: str | None) -> Cell:
    item_id = _item_id(web, user, kind) if kind is not None else None
    path = route.path or route.template
    if item_id is not None:
        path = path.replace("{item_id}", str(item_id)).replace("{reference}", _reference(web, item_id))
        _prepare(web, route, user, kind or "", item_id)
    refusals_before = _page_refusals(web, user)
    response = _request(client, web, route, user, path, _reference(web, item_id) if item_id else "")
    want = expected(route, user, kind)
    cell = Cell(user, kind, path, want, response.status_code)
    location = response.headers.get("location", "")
    if want == 403 and response.status_code == 403:
        if _page_refusals(web, user)[len(refusals_before) :] != [(route.method, path.split("?")[0])]:
            cell.note = "the refusal is not in the audit log"
    elif want == 303 and user == ANONYMOUS and not location.startswith("/sign-in"):
        cell.note = f"redirected to {location!r}, not to sign in"
    elif want == 303 and user != ANONYMOUS and route.lands_on is not None:
        if location != route.lands_on:
            cell.note = f"redirected to {location!r}, not {route.lands_on!r}"
    elif want == 303 and user != ANONYMOUS and ("failed" in location or location.startswith("/sign-in")):
        cell.note = f"the action did not happen: redirected to {location!r}"
    elif want == 200 and response.status_code == 200 and route.method == "GET":
        leaked = _leaked_ids(web, user, response)
        if leaked:
            cell.note = f"shows items outside the user's lists: {sorted(leaked)}"
    return cell


def _report(route: Route, cells: list[Cell]) -> str:
    lines = [f"{route.name}: the access rules are broken for these cells:"]
    for cell in cells:
        if not cell.ok:
            kind = f" on a {cell.kind} item" if cell.kind else ""
            lines.append(
                f"  {cell.user}{kind} ({cell.path}): expected {cell.want}, got {cell.got} {cell.note}"
            )
    return "\n".join(lines)


@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
def test_every_role_gets_the_answer_the_rules_give(matrix_web: Web, route: Route) -> None:
    kinds: list[str | None] = list(ITEM_KINDS) if route.is_item_route else [None]
    cells = []
    for user in USERS:
        client = _client(matrix_web, user)  # one sign-in per user: each kind of item is a different item
        cells += [_check(matrix_web, client, route, user, kind) for kind in kinds]
    assert all(cell.ok for cell in cells), _report(route, cells)


def declared_routes(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every endpoint, including those of included routers."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI 0.150 includes routers lazily
        if inner is not None:
            assert not getattr(getattr(route, "include_context", None), "prefix", ""), "prefixed include"
            found |= declared_routes(list(inner.routes))
        elif isinstance(route, APIRoute | StarletteRoute):
            found |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
    return found


def test_every_route_of_the_app_is_in_the_matrix(matrix_web: Web) -> None:
    declared = declared_routes(matrix_web.app.routes)
    assert ("GET", "/queue") in declared
    assert ("POST", "/api/items/{item_id}/outcome") in declared
    covered = {(route.method, route.template) for route in ROUTES} | set(NOT_IN_MATRIX)
    missing = declared - covered
    assert not missing, (
        "add these routes to ROUTES in tests/review_ui/web/test_access_matrix.py "
        f"(who may use them?): {sorted(missing)}"
    )
    gone = {(route.method, route.template) for route in ROUTES} - declared
    assert not gone, f"the matrix lists routes the app no longer has: {sorted(gone)}"


# --- Guessing ids -------------------------------------------------------------------


def _strip_per_response(html: str) -> str:
    """A page without what differs on every response (nonce, CSRF token)."""
    html = re.sub(r'nonce="[^"]*"', "", html)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def test_a_caseworker_guessing_ids_gets_not_found_every_time_and_it_is_audited(matrix_web: Web) -> None:
    web = matrix_web
    # Guessing is also paced by the limit on case files a minute (test_case_file_rate_limit.py);
    # here every guess must look like a missing item, so that limit is moved out of the way.
    web.app.state.case_file_reads = CaseFileReadLimit(per_minute=10_000)
    casey = web.sign_in("casey")
    token = _token(casey)
    own = set(web.world.items["Northgate"])
    everything = {item for ids in web.world.items.values() for item in ids}
    guesses = sorted(set(range(1, max(everything) + 6)) - own) + [MISSING_ID]
    attempts: list[Callable[[int], Any]] = [
        lambda item: casey.get(f"/items/{item}"),
        lambda item: casey.get(f"/api/items/{item}"),
        lambda item: casey.post(f"/items/{item}/claim", data={"csrf_token": token}, follow_redirects=False),
        lambda item: casey.post(
            f"/items/{item}/outcome", data={**OUTCOME, "csrf_token": token}, follow_redirects=False
        ),
        lambda item: casey.post(f"/api/items/{item}/outcome", json=OUTCOME, headers={"X-CSRF-Token": token}),
    ]
    pages: dict[int, str] = {}
    answers: dict[int, Any] = {}
    for item in guesses:
        for number, attempt in enumerate(attempts):
            response = attempt(item)
            assert response.status_code == 404, (item, number, response.status_code, response.text[:200])
        pages[item] = _strip_per_response(casey.get(f"/items/{item}").text)
        answers[item] = casey.get(f"/api/items/{item}").json()
    # An item in another locality looks exactly like one that does not exist.
    assert len(set(pages.values())) == 1
    assert len({json.dumps(answer, sort_keys=True) for answer in answers.values()}) == 1
    # Nothing was claimed or closed.
    with web.app.state.session_factory() as db:
        statuses = set(db.scalars(select(ReviewItem.status).where(ReviewItem.id.in_(everything - own))))
        refusals = list(
            db.scalars(
                select(AuditEntry).where(
                    AuditEntry.actor == "casey", AuditEntry.action == "item_view_refused"
                )
            )
        )
    assert statuses == {ItemStatus.NEW}
    # Every guess is in the audit log, with the id that was asked for.
    per_id: dict[int, int] = {}
    for entry in refusals:
        requested = int(entry.detail["requested_item_id"])
        per_id[requested] = per_id.get(requested, 0) + 1
        assert entry.person_id is None  # the refusal does not record whose item it was
    for item in guesses:
        assert per_id.get(item, 0) >= len(attempts), f"guesses at item {item} are missing from the audit log"


def test_a_team_lead_sees_the_unknown_list_but_not_another_locality(matrix_web: Web) -> None:
    tess = matrix_web.sign_in("tess")
    unknown = tess.get("/queue?locality=unknown").text
    for item in matrix_web.world.items["unknown"]:
        assert f"/items/{item}" in unknown
    for item in matrix_web.world.items["Riverside"] + matrix_web.world.items["Northgate"]:
        assert f'"/items/{item}"' not in unknown
    casey = matrix_web.sign_in("casey")
    asked_for_unknown = casey.get("/queue?locality=unknown").text
    for item in matrix_web.world.items["unknown"]:
        assert f'"/items/{item}"' not in asked_for_unknown
