"""Settings read from the environment, in one place.

Nothing else in the product reads ``os.environ`` for its own settings (the
Prefect and MLflow switches in :mod:`flows.runtime` are those libraries'
own variables). Every field can be set as ``EARLY_WARNING_<NAME>``; the
command line's ``--home``/``--config`` win over the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The product's deployment settings; see the README for each one."""

    model_config = SettingsConfigDict(env_prefix="EARLY_WARNING_", extra="ignore")

    home: Path = Path(".early-warning")
    config: Path | None = None
    #: The review queue's database; default SQLite under the home folder.
    database_url: str | None = None


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process (tests clear the cache to override)."""
    return Settings()
