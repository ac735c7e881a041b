"""Real databases for tests: a SQLite file, or a PostgreSQL schema of its own.

PostgreSQL comes from ``EARLY_WARNING_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); when it is not set,
the tests use that local server if it answers (``tests/conftest.py``), and set
to nothing it opts out. Without one the PostgreSQL runs skip, and under
``CI=true`` a skip fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

POSTGRES_ENV = "EARLY_WARNING_TEST_POSTGRES_URL"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def find_local_postgres(url: str = LOCAL_POSTGRES, timeout_seconds: int = 2) -> str | None:
    """``url`` when a PostgreSQL answers there (the machine's own, as CI uses), else None."""
    import psycopg

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, connect_timeout=timeout_seconds):
            return url
    except psycopg.Error:
        return None


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_schema_url(base: str, schema: str) -> str:
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file in ``folder``, or a fresh PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'review_queue.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(
            f"PostgreSQL run skipped: set {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    schema = f"ew_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_schema_url(base, "public"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(
                text("SET LOCAL lock_timeout = '20s'")
            )  # fail, never hang, on a left-over lock
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
