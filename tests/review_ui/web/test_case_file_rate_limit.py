"""Issue 17 row 11: one user cannot read case files faster than ``case_file_reads_per_minute``.

Before: 200 full case files came back in 1.1 s. Now the person page and
``GET /api/items/{id}`` share one per-user count over the last minute; past
it the answer is 429 with ``Retry-After`` (the error page, or JSON for the
API), the refusal is in the audit log, and parallel requests cannot race past
the count. Runs on SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from early_warning.all_settings import load_all
from early_warning.config import ConfigError
from review_ui.store import AuditEntry, CaseFileRead
from review_ui.store.tables import utc_now
from review_ui.web import create_app
from review_ui.web.client_address import load_review_app_settings
from tests.review_ui.web.conftest import Web, sign_in_client, web_settings
from tests.support.review_app import build_world

LIMIT = 4


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The review app with a council's ``review_app.yaml`` allowing ``LIMIT`` case files a minute."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "review_app.yaml").write_text(f"case_file_reads_per_minute: {LIMIT}\n")
    settings = web_settings(tmp_path, config=config)
    app = create_app(settings, database_url=database_url)
    with app.state.session_factory() as db:
        world = build_world(db)
    yield Web(app=app, world=world, settings=settings, database_url=database_url)
    app.state.engine.dispose()


def _refusals(web: Web) -> list[AuditEntry]:
    with web.app.state.session_factory() as db:
        return list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "case_file_reads_refused")
                .order_by(AuditEntry.id)
            )
        )


def _age_reads(web: Web, by: timedelta) -> None:
    with web.app.state.session_factory() as db, db.begin():
        db.execute(update(CaseFileRead).values(at=utc_now() - by))


def test_person_pages_past_the_limit_get_429_with_retry_after_and_the_refusal_is_audited(
    limited: Web,
) -> None:
    casey = limited.sign_in("casey")
    item = limited.world.items["Northgate"][0]
    for _ in range(LIMIT):
        assert casey.get(f"/items/{item}").status_code == 200
    refused = casey.get(f"/items/{item}")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "You have opened too many case files" in refused.text
    assert f"up to {LIMIT} case files a minute" in refused.text
    assert "Jamie Example" not in refused.text  # the case file is not shown
    [entry] = _refusals(limited)
    assert (entry.actor, entry.detail["path"], entry.detail["limit_per_minute"]) == (
        "casey",
        f"/items/{item}",
        LIMIT,
    )
    # The limit is casey's own: a colleague reads on ...
    assert limited.sign_in("cora").get(f"/items/{item}").status_code == 200
    # ... and once a minute has passed since casey's reads, casey may read again.
    _age_reads(limited, timedelta(seconds=61))
    assert casey.get(f"/items/{item}").status_code == 200


def test_the_api_and_the_person_page_share_the_limit_and_the_api_answers_json(limited: Web) -> None:
    tess = limited.sign_in("tess")
    items = limited.world.items["Northgate"]
    assert tess.get(f"/items/{items[0]}").status_code == 200
    for _ in range(LIMIT - 1):
        assert tess.get(f"/api/items/{items[1]}").status_code == 200
    refused = tess.get(f"/api/items/{items[1]}")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json() == {"detail": refused.json()["detail"]}
    assert "case files a minute" in refused.json()["detail"]
    assert tess.get(f"/items/{items[2]}").status_code == 429
    assert [entry.detail["path"] for entry in _refusals(limited)] == [
        f"/api/items/{items[1]}",
        f"/items/{items[2]}",
    ]


def test_guessing_item_ids_is_counted_too(limited: Web) -> None:
    rivka = limited.sign_in("rivka")
    northgate = limited.world.items["Northgate"]  # not rivka's locality: 404 each time
    codes = [rivka.get(f"/items/{northgate[n % len(northgate)]}").status_code for n in range(LIMIT + 2)]
    assert codes == [404] * LIMIT + [429, 429]


def test_parallel_reads_cannot_race_past_the_limit(limited: Web) -> None:
    casey = sign_in_client(limited.app, "casey")
    cookies = dict(casey.cookies)
    item = limited.world.items["Northgate"][0]

    def read(_: int) -> int:
        client = TestClient(limited.app, base_url="http://testserver", cookies=cookies)
        return int(client.get(f"/api/items/{item}").status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(read, range(24)))
    assert codes.count(200) == LIMIT, codes
    assert codes.count(429) == 24 - LIMIT
    with limited.app.state.session_factory() as db:
        assert len(db.scalars(select(CaseFileRead)).all()) == LIMIT


def test_the_default_is_thirty_a_minute_and_config_check_refuses_a_limit_below_one(tmp_path: Path) -> None:
    assert load_review_app_settings().case_file_reads_per_minute == 30
    (tmp_path / "review_app.yaml").write_text("case_file_reads_per_minute: 0\n")
    with pytest.raises(ConfigError) as error:
        load_all(tmp_path)
    assert "review_app.yaml: case_file_reads_per_minute" in str(error.value)


def test_household_pages_count_as_case_file_reads_shared_with_the_person_page(limited: Web) -> None:
    """The household page reads the same case file (other residents' service involvement):
    before, it was outside the limit, so a script could walk every item's household unthrottled."""
    casey = limited.sign_in("casey")
    item = limited.world.items["Northgate"][0]
    assert casey.get(f"/items/{item}").status_code == 200
    for _ in range(LIMIT - 1):
        shown = casey.get(f"/items/{item}/household")
        assert shown.status_code == 200
        assert "Adult aged" in shown.text or "No one else is recorded" in shown.text
    refused = casey.get(f"/items/{item}/household")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "You have opened too many case files" in refused.text
    assert casey.get(f"/items/{item}").status_code == 429
    assert [entry.detail["path"] for entry in _refusals(limited)] == [
        f"/items/{item}/household",
        f"/items/{item}",
    ]


def test_the_household_page_reads_only_the_case_files_household(limited: Web) -> None:
    """Not the whole person page: no item history, earlier reviews or reviewers' names."""
    casey = limited.sign_in("casey")
    item = limited.world.items["Northgate"][0]
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = limited.app.state.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert casey.get(f"/items/{item}/household").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any("case_files" in s for s in statements)
    for table in ("review_item_history", "review_outcomes", "link_constraints"):
        assert not any(table in s for s in statements), table
