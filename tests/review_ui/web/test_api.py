"""The JSON API: the same sign-in, roles and locality rules as the pages; never a score."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from review_ui.store import AuditEntry, ItemStatus, ReviewItem, ReviewOutcome, claim_item
from tests.review_ui.web.conftest import Web, csrf_from


def csrf_header(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_from(client.get("/privacy").text)}


def keys_anywhere(value: Any) -> set[str]:
    """Every key of every object in a JSON document, however deep."""
    if isinstance(value, dict):
        return set(value) | {key for child in value.values() for key in keys_anywhere(child)}
    if isinstance(value, list):
        return {key for child in value for key in keys_anywhere(child)}
    return set()


def audit(web: Web, action: str) -> list[AuditEntry]:
    with web.app.state.session_factory() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_me_says_who_is_signed_in(web: Web) -> None:
    assert web.sign_in("tess").get("/api/me").json() == {
        "username": "tess",
        "role": "team_lead",
        "locality": "Northgate",
    }


def test_a_caseworker_lists_their_own_localitys_open_items_in_rank_order(web: Web) -> None:
    body = web.sign_in("casey").get("/api/items").json()
    assert [item["id"] for item in body["items"]] == web.world.items["Northgate"]
    assert body["total"] == 3
    assert {item["locality"] for item in body["items"]} == {"Northgate"}
    first = body["items"][0]
    assert set(first) == {
        "id",
        "locality",
        "ward",
        "status",
        "rank",
        "reasons",
        "services",
        "first_surfaced_on",
        "last_scored_on",
        "assigned_to",
    }
    assert first["rank"] == 1
    assert first["status"] == "new"
    assert first["assigned_to"] is None
    assert first["reasons"][0].startswith("Missed 2 council tax instalments")


def test_the_list_pages_with_limit_and_offset(web: Web) -> None:
    client = web.sign_in("casey")
    page = client.get("/api/items", params={"limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == web.world.items["Northgate"][1:3]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert client.get("/api/items", params={"limit": 101}).status_code == 422
    assert client.get("/api/items", params={"limit": 0}).status_code == 422
    assert client.get("/api/items", params={"offset": -1}).status_code == 422


def test_the_status_filter(web: Web) -> None:
    client = web.sign_in("casey")
    first = web.world.items["Northgate"][0]
    with web.app.state.session_factory() as db:
        claim_item(session=db, item_id=first, user=web.world.users["casey"])
    in_review = client.get("/api/items", params={"status": "in_review"}).json()
    assert [(item["id"], item["assigned_to"]) for item in in_review["items"]] == [(first, "casey")]
    assert client.get("/api/items", params={"status": "new"}).json()["total"] == 2
    assert client.get("/api/items", params={"status": "closed"}).json()["total"] == 0
    assert client.get("/api/items", params={"status": "sanctioned"}).status_code == 422


def test_team_leads_get_the_unknown_list_and_caseworkers_do_not(web: Web) -> None:
    lead = web.sign_in("tess").get("/api/items", params={"locality": "unknown"})
    assert [item["id"] for item in lead.json()["items"]] == web.world.items["unknown"]
    casey = web.sign_in("casey")
    assert casey.get("/api/items", params={"locality": "unknown"}).status_code == 404
    assert casey.get("/api/items", params={"locality": "Riverside"}).status_code == 404
    assert web.sign_in("tess").get("/api/items", params={"locality": "Riverside"}).status_code == 404


def test_an_item_comes_with_its_case_file_and_history_and_the_read_is_audited(web: Web) -> None:
    item_id = web.world.items["Northgate"][1]
    body = web.sign_in("cora").get(f"/api/items/{item_id}").json()
    assert body["id"] == item_id
    assert body["person_id"] == "N-2"
    assert body["case_file"]["content"]["person"]["names"] == ["Jamie Example"]
    assert body["history"] == []
    assert body["outcome"] is None
    [entry] = audit(web, "person_viewed")
    assert (entry.actor, entry.item_id, entry.person_id, entry.detail) == (
        "cora",
        item_id,
        "N-2",
        {"locality": "Northgate", "case_file": True, "via": "api"},
    )
    assert entry.source == "testclient"


def test_another_localitys_item_is_not_found_and_the_attempt_is_audited(web: Web) -> None:
    riverside = web.world.items["Riverside"][0]
    response = web.sign_in("casey").get(f"/api/items/{riverside}")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is nothing here that you can see."}
    assert web.sign_in("casey").get("/api/items/999999").status_code == 404
    refused = audit(web, "item_view_refused")
    assert [(e.actor, e.detail["requested_item_id"]) for e in refused] == [
        ("casey", riverside),
        ("casey", 999999),
    ]
    assert audit(web, "person_viewed") == []


def test_recording_an_outcome_claims_a_new_item_first(web: Web) -> None:
    client = web.sign_in("casey")
    item_id = web.world.items["Northgate"][0]
    response = client.post(
        f"/api/items/{item_id}/outcome",
        json={"outcome": "help_offered", "note": "Called; booked a benefits check."},
        headers=csrf_header(client),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["item_id"], body["status"], body["outcome"]) == (item_id, "closed", "help_offered")
    with web.app.state.session_factory() as db:
        item = db.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == ItemStatus.CLOSED
        assert item.outcome == "help_offered"
        review = db.scalars(select(ReviewOutcome).where(ReviewOutcome.item_id == item_id)).one()
        assert review.note == "Called; booked a benefits check."
    assert [e.actor for e in audit(web, "item_claimed")] == ["casey"]
    assert [e.detail for e in audit(web, "outcome_recorded")] == [{"outcome": "help_offered"}]
    detail = client.get(f"/api/items/{item_id}").json()
    assert (detail["status"], detail["outcome"], detail["assigned_to"]) == ("closed", "help_offered", "casey")


def test_an_outcome_on_someone_elses_item_is_a_conflict(web: Web) -> None:
    item_id = web.world.items["Northgate"][0]
    with web.app.state.session_factory() as db:
        claim_item(session=db, item_id=item_id, user=web.world.users["cora"])
    client = web.sign_in("casey")
    response = client.post(
        f"/api/items/{item_id}/outcome", json={"outcome": "declined"}, headers=csrf_header(client)
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Someone else is reviewing this item. Ask your team lead if it should be given to you."
    }
    cora = web.sign_in("cora")
    assert (
        cora.post(
            f"/api/items/{item_id}/outcome", json={"outcome": "declined"}, headers=csrf_header(cora)
        ).status_code
        == 200
    )
    again = cora.post(
        f"/api/items/{item_id}/outcome", json={"outcome": "declined"}, headers=csrf_header(cora)
    )
    assert again.status_code == 409
    assert "already closed" in again.json()["detail"]


BAD_OUTCOMES: list[Any] = [
    {"outcome": "evicted"},
    {},
    {"outcome": "help_offered", "note": "x" * 2001},
    {"outcome": "help_offered", "note": "nul\x00byte"},
    {"outcome": "help_offered", "extra": 1},
    [],
]


def test_bad_outcome_input_is_422_and_changes_nothing(web: Web) -> None:
    client = web.sign_in("casey")
    item_id = web.world.items["Northgate"][0]
    for body in BAD_OUTCOMES:
        response = client.post(f"/api/items/{item_id}/outcome", json=body, headers=csrf_header(client))
        assert response.status_code == 422, body
    with web.app.state.session_factory() as db:
        item = db.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == ItemStatus.NEW


def test_an_outcome_without_the_csrf_header_is_refused(web: Web) -> None:
    client = web.sign_in("casey")
    item_id = web.world.items["Northgate"][0]
    missing = client.post(f"/api/items/{item_id}/outcome", json={"outcome": "help_offered"})
    wrong = client.post(
        f"/api/items/{item_id}/outcome", json={"outcome": "help_offered"}, headers={"X-CSRF-Token": "forged"}
    )
    assert missing.status_code == wrong.status_code == 403
    with web.app.state.session_factory() as db:
        item = db.get(ReviewItem, item_id)
        assert item is not None
        assert item.status == ItemStatus.NEW


def test_an_outcome_on_another_localitys_item_is_not_found(web: Web) -> None:
    client = web.sign_in("casey")
    riverside = web.world.items["Riverside"][0]
    response = client.post(
        f"/api/items/{riverside}/outcome", json={"outcome": "help_offered"}, headers=csrf_header(client)
    )
    assert response.status_code == 404


def test_without_a_session_every_api_route_is_401(web: Web) -> None:
    client = web.anonymous()
    item_id = web.world.items["Northgate"][0]
    for response in (
        client.get("/api/me"),
        client.get("/api/items"),
        client.get(f"/api/items/{item_id}"),
        client.post(f"/api/items/{item_id}/outcome", json={"outcome": "help_offered"}),
    ):
        assert response.status_code == 401
        assert response.json() == {"detail": "Sign in first."}


def test_analysts_and_administrators_cannot_use_the_item_routes(web: Web) -> None:
    for username in ("ann", "ada"):
        forbidden_item_routes(web, username)
    assert audit(web, "person_viewed") == []


def forbidden_item_routes(web: Web, username: str) -> None:
    client = web.sign_in(username)
    item_id = web.world.items["Northgate"][0]
    assert client.get("/api/me").status_code == 200
    for response in (
        client.get("/api/items"),
        client.get("/api/items", params={"locality": "Northgate"}),
        client.get(f"/api/items/{item_id}"),
        client.post(
            f"/api/items/{item_id}/outcome", json={"outcome": "help_offered"}, headers=csrf_header(client)
        ),
    ):
        assert response.status_code == 403
        assert "role" in response.json()["detail"], username


def test_no_api_response_or_schema_mentions_a_score(web: Web) -> None:
    client = web.sign_in("tess")
    item_id = web.world.items["Northgate"][0]
    documents = [
        client.get("/api/items").json(),
        client.get("/api/items", params={"locality": "unknown"}).json(),
        client.get(f"/api/items/{item_id}").json(),
        client.post(
            f"/api/items/{item_id}/outcome", json={"outcome": "help_offered"}, headers=csrf_header(client)
        ).json(),
        client.get(f"/api/items/{item_id}").json(),
    ]
    for document in documents:
        assert not {key for key in keys_anywhere(document) if "score" in key.lower()} - {"last_scored_on"}
    schema = client.get("/api/openapi.json").json()
    properties = {
        name for model in schema["components"]["schemas"].values() for name in model.get("properties", {})
    }
    assert "score" not in properties
    assert {"/api/me", "/api/items", "/api/items/{item_id}", "/api/items/{item_id}/outcome"} <= set(
        schema["paths"]
    )
    tags = {
        tag for path in schema["paths"].values() for operation in path.values() for tag in operation["tags"]
    }
    assert tags == {"account", "review list"}
