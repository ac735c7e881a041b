"""A real, migrated review-queue database for every test: SQLite and PostgreSQL.

Every test that uses ``engine`` (or anything built on it) runs twice: on a
fresh SQLite file, and on PostgreSQL in a schema of its own that is dropped
afterwards. PostgreSQL needs ``EARLY_WARNING_TEST_POSTGRES_URL``, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; without it those runs
are skipped (and under ``CI=true`` a skip fails the run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from early_warning.config import Config, LocalitiesFile, Locality, RoutingFile, load_config
from review_ui.migrations import upgrade_to_head
from review_ui.routing import COUNCIL_TIME_ZONE
from review_ui.store import Role, User, create_user, make_engine, make_session_factory
from tests.support.databases import DATABASES, empty_database


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    with empty_database(request.param, tmp_path_factory.mktemp("queue")) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def config() -> Config:
    """The default configuration with small, known capacities and cool-down rules."""
    return with_rules(load_config())


def with_rules(
    base: Config,
    *,
    capacities: dict[str, int] | None = None,
    default_capacity: int = 2,
    cooldown_days: int = 90,
    rises_by: float = 0.15,
    new_service: bool = True,
) -> Config:
    caps = {"Northgate": 3, "Riverside": 2} if capacities is None else capacities
    return base.model_copy(
        update={
            "localities": LocalitiesFile(
                default_capacity=default_capacity,
                localities={name: Locality(capacity=cap) for name, cap in caps.items()},
            ),
            "routing": RoutingFile(
                cooldown_days=cooldown_days,
                resurface_if_score_rises_by=rises_by,
                resurface_if_new_service=new_service,
            ),
        }
    )


def candidates(*rows: Sequence[object]) -> pl.DataFrame:
    """A candidates frame from (person_id, score, locality[, services]) tuples."""
    records = []
    for row in rows:
        person_id, score, locality = row[0], row[1], row[2]
        services = list(row[3]) if len(row) > 3 else ["council_tax"]  # type: ignore[call-overload]
        records.append(
            {
                "person_id": person_id,
                "score": score,
                "locality": locality,
                "reasons": [f"Reason for {person_id}: 3 services contacted in the last 90 days"],
                "services": services,
            }
        )
    schema = {
        "person_id": pl.String,
        "score": pl.Float64,
        "locality": pl.String,
        "reasons": pl.List(pl.String),
        "services": pl.List(pl.String),
    }
    return pl.DataFrame(records, schema=schema)


#: Tonight in the council's time zone: cool-down is measured from real closing times.
TODAY = datetime.now(COUNCIL_TIME_ZONE).date()


def night(offset: int) -> date:
    """A night ``offset`` days from today (negative: in the past)."""
    return TODAY + timedelta(days=offset)


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(session: Session) -> MakeUser:
    def _make(username: str, *, role: Role = Role.CASEWORKER, locality: str | None = "Northgate") -> User:
        return create_user(
            session=session,
            username=username,
            display_name=username.title(),
            role=role,
            locality=locality,
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$not-a-real-hash",
        )

    return _make
