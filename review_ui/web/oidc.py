"""OpenID Connect sign-in for a council's single sign-on (optional, off unless configured).

Authorization code flow with PKCE, using Authlib's OAuth 2 client for the
authorisation URL and the token request, and joserfc (Authlib's JOSE
library) to check the ID token: signature against the provider's published
keys, issuer, audience, expiry and the nonce we sent. State, nonce and the
PKCE verifier travel in a signed cookie that lives ten minutes.

The provider says who someone is; the app still decides what they may do: a
signed-in identity needs a local, active account with the same username
(``oidc_username_claim``, default ``preferred_username``) that holds the
role and locality. Nobody gets in just by being in the council's directory.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from early_warning.settings import Settings

STATE_COOKIE = "ew_oidc"
STATE_MAX_AGE_SECONDS = 600
#: Metadata and keys are fetched again after this long (providers rotate keys).
CACHE_SECONDS = 3600


class OidcError(Exception):
    """Sign-in with the provider failed; the message is safe to show."""


@dataclass
class _Cached:
    value: dict[str, Any]
    at: float


class OidcClient:
    def __init__(self, settings: Settings, secret_key: str) -> None:
        if not settings.oidc_enabled:
            raise ValueError("OpenID Connect is not configured")
        assert settings.oidc_metadata_url
        assert settings.oidc_client_id
        assert settings.oidc_client_secret
        self.metadata_url = settings.oidc_metadata_url
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret.get_secret_value()
        self.username_claim = settings.oidc_username_claim
        self._serializer = URLSafeTimedSerializer(secret_key, salt="early-warning-oidc")
        self._cache: dict[str, _Cached] = {}

    def _get_json(self, url: str) -> dict[str, Any]:
        cached = self._cache.get(url)
        if cached and time.monotonic() - cached.at < CACHE_SECONDS:
            return cached.value
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            value: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("The council's sign-in service could not be reached. Try again later.") from exc
        self._cache[url] = _Cached(value, time.monotonic())
        return value

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope="openid profile email",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )

    def start(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorisation URL, the signed state cookie to set)."""
        metadata = self._get_json(self.metadata_url)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        cookie = self._serializer.dumps({"state": state, "nonce": nonce, "verifier": verifier})
        return url, cookie

    def finish(self, *, redirect_uri: str, cookie: str | None, code: str, state: str) -> str:
        """Check the provider's answer and return the username it vouches for."""
        try:
            saved = self._serializer.loads(cookie or "", max_age=STATE_MAX_AGE_SECONDS)
        except SignatureExpired as exc:
            raise OidcError("Signing in took too long. Start again.") from exc
        except BadSignature as exc:
            raise OidcError("This sign-in did not start here. Start again.") from exc
        if not secrets.compare_digest(str(saved.get("state", "")), state):
            raise OidcError("This sign-in did not start here. Start again.")
        metadata = self._get_json(self.metadata_url)
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=saved["verifier"]
                )
        except Exception as exc:  # Authlib raises several types for a refused code
            raise OidcError("The council's sign-in service refused the sign-in. Start again.") from exc
        return self._username(token.get("id_token"), metadata, saved["nonce"])

    def _username(self, id_token: str | None, metadata: dict[str, Any], nonce: str) -> str:
        if not id_token:
            raise OidcError("The council's sign-in service did not say who you are.")
        keys = KeySet.import_key_set(self._get_json(metadata["jwks_uri"]))  # type: ignore[arg-type]
        try:
            token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": metadata["issuer"]},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(
                "The council's sign-in service sent an answer that could not be checked."
            ) from exc
        username = token.claims.get(self.username_claim)
        if not isinstance(username, str) or not username:
            raise OidcError("The council's sign-in service did not say who you are.")
        return username
