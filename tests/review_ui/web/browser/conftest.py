"""Browser tests: the review app served by uvicorn, driven by a real Chromium.

- ``live``: the app from :func:`review_ui.web.create_app` on a SQLite file filled
  with :func:`tests.support.review_app.build_world`, served by uvicorn in a
  background thread on a free port (one per test module, so each module
  starts from the same known world).
- ``browser``: Debian's Chromium (``make browser``) launched once per session
  by Playwright (``EARLY_WARNING_CHROMIUM`` overrides its path). Without it the
  tests skip, and under ``CI=true`` a skip fails the run.
- ``page``: a fresh context (no cookies) with the app's strict CSP in force,
  failing the test if the page logs a console error (a CSP violation, a
  script error or a failed asset).
- ``axe_page``: the same with ``bypass_csp=True``, only so that axe-core can
  be injected; use it for the accessibility checks and nothing else.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from review_ui.web import create_app
from tests.review_ui.web.conftest import web_settings
from tests.support.review_app import PASSWORD, ReviewWorld, build_world

CHROMIUM_ENV = "EARLY_WARNING_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_JS = (
    Path(__file__).resolve().parents[4]
    / "review_ui"
    / "frontend"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
#: Browser actions and expectations wait at most this long (the machine is small and shared).
TIMEOUT_MS = 15_000


@dataclass
class LiveServer:
    url: str
    world: ReviewWorld
    app: Any
    database_url: str

    def item(self, locality: str, n: int = 0) -> int:
        return self.world.items[locality][n]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The review app on a seeded SQLite file, served over HTTP for the module's tests."""
    home = tmp_path_factory.mktemp("live")
    database_url = f"sqlite:///{home / 'review_queue.sqlite3'}"
    # Sign-in failures are part of some journeys; keep throttling out of their way.
    settings = web_settings(home, sign_in_max_failures=1000)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db, names={"N-3": "<script>alert(1)</script>"})
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", ws="none", server_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-review-app", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live review app did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", world=world, app=app, database_url=database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        app.state.engine.dispose()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    executable = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
    if not Path(executable).exists():
        pytest.skip(
            f"Chromium not found at {executable}: run `make browser` "
            f"(or set {CHROMIUM_ENV} to a Chromium or Chrome binary)"
        )
    browser = playwright_instance.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@dataclass
class ConsoleLog:
    """What a page wrote to the console, and the sub-resources that failed.

    A page answered with an error status on purpose (a form sent back with
    errors is a 400) is for the test to check, so Chromium's "Failed to load
    resource" line for a *document* is not counted; for a script, style,
    image or htmx request it is.
    """

    errors: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            url = message.location.get("url", "")
            if message.text.startswith("Failed to load resource") and url in self.documents:
                return
            self.errors.append(f"console: {message.text} ({url})")

        def on_response(response: Response) -> None:
            if response.request.resource_type == "document":
                self.documents.add(response.url)
            elif response.status >= 400:
                self.errors.append(f"{response.status} for {response.request.resource_type} {response.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("response", on_response)
        page.on("requestfailed", self._on_request_failed)

    def _on_request_failed(self, request: Request) -> None:
        """A load the browser itself cancelled (``net::ERR_ABORTED``: the test moved on to the
        next page while this one's scripts were still coming) is not the app's fault; any other
        failure (refused, reset, blocked) is."""
        if request.failure == "net::ERR_ABORTED":
            return
        self.errors.append(f"request failed: {request.url} ({request.failure})")


def _context(browser: Browser, live: LiveServer, *, bypass_csp: bool) -> BrowserContext:
    context = browser.new_context(base_url=live.url, bypass_csp=bypass_csp, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, live: LiveServer, console: ConsoleLog) -> Iterator[Page]:
    """A page in a fresh context, with the app's CSP enforced; console errors fail the test."""
    context = _context(browser, live, bypass_csp=False)
    page = context.new_page()
    console.watch(page)
    yield page
    context.close()
    assert not console.errors, "the page logged errors:\n" + "\n".join(console.errors)


@pytest.fixture
def axe_page(browser: Browser, live: LiveServer) -> Iterator[Page]:
    """A page whose context bypasses the CSP, only so that axe-core can be injected."""
    context = _context(browser, live, bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # The page after the form's POST, not the sign-in page still showing while it is sent.
    expect(page, f"{username} could not sign in").not_to_have_url(re.compile(r"/sign-in(\?|$)"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?signed_out=true")


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations on the current page."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing at {AXE_JS}: run `make assets`")
    page.add_script_tag(path=str(AXE_JS))
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
            resultTypes: ['violations'],
        })"""
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
    return "\n".join(lines)
