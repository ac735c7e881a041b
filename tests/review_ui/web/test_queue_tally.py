"""The list's counts, ward choices, totals and pages, checked against the items themselves.

The list reads one tally (per status, holder and ward) for its counts, ward
choices and filtered total, and a page's ids from an index before reading
those rows. These tests compare every filter and sort with the same list
worked out in Python from all the items, and check that nothing shown is
left over from before a new night or someone's action. Every test runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from early_warning.config import load_config
from review_ui.routing import route_night
from review_ui.store import ReviewItem, User
from review_ui.web import create_app
from review_ui.web.queue_view import ListFilters, queue_page
from tests.review_ui.conftest import candidates, with_rules
from tests.review_ui.web.conftest import Web, web_settings
from tests.review_ui.web.test_person_page import record
from tests.review_ui.web.test_queue_page import claim, count, listed
from tests.support.review_app import AS_OF, build_world, case_file, claim_as, review_item

WARD_OPTION = re.compile(r'<option value="([^"]*)"[^>]*>')


def ward_choices(html: str) -> list[str]:
    """The values of the ward filter's options (the first, "", is "All wards")."""
    select_html = html.split('id="ward"', 1)[1].split("</select>", 1)[0]
    return WARD_OPTION.findall(select_html)


@pytest.fixture
def mixed_list(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """Fifteen Northgate items in three wards (and none), over two nights, some claimed, pages of five."""
    settings = web_settings(tmp_path, page_size=5)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db, items_per_locality=15)
        items = [db.get(ReviewItem, item_id) for item_id in world.items["Northgate"]]
        for n, found in enumerate(items):
            assert found is not None
            found.ward = [None, "Central", "Harbour", "Quayside", "Harbour"][n % 5]
            found.first_surfaced_on = AS_OF - timedelta(days=(n * 7) % 11)
            found.last_scored_on = AS_OF - timedelta(days=n % 2)
            found.rank = None if n == 4 else (n * 5) % 8  # ties on rank are broken by id
        db.commit()
        for n, item_id in enumerate(world.items["Northgate"]):
            if n % 3 == 1:
                claim_as(db, item_id, "casey" if n % 2 else "cora")
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


def _expected(
    items: list[ReviewItem], viewer: User, status: str, ward: str, assigned: Any, sort: str
) -> list[int]:
    """The list worked out in Python: the filters, then the sort, as the page explains them."""
    shown = [
        item
        for item in items
        if (status == "open" or item.status == status)
        and (not ward or item.ward == ward)
        and (
            assigned == "anyone"
            or (assigned == "me" and item.assigned_to_id == viewer.id)
            or (assigned == "unassigned" and item.assigned_to_id is None)
            or (isinstance(assigned, int) and item.assigned_to_id == assigned)
        )
    ]

    def priority(item: ReviewItem) -> tuple[int, int, int]:
        return (-item.last_scored_on.toordinal(), item.rank if item.rank is not None else 10**9, item.id)

    if sort == "waiting":
        shown.sort(key=lambda item: (item.first_surfaced_on, priority(item)))
    elif sort == "ward":
        shown.sort(key=lambda item: (item.ward is None, item.ward or "", priority(item)))
    else:
        shown.sort(key=priority)
    return [item.id for item in shown]


def test_every_filter_and_sort_shows_the_same_people_in_the_same_order_as_worked_out_by_hand(
    mixed_list: Web,
) -> None:
    with mixed_list.app.state.session_factory() as db:
        casey = db.scalars(select(User).where(User.username == "casey")).one()
        cora_id = db.scalars(select(User.id).where(User.username == "cora")).one()
        items = list(db.scalars(select(ReviewItem).where(ReviewItem.locality == "Northgate")))
        assert {item.status for item in items} == {"new", "in_review"}
        for status in ("open", "new", "in_review"):
            for ward in ("", "Central", "Harbour", "Quayside"):
                for assigned in ("anyone", "me", "unassigned", cora_id):
                    for sort in ("priority", "waiting", "ward"):
                        expected = _expected(items, casey, status, ward, assigned, sort)
                        seen: list[int] = []
                        for number in range(1, 6):
                            filters = ListFilters(
                                locality="Northgate",
                                status=status,
                                ward=ward,
                                assigned=str(assigned),
                                sort=sort,
                                page=number,
                            )
                            page = queue_page(db, viewer=casey, filters=filters, page_size=5)
                            assert page.total == len(expected), (status, ward, assigned, sort)
                            if page.filters.page == number:
                                seen += [row.id for row in page.rows]
                        assert seen == expected, (status, ward, assigned, sort)
        page = queue_page(db, viewer=casey, filters=ListFilters(locality="Northgate"), page_size=5)
        assert page.wards == ["Central", "Harbour", "Quayside"]
        in_review = [item for item in items if item.status == "in_review"]
        assert (page.counts.waiting, page.counts.in_review, page.counts.mine) == (
            len(items) - len(in_review),
            len(in_review),
            sum(item.assigned_to_id == casey.id for item in in_review),
        )


def test_ward_choices_and_counts_follow_a_new_night_and_every_outcome(web: Web) -> None:
    first, harbour, third = web.world.items["Northgate"]
    casey = web.sign_in("casey")
    html = casey.get("/queue").text
    assert ward_choices(html) == ["", "Central", "Harbour"]
    assert count(html, "waiting") == 3

    # A night surfaces someone in a ward no one on the list was in.
    night = AS_OF + timedelta(days=1)
    route_night(
        as_of=night,
        candidates=candidates(("N-new", 0.97, "Northgate")),
        case_files=pl.DataFrame(
            {
                "person_id": ["N-new"],
                "ward": ["Quayside"],
                "content": [json.dumps(case_file("N-new", as_of=night))],
            }
        ),
        config=with_rules(load_config(), capacities={"Northgate": 5}),
        model_version="rules-score",
        engine=web.app.state.engine,
    )
    html = casey.get("/queue").text
    assert ward_choices(html) == ["", "Central", "Harbour", "Quayside"]
    assert count(html, "waiting") == 4
    newcomer = listed(html)[0]
    assert newcomer not in (first, harbour, third)
    assert listed(casey.get("/queue?ward=Quayside").text) == [newcomer]

    # Recording what happened closes the only Harbour item: Harbour is no longer offered.
    claim(casey, harbour)
    html = casey.get("/queue").text
    assert (count(html, "waiting"), count(html, "in review"), count(html, "with you")) == (3, 1, 1)
    assert "Harbour" in ward_choices(html)
    assert record(casey, harbour, outcome="help_offered", note="").status_code == 303  # type: ignore[attr-defined]
    html = casey.get("/queue").text
    assert ward_choices(html) == ["", "Central", "Quayside"]
    assert (count(html, "waiting"), count(html, "in review"), count(html, "with you")) == (3, 0, 0)
    # An old link filtered by the ward that has gone shows the whole list, not an empty one.
    assert listed(casey.get("/queue?ward=Harbour").text) == listed(html)
    assert "3 people" in html


def test_the_same_persons_earlier_items_and_items_merged_into_this_one_are_both_earlier_reviews(
    web: Web,
) -> None:
    first, second, _ = web.world.items["Northgate"]
    with web.app.state.session_factory() as db:
        older = review_item(
            "N-1",
            "Northgate",
            surfaced_on=date(2025, 9, 30),
            services=("housing_rent",),
            ward="Central",
            rank=9,
            reasons=["Missed 3 rent payments since 1 August 2025."],
            status="closed",
            outcome="declined",
            closed_at=datetime(2025, 10, 2, 9, 30, tzinfo=UTC),
        )
        db.add(older)
        merged = db.get(ReviewItem, second)
        assert merged is not None
        merged.status = "merged"
        merged.merged_into_id = first
        db.commit()
        older_id = older.id
    html = web.sign_in("casey").get(f"/items/{first}").text
    earlier = html.split("Earlier reviews", 1)[1]
    cards = re.findall(r'<h3 class="govuk-summary-card__title">\s*Item (\d+)\s*</h3>', earlier)
    assert sorted(int(card) for card in cards) == sorted([older_id, second])
    assert "Declined" in earlier
    assert f"Joined with item {first}, because they are the same person" in earlier
