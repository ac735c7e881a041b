"""The demo looks like a staffed council: every locality has someone working it, so the
team lead's "unstaffed locality" warning and the nights' "ATTENTION: … nobody works" lines
do not list the demo's localities (they used to list every one but the demo accounts' own).

Runs the real demo - two nights through Prefect on a generated borough - without training
(the rules score) and without serving the app."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from early_warning.config import load_config
from early_warning.demo import demo_config, run_demo
from early_warning.settings import get_settings
from review_ui.routing import unstaffed_localities
from review_ui.store import default_database_url
from review_ui.web import create_app
from review_ui.web.accounts import staff_demo_localities
from tests.review_ui.web.conftest import sign_in_client, web_settings

RESIDENTS, SEED = 2000, 21  # the flow tests' small borough


@pytest.fixture
def home(tmp_path: Path, small_borough: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home whose demo borough is the flow tests' small borough (so the demo reuses it)."""
    monkeypatch.delenv("EARLY_WARNING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    home = tmp_path / "home"
    borough = home / "demo" / f"borough-{RESIDENTS}-seed{SEED}"
    shutil.copytree(small_borough / "extracts", borough / "extracts")
    (borough / "generated.json").write_text("{}")
    yield home
    get_settings.cache_clear()


@pytest.mark.slow
def test_the_demo_staffs_every_locality_before_its_nights(
    home: Path, prefect_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo(home=home, residents=RESIDENTS, seed=SEED, train=False, serve=False) == 0
    said = capsys.readouterr().out
    assert "nobody works" not in said, "the nights found localities nobody works"
    localities = set(load_config(demo_config(home)).localities.localities)
    colleagues = json.loads((home / "demo" / "colleagues.txt").read_text())
    assert {c["locality"] for c in colleagues} <= localities
    assert oct((home / "demo" / "colleagues.txt").stat().st_mode & 0o777) == "0o600"

    app = create_app(web_settings(home), database_url=default_database_url(home))
    try:
        with app.state.session_factory() as db:
            assert unstaffed_localities(db) == {}
        lead = next(
            a for a in json.loads((home / "demo" / "sign-in.txt").read_text()) if a["role"] == "team_lead"
        )
        page = sign_in_client(app, lead["username"], lead["password"]).get("/queue")
        assert page.status_code == 200
        assert "Review list" in page.text
        assert "that no active caseworker or team lead works" not in page.text
        # A colleague can sign in and sees their own locality's list.
        colleague = colleagues[0]
        theirs = sign_in_client(app, colleague["username"], colleague["password"]).get("/queue")
        assert theirs.status_code == 200
    finally:
        app.state.engine.dispose()
    # Run again, the demo staffs nothing new and keeps the same sign-ins.
    again = staff_demo_localities(default_database_url(home), home, sorted(localities))
    assert [a.__dict__ for a in again] == colleagues
