"""Alembic migrations for the review queue, runnable from any directory.

``upgrade_to_head(url)`` is what the product calls at start-up; the
``alembic.ini`` beside this file serves the Alembic command line::

    alembic -c review_ui/migrations/alembic.ini -x url=sqlite:///… upgrade head

Without a URL the embedded SQLite database under the product's home is used.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str | URL | Engine | None = None) -> Config:
    """An Alembic configuration that finds these migrations wherever Python runs from.

    The URL (or an engine) travels in ``config.attributes``, not in the ini
    text, so passwords with ``%`` need no escaping.
    """
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if isinstance(url, Engine):
        config.attributes["engine"] = url
    elif url is not None:
        config.attributes["url"] = url
    return config


def upgrade_to_head(url: str | URL | Engine | None = None) -> None:
    """Create or bring the queue's schema up to date (safe to run every start-up)."""
    command.upgrade(alembic_config(url), "head")


def downgrade_to_base(url: str | URL | Engine | None = None) -> None:
    """Remove every table the migrations created. Destroys the queue: for tests and tear-down."""
    command.downgrade(alembic_config(url), "base")


__all__ = ["MIGRATIONS_DIR", "alembic_config", "downgrade_to_base", "upgrade_to_head"]
