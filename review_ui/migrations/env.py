"""Alembic environment: runs migrations against the URL or engine it is given."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from review_ui.store.engine import default_database_url, make_engine
from review_ui.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    given = config.attributes.get("engine")
    if given is not None:
        with given.connect() as connection:
            _run(connection)
        return
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or default_database_url()
    )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
_run_online()
