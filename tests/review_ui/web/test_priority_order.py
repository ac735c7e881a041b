"""One priority order: the list page, the API and "claim the next item" agree.

Items without a rank, ties on rank and an older night are mixed in, on SQLite
and PostgreSQL (which sort nulls at opposite ends unless told), so a second
copy of the order that forgot one rule would disagree here.
"""

from __future__ import annotations

from datetime import timedelta

from review_ui.store import claim_next_item, get_user_by_username, write_transaction
from tests.review_ui.web.conftest import Web
from tests.review_ui.web.test_queue_page import listed
from tests.support.review_app import AS_OF, review_item


def add_mixed_items(web: Web) -> list[int]:
    """Northgate's items after adding unranked, tied and older ones: the expected order."""
    with web.app.state.session_factory() as db, write_transaction(db):
        extra = {
            "unranked": review_item("N-4", "Northgate", rank=None),
            "tied": review_item("N-5", "Northgate", rank=2),
            "older": review_item("N-6", "Northgate", surfaced_on=AS_OF - timedelta(days=1), rank=1),
            "older unranked": review_item(
                "N-7", "Northgate", surfaced_on=AS_OF - timedelta(days=1), rank=None
            ),
        }
        db.add_all(extra.values())
        db.flush()
        ids = {name: item.id for name, item in extra.items()}
    first, second, third = web.world.items["Northgate"]
    return [first, second, ids["tied"], third, ids["unranked"], ids["older"], ids["older unranked"]]


def test_the_list_the_api_and_claim_next_give_the_same_order_nulls_last(web: Web) -> None:
    expected = add_mixed_items(web)
    client = web.sign_in("casey")

    assert listed(client.get("/queue").text) == expected
    assert [item["id"] for item in client.get("/api/items").json()["items"]] == expected
    with web.app.state.session_factory() as db:
        casey = get_user_by_username(session=db, username="casey")
        assert casey is not None
        claimed = []
        while (item := claim_next_item(session=db, user=casey)) is not None:
            claimed.append(item.id)
    assert claimed == expected
