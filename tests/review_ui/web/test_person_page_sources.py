"""The person page says which record the name and address were taken from (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from review_ui.store import CaseFile
from tests.review_ui.web.conftest import Web


def _set_person(web: Web, person_id: str, **fields: Any) -> None:
    with web.app.state.session_factory() as db:
        found = db.get(CaseFile, person_id)
        assert found is not None
        content = dict(found.content)
        content["person"] = {**content["person"], **fields}
        found.content = content
        db.commit()


def test_the_page_shows_the_chosen_name_and_where_name_and_address_came_from(web: Web) -> None:
    _set_person(
        web,
        "N-1",
        names=["Joyce Johnson", "Joyce Joohn"],
        name="Joyce Johnson",
        name_from={"source": "benefits", "text": "Name from benefits, last contact 1 March 2026"},
        address_from={
            "source": "council_tax",
            "match": "gazetteer",
            "text": "Address from council tax, last contact 3 March 2026",
        },
    )
    first = web.world.items["Northgate"][0]
    html = web.sign_in("casey").get(f"/items/{first}").text
    for shown in (
        "Joyce Johnson",
        "Name taken from",
        "Name from benefits, last contact 1 March 2026",
        "Address taken from",
        "Address from council tax, last contact 3 March 2026",
    ):
        assert shown in html
    also = html[html.index("Also known as") :]
    assert "Joyce Joohn" in also[:400]
    assert "Joyce Johnson" not in also[:400]


def test_a_display_name_that_is_not_first_in_names_is_not_repeated_as_also_known_as(web: Web) -> None:
    _set_person(web, "N-1", names=["Jo Example", "Jamie Example"], name="Jamie Example")
    first = web.world.items["Northgate"][0]
    html = web.sign_in("casey").get(f"/items/{first}").text
    also = html[html.index("Also known as") :][:400]
    assert "Jo Example" in also
    assert "Jamie Example" not in also


def test_a_case_file_without_the_new_fields_shows_as_before(web: Web) -> None:
    first = web.world.items["Northgate"][0]
    html = web.sign_in("casey").get(f"/items/{first}").text
    assert "Jamie Example" in html
    assert "Name taken from" not in html
    assert "Address taken from" not in html
