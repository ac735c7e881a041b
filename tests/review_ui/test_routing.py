"""The nightly routing stage, on a real migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config
from review_ui import routing
from review_ui.routing import RouteSummary, route_night, surfaced_frame
from review_ui.store import (
    AuditEntry,
    ItemHistory,
    ItemStatus,
    ReviewItem,
    Role,
    RouteRun,
    claim_item,
    record_outcome,
)

from .conftest import MakeUser, candidates, night, with_rules

MODEL = "rules-v1"


def route(
    factory: sessionmaker[Session], config: Config, offset: int, frame: pl.DataFrame, **kw: Any
) -> RouteSummary:
    return route_night(
        session_factory=factory,
        as_of=night(offset),
        candidates=frame,
        config=config,
        model_version=MODEL,
        **kw,
    )


def items(session: Session) -> list[ReviewItem]:
    session.rollback()  # end any read snapshot (SQLite WAL reads are repeatable within one)
    session.expire_all()
    return list(session.scalars(select(ReviewItem).order_by(ReviewItem.id)))


def open_by_person(session: Session) -> dict[str, ReviewItem]:
    return {i.person_id: i for i in items(session) if i.status in ("new", "in_review")}


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Everything routing can touch, as plain tuples."""
    session.rollback()  # end any read snapshot (SQLite WAL reads are repeatable within one)
    session.expire_all()
    return {
        "items": [
            (i.id, i.person_id, i.status, i.score, i.rank, i.reasons, i.last_scored_on, i.version)
            for i in session.scalars(select(ReviewItem).order_by(ReviewItem.id))
        ],
        "history": [
            (h.item_id, h.as_of, h.score, h.rank, h.merged_into_item_id)
            for h in session.scalars(select(ItemHistory).order_by(ItemHistory.item_id, ItemHistory.as_of))
        ],
        "audit": [
            (a.id, a.action, a.item_id) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ],
        "runs": [(r.as_of, r.new_items, r.times_routed) for r in session.scalars(select(RouteRun))],
    }


def test_new_items_per_locality_never_exceed_capacity_and_take_the_highest_scores(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    frame = candidates(
        *[(f"n{i}", 0.9 - i * 0.1, "Northgate") for i in range(5)],
        *[(f"r{i}", 0.8 - i * 0.1, "Riverside") for i in range(3)],
        ("e0", 0.3, "Eastfield"),
    )
    summary = route(session_factory, config, 0, frame)

    assert summary.new_by_locality == {"Eastfield": 1, "Northgate": 3, "Riverside": 2}
    assert summary.over_capacity == 2 + 1
    assert summary.updated == 0
    by_person = open_by_person(session)
    assert sorted(by_person) == ["e0", "n0", "n1", "n2", "r0", "r1"]
    assert [by_person[p].rank for p in ("n0", "n1", "n2")] == [1, 2, 3]
    assert all(i.status == ItemStatus.NEW for i in by_person.values())


def test_a_locality_with_no_capacity_gets_no_new_items(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    closed_team = with_rules(config, capacities={"Northgate": 0, "Riverside": 2})
    summary = route(
        session_factory, closed_team, 0, candidates(("n0", 0.99, "Northgate"), ("r0", 0.1, "Riverside"))
    )
    assert summary.new_by_locality == {"Riverside": 1}
    assert summary.over_capacity == 1
    assert list(open_by_person(session)) == ["r0"]


def test_equal_scores_are_ranked_by_person_id_whatever_the_input_order(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    rows = [
        ("p-d", 0.5, "Riverside"),
        ("p-b", 0.5, "Riverside"),
        ("p-c", 0.5, "Riverside"),
        ("p-a", 0.5, "Riverside"),
    ]
    route(session_factory, config, 0, candidates(*rows))
    first = surfaced_frame(session_factory=session_factory, as_of=night(0))
    assert first["person_id"].to_list() == ["p-a", "p-b"]
    assert first["rank"].to_list() == [1, 2]

    route(session_factory, config, 0, candidates(*reversed(rows)))
    assert_frame_equal(surfaced_frame(session_factory=session_factory, as_of=night(0)), first)


def test_open_items_are_updated_not_duplicated_and_use_no_capacity(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    route(session_factory, config, 0, candidates(("a", 0.6, "Northgate"), ("b", 0.5, "Northgate")))
    worker = make_user("cw")
    claim_item(session=session, item_id=open_by_person(session)["b"].id, user=worker)

    night_two = candidates(
        ("a", 0.7, "Northgate"), ("b", 0.95, "Northgate"), ("c", 0.4, "Northgate"), ("d", 0.3, "Northgate"),
        ("e", 0.2, "Northgate"), ("f", 0.1, "Northgate"),
    )  # fmt: skip
    summary = route(session_factory, config, 1, night_two)

    assert summary.updated == 2
    assert summary.new_by_locality == {"Northgate": 3}  # a and b did not use any of the 3 places
    assert summary.over_capacity == 1
    by_person = open_by_person(session)
    assert sorted(by_person) == ["a", "b", "c", "d", "e"]
    assert len(items(session)) == 5
    assert (by_person["b"].status, by_person["b"].score, by_person["b"].rank) == ("in_review", 0.95, 1)
    assert (by_person["a"].score, by_person["a"].rank, by_person["a"].last_scored_on) == (0.7, 2, night(1))
    assert by_person["a"].first_surfaced_on == night(0)
    history = session.scalars(
        select(ItemHistory).where(ItemHistory.item_id == by_person["a"].id).order_by(ItemHistory.as_of)
    ).all()
    assert [(h.as_of, h.score, h.rank) for h in history] == [(night(0), 0.6, 1), (night(1), 0.7, 2)]


def _close(session: Session, item: ReviewItem, user: Any) -> None:
    claim_item(session=session, item_id=item.id, user=user)
    record_outcome(session=session, item_id=item.id, user=user, outcome="no_help_needed")


@pytest.mark.parametrize(
    ("score", "services", "rules", "resurfaces"),
    [
        pytest.param(0.55, ["council_tax"], {}, False, id="same-score-held-back"),
        pytest.param(0.64, ["council_tax"], {}, False, id="rise-below-threshold-held-back"),
        pytest.param(0.65, ["council_tax"], {}, True, id="score-rose-enough"),
        pytest.param(0.50, ["council_tax", "housing"], {}, True, id="new-service"),
        pytest.param(
            0.50, ["council_tax", "housing"], {"new_service": False}, False, id="new-service-rule-off"
        ),
    ],
)
def test_cool_down_holds_back_recently_closed_people_except_the_two_resurface_rules(
    session_factory: sessionmaker[Session],
    session: Session,
    config: Config,
    make_user: MakeUser,
    score: float,
    services: list[str],
    rules: dict[str, Any],
    resurfaces: bool,
) -> None:
    config = with_rules(config, **rules)
    route(session_factory, config, -1, candidates(("a", 0.5, "Northgate", ["council_tax"])))
    _close(session, open_by_person(session)["a"], make_user("cw"))

    summary = route(session_factory, config, 5, candidates(("a", score, "Northgate", services)))

    assert summary.held_back_cooldown == (0 if resurfaces else 1)
    assert summary.new_items == (1 if resurfaces else 0)
    assert ("a" in open_by_person(session)) is resurfaces
    assert [i.status for i in items(session)].count("closed") == 1  # routing never reopens or closes


def test_after_the_cool_down_a_person_can_be_surfaced_again(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    route(session_factory, config, -1, candidates(("a", 0.5, "Northgate")))
    _close(session, open_by_person(session)["a"], make_user("cw"))
    assert route(session_factory, config, 89, candidates(("a", 0.5, "Northgate"))).held_back_cooldown == 1
    summary = route(session_factory, config, 91, candidates(("a", 0.5, "Northgate")))
    assert summary.new_items == 1
    assert summary.held_back_cooldown == 0


def test_merged_people_keep_one_item_and_lose_no_review(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    route(session_factory, config, 0, candidates(("old-1", 0.6, "Northgate")))
    route(session_factory, config, 1, candidates(("old-2", 0.5, "Northgate"), ("old-3", 0.4, "Northgate")))
    worker = make_user("cw")
    before = open_by_person(session)
    claim_item(
        session=session, item_id=before["old-2"].id, user=worker
    )  # someone is working on the younger one
    _close(session, before["old-3"], worker)

    lineage = pl.DataFrame(
        {
            "person_id": ["new-1", "new-1", "new-1"],
            "previous_person_id": ["old-1", "old-2", "old-3"],
            "change": ["merged", "merged", "merged"],
        }
    )
    summary = route(session_factory, config, 2, candidates(("new-1", 0.7, "Northgate")), lineage=lineage)

    assert summary.merged == 1
    assert summary.new_items == 0
    now_open = open_by_person(session)
    assert list(now_open) == ["new-1"]
    kept = now_open["new-1"]
    assert kept.id == before["old-2"].id  # the one in review is never taken from its reviewer
    assert (kept.status, kept.assigned_to_id, kept.score) == ("in_review", worker.id, 0.7)
    assert kept.first_surfaced_on == night(0)  # ... and it keeps the earliest surfacing date
    folded = session.get(ReviewItem, before["old-1"].id)
    assert folded is not None
    assert (folded.status, folded.merged_into_id, folded.person_id) == ("merged", kept.id, "new-1")
    closed = session.get(ReviewItem, before["old-3"].id)
    assert closed is not None
    assert (closed.status, closed.outcome, closed.person_id) == ("closed", "no_help_needed", "new-1")
    merge_record = session.get(ItemHistory, (folded.id, night(2)))
    assert merge_record is not None
    assert merge_record.merged_into_item_id == kept.id
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.item_id == folded.id)).all()
    assert {"item_merged", "person_id_changed"} <= set(actions)

    again = route(session_factory, config, 2, candidates(("new-1", 0.7, "Northgate")), lineage=lineage)
    assert again == summary


def test_when_both_merged_items_are_new_the_oldest_is_kept(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    route(session_factory, config, 0, candidates(("x", 0.4, "Riverside")))
    route(session_factory, config, 1, candidates(("y", 0.9, "Riverside")))
    oldest = open_by_person(session)["x"].id
    lineage = pl.DataFrame(
        {"person_id": ["y", "y"], "previous_person_id": ["x", "y"], "change": ["merged", "merged"]}
    )
    route(session_factory, config, 2, candidates(("y", 0.9, "Riverside")), lineage=lineage)
    assert {p: i.id for p, i in open_by_person(session).items()} == {"y": oldest}


def test_a_split_leaves_the_item_with_the_id_that_inherited_it(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    route(session_factory, config, 0, candidates(("p", 0.6, "Northgate")))
    item_id = open_by_person(session)["p"].id
    lineage = pl.DataFrame(
        {"person_id": ["p", "q"], "previous_person_id": ["p", "p"], "change": ["split", "split"]}
    )
    summary = route(
        session_factory,
        config,
        1,
        candidates(("p", 0.5, "Northgate"), ("q", 0.8, "Northgate")),
        lineage=lineage,
    )
    assert summary.new_items == 1
    by_person = open_by_person(session)
    assert by_person["p"].id == item_id
    assert by_person["q"].id != item_id


def test_re_running_a_night_gives_the_same_queue_and_no_duplicate_history(
    session_factory: sessionmaker[Session], session: Session, config: Config
) -> None:
    route(session_factory, config, 0, candidates(("a", 0.3, "Northgate"), ("z", 0.2, "Riverside")))
    frame = candidates(*[(f"n{i}", 0.9 - i * 0.1, "Northgate") for i in range(6)], ("a", 0.35, "Northgate"))
    first = route(session_factory, config, 1, frame)
    state = snapshot(session)
    surfaced = surfaced_frame(session_factory=session_factory, as_of=night(1))

    second = route(session_factory, config, 1, frame)

    assert second == first
    again = snapshot(session)
    assert again["items"] == state["items"]
    assert again["history"] == state["history"]
    assert again["runs"] == [(night(0), 2, 1), (night(1), 3, 2)]
    assert_frame_equal(surfaced_frame(session_factory=session_factory, as_of=night(1)), surfaced)
    assert again["audit"][: len(state["audit"])] == state["audit"]
    assert [a[1] for a in again["audit"][len(state["audit"]) :]] == ["night_routed"]


def test_a_crash_mid_route_leaves_the_queue_as_it_was_and_a_re_run_completes(
    session_factory: sessionmaker[Session], session: Session, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    route(session_factory, config, 0, candidates(("a", 0.3, "Northgate")))
    before = snapshot(session)
    frame = candidates(("a", 0.9, "Northgate"), *[(f"n{i}", 0.8 - i * 0.1, "Northgate") for i in range(3)])

    real_create = routing._create_item
    calls: list[str] = []

    def create_then_crash(*args: Any, **kwargs: Any) -> ReviewItem:
        calls.append("create")
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(routing, "_create_item", create_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        route(session_factory, config, 1, frame)
    assert len(calls) == 2  # one item was written, and an update and a history row, before the crash
    assert snapshot(session) == before

    monkeypatch.setattr(routing, "_create_item", real_create)
    summary = route(session_factory, config, 1, frame)
    assert summary.new_by_locality == {"Northgate": 3}
    assert summary.updated == 1
    assert sorted(open_by_person(session)) == ["a", "n0", "n1", "n2"]


def test_surfaced_frame_lists_the_night_in_order_with_reasons(
    session_factory: sessionmaker[Session], config: Config
) -> None:
    route(
        session_factory,
        config,
        0,
        candidates(("r1", 0.2, "Riverside"), ("n1", 0.5, "Northgate"), ("n2", 0.7, "Northgate")),
    )
    frame = surfaced_frame(session_factory=session_factory, as_of=night(0))
    assert frame.columns == ["person_id", "rank", "score", "locality", "reasons"]
    assert frame.select("person_id", "rank", "locality").rows() == [
        ("n2", 1, "Northgate"),
        ("n1", 2, "Northgate"),
        ("r1", 1, "Riverside"),
    ]
    assert frame["reasons"][0].to_list() == ["Reason for n2: 3 services contacted in the last 90 days"]
    assert surfaced_frame(session_factory=session_factory, as_of=night(5)).height == 0


def test_route_night_also_takes_an_engine(engine: Engine, config: Config) -> None:
    summary = route_night(
        engine=engine,
        as_of=night(0),
        candidates=candidates(("a", 0.5, "Northgate")),
        config=config,
        model_version=MODEL,
    )
    assert summary.new_items == 1


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        pytest.param(candidates(("a", 1.5, "Northgate")), "between 0 and 1", id="score-out-of-range"),
        pytest.param(
            candidates(("a", 0.5, "Northgate"), ("a", 0.4, "Northgate")), "more than once", id="duplicate"
        ),
        pytest.param(
            candidates(("a", 0.5, "Northgate")).drop("locality"), "missing column", id="no-locality"
        ),
    ],
)
def test_bad_candidates_are_refused_before_anything_is_written(
    session_factory: sessionmaker[Session],
    session: Session,
    config: Config,
    frame: pl.DataFrame,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        route(session_factory, config, 0, frame)
    assert session.scalar(select(func.count()).select_from(ReviewItem)) == 0


def test_routing_only_creates_items_and_refreshes_open_ones(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    route(session_factory, config, 0, candidates(("a", 0.5, "Northgate"), ("b", 0.4, "Northgate")))
    lead = make_user("lead", role=Role.TEAM_LEAD)
    claim_item(session=session, item_id=open_by_person(session)["a"].id, user=lead)
    statuses = {i.id: i.status for i in items(session)}
    route(session_factory, config, 1, candidates(("a", 0.1, "Northgate"), ("b", 0.9, "Northgate")))
    route(session_factory, config, 2, candidates(("c", 0.1, "Northgate")))  # a and b drop out of the cohort
    assert {i.id: i.status for i in items(session) if i.id in statuses} == statuses
