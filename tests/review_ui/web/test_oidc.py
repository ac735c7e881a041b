"""Sign-in through a council's OpenID Connect provider.

The provider is a small, real OIDC server (discovery, authorise, token and
keys endpoints, RS256-signed ID tokens) run by uvicorn on a local port; the
app talks to it over HTTP exactly as it would to the council's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from review_ui.store import AuditEntry
from review_ui.web import create_app
from tests.review_ui.web.conftest import web_settings
from tests.support.review_app import build_world

CLIENT_ID = "early-warning"
CLIENT_SECRET = "provider-test-secret"


@dataclass
class Provider:
    url: str
    #: who the provider says signs in next, and tweaks to the next ID token
    subject: str = "casey"
    tamper: dict[str, Any] = field(default_factory=dict)


def _provider_app(provider: Provider, key: RSAKey) -> FastAPI:
    app = FastAPI()
    codes: dict[str, dict[str, str]] = {}

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, str]:
        return {
            "issuer": provider.url,
            "authorization_endpoint": f"{provider.url}/authorize",
            "token_endpoint": f"{provider.url}/token",
            "jwks_uri": f"{provider.url}/jwks",
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False)]}

    @app.get("/authorize")
    def authorize(request: Request) -> RedirectResponse:
        query = request.query_params
        assert query["code_challenge_method"] == "S256"
        assert query["client_id"] == CLIENT_ID
        code = f"code-{len(codes)}"
        codes[code] = {"nonce": query["nonce"], "subject": provider.subject}
        return RedirectResponse(
            f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        )

    @app.post("/token")
    def token(request: Request, code: str = Form(), code_verifier: str = Form()) -> JSONResponse:
        auth = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)
        expected = next(auth.auth_flow(httpx.Request("POST", "http://x"))).headers["Authorization"]
        if request.headers.get("authorization") != expected or code not in codes or not code_verifier:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        grant = codes.pop(code)
        claims = {
            "iss": provider.url,
            "aud": CLIENT_ID,
            "sub": grant["subject"],
            "preferred_username": grant["subject"],
            "nonce": grant["nonce"],
            "iat": int(time.time()),
            "exp": int(time.time()) + 300,
            **provider.tamper,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

    return app


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = Provider(url=f"http://127.0.0.1:{port}")
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    server = uvicorn.Server(uvicorn.Config(_provider_app(found, key), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test provider did not start"
        time.sleep(0.05)
    yield found
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def app_with_sso(provider: Provider, tmp_path: Path) -> Iterator[FastAPI]:
    settings = web_settings(
        tmp_path,
        oidc_metadata_url=f"{provider.url}/.well-known/openid-configuration",
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    app = create_app(settings, database_url=f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with app.state.session_factory() as db:
        build_world(db)
    provider.subject, provider.tamper = "casey", {}
    yield app
    app.state.engine.dispose()


def _through_provider(client: TestClient) -> httpx.Response:
    """Start at the app, let the provider approve, and come back to the app's callback."""
    start = client.get("/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303
    approved = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlparse(approved.headers["location"])
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_the_sign_in_page_offers_single_sign_on(app_with_sso: FastAPI) -> None:
    page = TestClient(app_with_sso).get("/sign-in")
    assert 'href="/sign-in/oidc"' in page.text


def test_a_council_account_with_a_local_user_signs_in(app_with_sso: FastAPI) -> None:
    client = TestClient(app_with_sso)
    done = _through_provider(client)
    assert done.status_code == 303
    assert done.headers["location"] == "/queue"
    assert client.get("/api/me").json()["username"] == "casey"
    with app_with_sso.state.session_factory() as db:
        entry = db.query(AuditEntry).filter_by(action="signed_in", actor="casey").one()
        assert entry.detail == {"method": "oidc"}


def test_someone_without_a_local_account_is_not_let_in(app_with_sso: FastAPI, provider: Provider) -> None:
    provider.subject = "stranger"
    client = TestClient(app_with_sso)
    refused = _through_provider(client)
    assert refused.status_code == 403
    assert "not set up for this service" in refused.text
    assert client.get("/api/me").status_code == 401


@pytest.mark.parametrize(
    "tamper", [{"aud": "someone-else"}, {"iss": "http://evil.example"}, {"nonce": "replayed"}, {"exp": 1}]
)
def test_an_id_token_that_does_not_check_out_is_refused(
    app_with_sso: FastAPI, provider: Provider, tamper: dict[str, Any]
) -> None:
    provider.tamper = tamper
    client = TestClient(app_with_sso)
    refused = _through_provider(client)
    assert refused.status_code == 400
    assert "could not be checked" in refused.text
    assert client.get("/api/me").status_code == 401


def test_a_callback_that_did_not_start_here_is_refused(app_with_sso: FastAPI) -> None:
    client = TestClient(app_with_sso)
    start = client.get("/sign-in/oidc", follow_redirects=False)
    approved = httpx.get(start.headers["location"], follow_redirects=False)
    query = parse_qs(urlparse(approved.headers["location"]).query)
    forged = client.get(
        f"/sign-in/oidc/callback?code={query['code'][0]}&state=forged", follow_redirects=False
    )
    assert forged.status_code == 400
    assert "did not start here" in forged.text
    stranger = TestClient(app_with_sso)  # no state cookie at all
    assert stranger.get(f"/sign-in/oidc/callback?code=x&state={query['state'][0]}").status_code == 400


def test_without_settings_there_is_no_single_sign_on(tmp_path: Path) -> None:
    app = create_app(web_settings(tmp_path), database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}")
    client = TestClient(app)
    assert "/sign-in/oidc" not in client.get("/sign-in").text
    assert client.get("/sign-in/oidc", follow_redirects=False).status_code == 404
    app.state.engine.dispose()
