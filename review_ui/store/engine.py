"""Engines, sessions and write transactions for SQLite and PostgreSQL.

SQLite is the embedded default (one file under the product's home, WAL mode,
foreign keys on, a busy timeout). PostgreSQL is supported for production.
:func:`make_engine` sets either up the same way for the rest of the code.

SQLite has no ``SELECT … FOR UPDATE``: a transaction that reads and then
writes must hold the write lock from its first statement, or it fails with
``SQLITE_BUSY`` as soon as someone else wrote (``busy_timeout`` does not help
there). :func:`write_transaction` therefore begins SQLite transactions with
``BEGIN IMMEDIATE``; every function here that writes goes through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from early_warning.paths import resolve_home

#: The SQLite file's name under the product's home folder.
DEFAULT_DATABASE_FILE = "review_queue.sqlite3"

_BEGIN_IMMEDIATE = "early_warning_begin_immediate"


def default_database_url(home: str | Path | None = None) -> str:
    """The embedded SQLite database under the product's home folder."""
    path = (resolve_home(home) / DEFAULT_DATABASE_FILE).resolve()
    return f"sqlite:///{path}"


def queue_database_url(home: str | Path | None = None) -> str:
    """The review queue's database: $EARLY_WARNING_DATABASE_URL, else SQLite under the home folder."""
    from early_warning.settings import get_settings

    return get_settings().database_url or default_database_url(home)


def is_sqlite(bind: Engine | Session) -> bool:
    engine = bind if isinstance(bind, Engine) else bind.get_bind()
    return engine.dialect.name == "sqlite"


def make_engine(url: str | URL | None = None, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """An engine for the review queue.

    Args:
        url: ``sqlite:///path/to/file`` or ``postgresql+psycopg://…``
            (a bare ``postgresql://`` uses psycopg 3). None means the
            SQLite file under the product's home.
        busy_timeout_ms: how long a writer waits for a lock before giving up:
            SQLite's busy timeout, PostgreSQL's ``lock_timeout`` (whose default
            is to wait for ever).

    Raises:
        ValueError: an in-memory SQLite database (the queue is shared by
            several connections) or a database other than SQLite/PostgreSQL.
    """
    parsed = make_url(url if url is not None else default_database_url())
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise ValueError("the review queue needs a SQLite file, not an in-memory database")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, echo=echo, pool_pre_ping=True)
        _configure_postgresql(engine, busy_timeout_ms)
        return engine
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def _configure_postgresql(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # A statement waits for a table or row lock at most this long, then fails with
        # SQLSTATE 55P03 (lock_not_available), as a SQLite writer does after its busy
        # timeout. PostgreSQL's default is to wait for ever: a queue held by another
        # session made a night hang silently (issue 21). Set outside any transaction so
        # that it holds for the connection's life.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
        dbapi_connection.autocommit = autocommit


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that we
        # decide how each transaction begins (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (as a web request needs)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a block as one write transaction and commit it; roll back on any error.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (the write lock
    is taken up front; other writers wait up to the busy timeout). On
    PostgreSQL it is an ordinary READ COMMITTED transaction: callers lock or
    condition their updates themselves.

    A session that is inside a read-only transaction is committed first (which
    only ends the reads); one with unflushed changes is refused, so nobody's
    half-done work is committed by accident.
    """
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("the session has uncommitted changes: commit or roll back before a write")
        session.commit()
    session.connection(execution_options={_BEGIN_IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
