"""Routing and reviewers at the same time, with real threads and connections.

On SQLite writers queue behind ``BEGIN IMMEDIATE``; on PostgreSQL routing
locks the open items it refreshes and reviewers' conditional updates wait
for it (or skip locked rows when asking for the next item). Either way no
update is lost and no item is ever given to two people.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config
from review_ui.routing import route_night
from review_ui.store import (
    AuditEntry,
    ItemHistory,
    ItemNotAvailable,
    ReviewItem,
    User,
    claim_item,
    claim_next_item,
)

from .conftest import MakeUser, candidates, night, with_rules

PEOPLE = 24
REVIEWERS = 4
NIGHTS = (1, 2, 3)


def score(person: int, night_number: int) -> float:
    return round(0.2 + person / 100 + night_number / 20, 4)


def cohort(night_number: int, extra: int = 0) -> pl.DataFrame:
    rows = [(f"p{i:03d}", score(i, night_number), "Northgate") for i in range(PEOPLE + extra)]
    return candidates(*rows)


def run_threads(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def wrap(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait(timeout=30)
                work()
            except BaseException as exc:  # reported by the test, not lost in the thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(work)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return errors


def test_routing_while_reviewers_claim_loses_no_update_and_never_double_assigns(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    config = with_rules(config, capacities={"Northgate": 100})
    route_night(
        session_factory=session_factory,
        as_of=night(0),
        candidates=cohort(0),
        config=config,
        model_version="m",
    )
    ids = list(session.scalars(select(ReviewItem.id).order_by(ReviewItem.id)))
    reviewers = [make_user(f"cw{n}") for n in range(REVIEWERS)]
    won: dict[str, list[int]] = {r.username: [] for r in reviewers}

    def reviewer(user: User, seed: int) -> Callable[[], None]:
        def work() -> None:
            order = ids[:]
            random.Random(seed).shuffle(order)
            with session_factory() as own:
                for item_id in order:
                    try:
                        claim_item(session=own, item_id=item_id, user=user)
                    except ItemNotAvailable:
                        continue
                    won[user.username].append(item_id)

        return work

    def router() -> None:
        for n in NIGHTS:
            route_night(
                session_factory=session_factory,
                as_of=night(n),
                candidates=cohort(n, extra=4 * n),
                config=config,
                model_version=f"m{n}",
            )

    errors = run_threads([router, *(reviewer(r, seed) for seed, r in enumerate(reviewers))])
    assert errors == []

    claimed = Counter(item_id for got in won.values() for item_id in got)
    assert sorted(claimed) == ids  # every item was claimed ...
    assert set(claimed.values()) == {1}  # ... exactly once
    session.rollback()
    session.expire_all()
    by_id = {item.id: item for item in session.scalars(select(ReviewItem))}
    owner = {item_id: user.id for user in reviewers for item_id in won[user.username]}
    last = NIGHTS[-1]
    for item_id in ids:
        item = by_id[item_id]
        person = int(item.person_id[1:])
        assert (item.status, item.assigned_to_id) == ("in_review", owner[item_id])  # no claim lost
        assert (item.score, item.last_scored_on) == (score(person, last), night(last))  # no score lost
        assert item.version == 2 + len(NIGHTS)  # created, claimed once, refreshed each night
    history = session.scalar(
        select(func.count()).select_from(ItemHistory).where(ItemHistory.item_id.in_(ids))
    )
    assert history == len(ids) * (1 + len(NIGHTS))
    claims = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "item_claimed")
    )
    assert claims == len(ids)
    assert len(by_id) == PEOPLE + 4 * last  # the night's newcomers were added, nobody twice


def test_many_reviewers_asking_for_the_next_item_each_get_a_different_one(
    session_factory: sessionmaker[Session], session: Session, config: Config, make_user: MakeUser
) -> None:
    config = with_rules(config, capacities={"Northgate": 100})
    route_night(
        session_factory=session_factory,
        as_of=night(0),
        candidates=cohort(0),
        config=config,
        model_version="m",
    )
    reviewers = [make_user(f"cw{n}") for n in range(REVIEWERS)]
    got: list[tuple[str, int]] = []
    lock = threading.Lock()

    def reviewer(user: User) -> Callable[[], None]:
        def work() -> None:
            with session_factory() as own:
                while (item := claim_next_item(session=own, user=user)) is not None:
                    with lock:
                        got.append((user.username, item.id))

        return work

    assert run_threads([reviewer(r) for r in reviewers]) == []
    item_ids = [item_id for _, item_id in got]
    assert len(item_ids) == PEOPLE
    assert len(set(item_ids)) == PEOPLE
    session.rollback()
    assigned = dict(session.execute(select(ReviewItem.id, ReviewItem.assigned_to_id)).tuples().all())
    by_name = {r.username: r.id for r in reviewers}
    assert all(assigned[item_id] == by_name[name] for name, item_id in got)
