"""The audit log page: administrators only, newest first, filters, pages, and itself audited."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from review_ui.store import AuditEntry, append_audit, claim_item, record_outcome, write_transaction
from review_ui.store.audit import AuditAction, row_hash
from tests.review_ui.web.conftest import Web, csrf_from

ROW = re.compile(r'<tr class="govuk-table__row">\s*(.*?)</tr>', re.S)
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)


def table_rows(page: str) -> list[list[str]]:
    """The audit table's body rows as [when, who, what, item, person, from where]."""
    body = page.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return [[html.unescape(cell.strip()) for cell in CELL.findall(row)] for row in ROW.findall(body)]


def add_entries(web: Web, count: int, *, at: datetime | None = None, actor: str = "nightly-route") -> None:
    """Entries, dated ``at`` when given: as if written then (on SQLite the guard against
    back-dated entries is lifted for this one transaction, and each entry is re-hashed)."""
    with web.app.state.session_factory() as db, write_transaction(db):
        sqlite = db.get_bind().dialect.name == "sqlite"
        guard = ""
        if at is not None and sqlite:
            guard = db.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_backdating'")
            ).scalar_one()
            db.execute(text("DROP TRIGGER audit_log_no_backdating"))
        for n in range(count):
            entry = append_audit(
                session=db,
                actor=actor,
                action=AuditAction.NIGHT_ROUTED,
                detail={"as_of": "2026-06-30", "n": n},
            )
            if at is not None:
                entry.at = at
                entry.row_hash = row_hash(entry)
        if at is not None and sqlite:
            db.flush()
            db.execute(text(guard))


def test_only_administrators_can_read_the_audit_log(web: Web) -> None:
    for username in ("casey", "tess", "ann"):
        response = web.sign_in(username).get("/audit")
        assert response.status_code == 403, username
        assert "You cannot see this page" in response.text
    assert web.anonymous().get("/audit", follow_redirects=False).headers["location"] == "/sign-in?next=/audit"
    # Each refusal is in the log, in plain English, for the administrator to see.
    rows = table_rows(web.sign_in("ada").get("/audit", params={"action": "page_refused"}).text)
    assert [row[1:3] for row in rows] == [
        [username, "Tried to use /audit, which their role does not give them"]
        for username in ("ann", "tess", "casey")
    ]


def test_the_log_reads_newest_first_in_plain_english(web: Web) -> None:
    item_id = web.world.items["Northgate"][0]
    with web.app.state.session_factory() as db, write_transaction(db):
        # Markup in a stored actor is shown as text (sign-in no longer stores what was typed).
        append_audit(session=db, actor="<b>mallory</b>", action=AuditAction.SIGN_IN_FAILED)
    with web.app.state.session_factory() as db:
        claim_item(session=db, item_id=item_id, user=web.world.users["casey"], source="10.0.0.7")
        record_outcome(
            session=db,
            item_id=item_id,
            user=web.world.users["casey"],
            outcome="help_offered",
            source="10.0.0.7",
        )
    failed = web.anonymous()
    failed.post(
        "/sign-in",
        data={
            "username": "<b>mallory</b>",
            "password": "wrong",
            "csrf_token": csrf_from(failed.get("/sign-in").text),
        },
    )
    response = web.sign_in("ada").get("/audit")
    assert response.status_code == 200
    rows = table_rows(response.text)
    assert [row[1:] for row in rows[:5]] == [
        ["ada", "Viewed the audit log", "", "", "testclient"],
        ["ada", "Signed in", "", "", "testclient"],
        # What was typed as a username that is no account's is not written (issue 17 row 16).
        ["(unknown username)", "Sign-in failed", "", "", "testclient"],
        ["casey", "Recorded outcome: help offered", str(item_id), "N-1", "10.0.0.7"],
        ["casey", "Claimed", str(item_id), "N-1", "10.0.0.7"],
    ]
    assert "&lt;b&gt;mallory&lt;/b&gt;" in response.text
    assert "<b>mallory</b>" not in response.text
    assert re.fullmatch(r"\d{1,2} \w+ \d{4} at \d{2}:\d{2} UTC", rows[0][0])
    assert rows[-1][2] == "Added casey as a caseworker in Northgate"


def test_reading_the_log_is_itself_audited_with_the_filters_used(web: Web) -> None:
    client = web.sign_in("ada")
    client.get("/audit", params={"actor": "casey", "action": "item_claimed", "item": "1", "person": "N-1"})
    with web.app.state.session_factory() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "audit_viewed")).one()
    assert entry.actor == "ada"
    assert entry.detail == {
        "actor": "casey",
        "action": "item_claimed",
        "item_id": 1,
        "person_id": "N-1",
        "page": 1,
    }


def test_filters_narrow_the_log(web: Web) -> None:
    northgate, second = web.world.items["Northgate"][:2]
    with web.app.state.session_factory() as db:
        claim_item(session=db, item_id=northgate, user=web.world.users["casey"])
        claim_item(session=db, item_id=second, user=web.world.users["cora"])
    client = web.sign_in("ada")

    def who_and_what(**params: str) -> list[tuple[str, str]]:
        response = client.get("/audit", params=params)
        assert response.status_code == 200
        if "No entries match these filters." in response.text:
            return []
        return [(row[1], row[2]) for row in table_rows(response.text)]

    assert who_and_what(actor="cora") == [("cora", "Claimed")]
    assert who_and_what(action="item_claimed") == [("cora", "Claimed"), ("casey", "Claimed")]
    assert who_and_what(item=str(northgate)) == [("casey", "Claimed")]
    assert who_and_what(person="N-2") == [("cora", "Claimed")]
    assert who_and_what(actor="casey", action="user_created") == []
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    day = {"from-day": str(today.day), "from-month": str(today.month), "from-year": str(today.year)}
    assert ("cora", "Claimed") in who_and_what(**day, action="item_claimed")
    later = {
        "from-day": str(tomorrow.day),
        "from-month": str(tomorrow.month),
        "from-year": str(tomorrow.year),
    }
    assert who_and_what(**later) == []
    select_html = client.get("/audit").text.split('id="action"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'value="(\w*)"', select_html) == [
        "",
        "audit_viewed",
        "item_claimed",
        "signed_in",
        "user_created",
    ]


def test_the_date_filter_is_inclusive_of_both_days(web: Web) -> None:
    add_entries(web, 1, at=datetime(2026, 3, 27, 23, 59, tzinfo=UTC), actor="early")
    add_entries(web, 1, at=datetime(2026, 3, 28, 0, 0, tzinfo=UTC), actor="late")
    client = web.sign_in("ada")
    page = client.get(
        "/audit",
        params={
            "from-day": "27",
            "from-month": "3",
            "from-year": "2026",
            "to-day": "27",
            "to-month": "03",
            "to-year": "2026",
        },
    )
    assert [row[1] for row in table_rows(page.text)] == ["early"]


BAD_FILTERS: list[tuple[dict[str, str], str, str]] = [
    (
        {"from-day": "31", "from-month": "2", "from-year": "2026"},
        "Date from must be a real date",
        "from-day",
    ),
    ({"to-day": "1", "to-year": "2026"}, "Date to must include a month", "to-month"),
    (
        {"from-day": "a", "from-month": "2", "from-year": "2026"},
        "Date from must be a real date",
        "from-day",
    ),
    (
        {
            "from-day": "2",
            "from-month": "2",
            "from-year": "2026",
            "to-day": "1",
            "to-month": "2",
            "to-year": "2026",
        },
        "Date to must be the same as or after date from",
        "to-day",
    ),
    ({"item": "N-1"}, "Item must be a number, like 1042", "item"),
]


def test_bad_filters_show_the_error_summary(web: Web) -> None:
    client = web.sign_in("ada")
    for params, message, anchor in BAD_FILTERS:
        response = client.get("/audit", params=params)
        assert response.status_code == 400, params
        assert "<title>Error: Audit log" in response.text
        assert "There is a problem" in response.text
        assert f'href="#{anchor}">{message}</a>' in response.text
        assert 'id="audit-count"' not in response.text
        for name, value in params.items():
            assert f'name="{name}"' in response.text
            assert f'value="{value}"' in response.text


def test_the_log_is_paged_and_pages_keep_the_filters(web: Web) -> None:
    add_entries(web, 120)
    client = web.sign_in("ada")
    first = client.get("/audit", params={"actor": "nightly-route"})
    assert "Showing 1 to 50 of 120 entries." in first.text
    assert 'href="/audit?actor=nightly-route&amp;page=2"' in first.text
    assert 'class="govuk-pagination' in first.text
    last = client.get("/audit", params={"actor": "nightly-route", "page": "3"})
    assert "Showing 101 to 120 of 120 entries." in last.text
    assert len(table_rows(last.text)) == 20
    assert 'rel="prev"' in last.text
    assert 'rel="next"' not in last.text
    beyond = client.get("/audit", params={"actor": "nightly-route", "page": "99"})
    assert "Showing 101 to 120 of 120 entries." in beyond.text
    assert (
        "Showing 1 to 50" in client.get("/audit", params={"actor": "nightly-route", "page": "nonsense"}).text
    )
