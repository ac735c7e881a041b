"""Settings read from the environment, in one place.

Nothing else in the product reads ``os.environ`` for its own settings (the
Prefect and MLflow switches in :mod:`flows.runtime` are those libraries'
own variables). Every field can be set as ``EARLY_WARNING_<NAME>``; the
command line's ``--home``/``--config``/``--host``/``--port`` win over the
environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The product's deployment settings; see the README for each one."""

    model_config = SettingsConfigDict(env_prefix="EARLY_WARNING_", extra="ignore")

    home: Path = Path(".early-warning")
    config: Path | None = None
    #: The review queue's database; default SQLite under the home folder.
    database_url: str | None = None
    #: How long the nightly route stage waits for a SQLite queue another writer holds, per
    #: attempt (the stage is tried three times), before it says which database is locked.
    queue_busy_seconds: int = Field(default=30, ge=1)

    # --- The review app (``early-warning serve``) -------------------------
    #: Shown in the header and page titles.
    council_name: str = "Example Borough Council"
    service_name: str = "Early help review"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: Worker processes for ``serve``; unset means one per core, at most 4.
    workers: int | None = Field(default=None, ge=1, le=64)
    #: Signs session cookies. Unset: a random key is made once and kept in
    #: ``<home>/web_secret_key`` (readable by its owner only).
    secret_key: SecretStr | None = None
    #: A session ends after this long without a request ...
    session_idle_minutes: int = Field(default=30, ge=1)
    #: ... and this long after sign-in, whatever happens.
    session_absolute_hours: int = Field(default=10, ge=1)
    #: Send cookies only over HTTPS (``Secure``, ``__Host-`` names, HSTS). Unset: on,
    #: unless the app listens on a loopback address with no ``trusted_proxies``
    #: (``review_app.yaml``) - the plain-http demo on 127.0.0.1, which nobody else can
    #: reach. Set it true behind a TLS proxy that is not listed; false only for a lab.
    cookie_secure: bool | None = None
    #: Sign-in throttling: this many failures for one username within the
    #: window refuse further attempts for it until it passes. From one address,
    #: this many failures slow it down: usernames that failed there are
    #: refused, and others may try once every ``sign_in_address_pause_seconds``.
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window_minutes: int = Field(default=15, ge=1)
    sign_in_address_pause_seconds: int = Field(default=5, ge=0)
    #: Items per page in the review list.
    page_size: int = Field(default=25, ge=5, le=200)
    #: Optional OpenID Connect sign-in (the council's single sign-on). All three
    #: must be set to turn it on; users still need a local account (same
    #: username as the ``oidc_username_claim``) that says their role and locality.
    oidc_metadata_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_button_text: str = "Sign in with your council account"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_metadata_url and self.oidc_client_id and self.oidc_client_secret)


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process (tests clear the cache to override)."""
    return Settings()
