"""Marking a record "not this person" on the person page, and the data team's page of link constraints.

Every test runs on SQLite and PostgreSQL (the ``web`` fixture).
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from review_ui.store.link_constraints import LinkConstraint, read_link_constraints
from tests.review_ui.web.conftest import Web, assert_page_keeps_the_rules, csrf_from
from tests.review_ui.web.test_queue_page import audit

FORM = "/items/{item}/not-this-person?source=contact_centre&reference=CC-{person}"


def _constraints(web: Web) -> list[LinkConstraint]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(LinkConstraint).order_by(LinkConstraint.id)))


def _mark(client: TestClient, item_id: int, person: str, reason: str) -> object:
    page = client.get(FORM.format(item=item_id, person=person))
    assert page.status_code == 200, page.text
    return client.post(
        f"/items/{item_id}/not-this-person",
        data={
            "csrf_token": csrf_from(page.text),
            "source": "contact_centre",
            "reference": f"CC-{person}",
            "reason": reason,
        },
        follow_redirects=False,
    )


def test_the_person_page_offers_to_mark_each_joined_record(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    html = web.sign_in("casey").get(f"/items/{first}").text
    assert "If a record is not this person" in html
    assert html.count("This record is not this person") == 2  # one link for each of the two records
    assert f"/items/{first}/not-this-person?source=contact_centre&amp;reference=CC-N-1" in html


def test_a_caseworker_marks_a_record_and_it_is_stored_audited_and_confirmed(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    client = web.sign_in("casey")
    form = client.get(FORM.format(item=first, person="N-1")).text
    assert_page_keeps_the_rules(form)
    assert '<h1 class="govuk-heading-l">This record is not this person</h1>' in form
    assert "<title>This record is not this person –" in form

    response = _mark(client, first, "N-1", "Different date of birth on the contact centre record")
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = client.get(response.headers["location"]).text  # type: ignore[attr-defined]
    assert "From the next nightly update it will be kept apart" in page
    assert "Marked as not this person" in page
    assert page.count("This record is not this person") == 0  # the other record is all that is left
    [row] = _constraints(web)
    assert (row.kind, row.person_id, row.source_a, row.record_a) == (
        "not_same_person",
        "N-1",
        "contact_centre",
        "CC-N-1",
    )
    assert row.other_records == [["council_tax", "CT-N-1"]]
    assert row.created_by == "casey"
    [entry] = audit(web, "link_constraint_added_not_same_person")
    assert (entry.actor, entry.item_id, entry.person_id) == ("casey", first, "N-1")
    assert "Different" not in str(entry.detail)  # the reason is not copied into the audit log
    assert read_link_constraints(web.database_url)["record_b"].to_list() == ["CT-N-1"]


def test_a_missing_reason_shows_the_error_summary_and_saves_nothing(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    response = _mark(web.sign_in("casey"), first, "N-1", "   ")
    assert response.status_code == 400  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert "<title>Error: This record is not this person" in html
    assert 'class="govuk-error-summary"' in html
    assert '<a href="#reason">Enter a reason</a>' in html
    assert _constraints(web) == []


def test_a_caseworker_from_another_locality_cannot_mark_a_record(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    client = web.sign_in("rivka")
    assert client.get(FORM.format(item=first, person="N-1")).status_code == 404
    token = csrf_from(client.get("/queue").text)
    response = client.post(
        f"/items/{first}/not-this-person",
        data={"csrf_token": token, "source": "contact_centre", "reference": "CC-N-1", "reason": "Not them"},
    )
    assert response.status_code == 404
    assert _constraints(web) == []


def test_a_record_that_is_not_this_persons_cannot_be_marked(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    client = web.sign_in("casey")
    assert client.get(FORM.format(item=first, person="N-2")).status_code == 404
    token = csrf_from(client.get(f"/items/{first}").text)
    response = client.post(
        f"/items/{first}/not-this-person",
        data={"csrf_token": token, "source": "contact_centre", "reference": "CC-N-2", "reason": "x"},
    )
    assert response.status_code == 404
    assert _constraints(web) == []


def test_marking_needs_the_csrf_token(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    response = web.sign_in("casey").post(
        f"/items/{first}/not-this-person",
        data={"source": "contact_centre", "reference": "CC-N-1", "reason": "Not them"},
    )
    assert response.status_code == 403
    assert _constraints(web) == []


def test_only_the_data_team_opens_the_constraints_page(web: Web) -> None:
    for username in ("casey", "tess", "ada"):
        assert web.sign_in(username).get("/linkage/constraints").status_code == 403
    html = web.sign_in("ann").get("/linkage/constraints").text
    assert_page_keeps_the_rules(html)
    assert '<h1 class="govuk-heading-l">Records linked by people</h1>' in html
    assert 'href="/linkage/constraints"' in html  # in the navigation
    assert "Nothing is in use." in html


def test_the_data_team_sees_a_marked_record_and_undoes_it_with_a_reason(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    _mark(web.sign_in("casey"), first, "N-1", "Different date of birth")
    ann = web.sign_in("ann")
    html = ann.get("/linkage/constraints").text
    assert "Not the same person" in html
    assert "Different date of birth" in html
    assert "CC-N-1" in html
    assert "CT-N-1" in html
    assert "%" not in html  # no scores
    [row] = _constraints(web)
    undo_page = ann.get(f"/linkage/constraints/{row.id}/undo")
    assert undo_page.status_code == 200
    token = csrf_from(undo_page.text)
    refused = ann.post(f"/linkage/constraints/{row.id}/undo", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 400
    assert '<a href="#reason">Enter a reason</a>' in refused.text
    done = ann.post(
        f"/linkage/constraints/{row.id}/undo",
        data={"csrf_token": token, "reason": "Checked the tenancy: same person"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    html = ann.get(done.headers["location"]).text
    assert "Undone. The next nightly update will link these records without it." in html
    assert "Checked the tenancy: same person" in html
    assert read_link_constraints(web.database_url).is_empty()
    assert [e.actor for e in audit(web, "link_constraint_undone")] == ["ann"]
    # Once undone, it cannot be undone again, and the person page offers the record again.
    assert ann.get(f"/linkage/constraints/{row.id}/undo").status_code == 404
    assert "Marked as not this person" not in web.sign_in("casey").get(f"/items/{first}").text


def test_the_data_team_says_two_records_are_the_same_person(web: Web) -> None:
    ann = web.sign_in("ann")
    token = csrf_from(ann.get("/linkage/constraints").text)
    form = {
        "csrf_token": token,
        "kind": "same_person",
        "source_a": "council_tax",
        "reference_a": "CT-9",
        "source_b": "housing_benefit",
        "reference_b": "HB-4",
        "reason": "Same NI number in both systems",
    }
    bad = ann.post("/linkage/constraints", data=form | {"kind": "", "reference_b": ""})
    assert bad.status_code == 400
    assert '<a href="#kind">Select whether the records are the same person</a>' in bad.text
    assert '<a href="#reference_b">Enter the second record&#39;s reference</a>' in bad.text
    assert _constraints(web) == []
    done = ann.post("/linkage/constraints", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert read_link_constraints(web.database_url).rows() == [
        (_constraints(web)[0].id, "same_person", "council_tax", "CT-9", "housing_benefit", "HB-4")
    ]
    assert [e.actor for e in audit(web, "link_constraint_added_same_person")] == ["ann"]
    assert "The same person" in ann.get(done.headers["location"]).text


def test_reviewers_cannot_post_to_the_data_teams_page(web: Web) -> None:
    client = web.sign_in("tess")
    token = csrf_from(client.get("/queue").text)
    form = {"csrf_token": token, "kind": "same_person", "source_a": "a", "reference_a": "1"}
    assert client.post("/linkage/constraints", data=form).status_code == 403
    assert (
        client.post("/linkage/constraints/1/undo", data={"csrf_token": token, "reason": "x"}).status_code
        == 403
    )
    assert _constraints(web) == []
