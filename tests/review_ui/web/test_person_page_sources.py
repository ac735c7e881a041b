"""The person page says which record the name and address were taken from (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
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


def _set_records(web: Web, person_id: str, records: list[dict[str, Any]]) -> None:
    with web.app.state.session_factory() as db:
        found = db.get(CaseFile, person_id)
        assert found is not None
        found.content = {**found.content, "records": records}
        db.commit()


def _key_facts(html: str) -> str:
    start = html.index('id="key-facts"')
    return html[start : html.index("</dl>", start)]


def _value_of(facts: str, key: str) -> str:
    """The text of the summary list's value for ``key``, tags and runs of spaces collapsed."""
    found = re.search(
        rf'<dt class="govuk-summary-list__key">\s*{key}\s*</dt>\s*<dd class="govuk-summary-list__value">(.*?)</dd>',
        facts,
        re.S,
    )
    assert found is not None, f"no {key!r} row in the key facts"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_each_name_and_phone_is_shown_once_with_the_systems_that_hold_it(web: Web) -> None:
    _set_person(
        web,
        "N-1",
        name="Sean Carey",
        names=["Sean Carey", "SEAN CAREY", "Shaun Carey"],
        phones=["07700 900123", "+44 7700 900123", "01632 960000"],
    )
    _set_records(
        web,
        "N-1",
        [
            {
                "source": "council_tax",
                "source_person_id": "CT1",
                "name": "Sean Carey",
                "phone": "07700 900123",
            },
            {
                "source": "benefits",
                "source_person_id": "B1",
                "name": "SEAN CAREY",
                "phone": "+44 7700 900123",
            },
            {
                "source": "housing_rent",
                "source_person_id": "H1",
                "name": "Shaun Carey",
                "phone": "01632 960000",
            },
        ],
    )
    first = web.world.items["Northgate"][0]
    facts = _key_facts(web.sign_in("casey").get(f"/items/{first}").text)
    assert _value_of(facts, "Name") == "Sean Carey Held by council tax, benefits"
    assert _value_of(facts, "Also known as") == "Shaun Carey Held by housing rent"
    assert _value_of(facts, "Phone") == (
        "07700 900123 Held by council tax, benefits 01632 960000 Held by housing rent"
    )
    assert "SEAN CAREY" not in facts
    assert "+44 7700 900123" not in facts
    # Two numbers are a list, so a screen reader says how many there are.
    assert facts.count('<ul class="govuk-list app-held-list">') == 1


def test_a_case_file_whose_records_lack_phones_shows_the_numbers_without_sources(web: Web) -> None:
    _set_person(web, "N-1", name="Sean Carey", names=["Sean Carey"], phones=["07700 900123"])
    _set_records(web, "N-1", [{"source": "council_tax", "source_person_id": "CT1", "name": "Sean Carey"}])
    first = web.world.items["Northgate"][0]
    facts = _key_facts(web.sign_in("casey").get(f"/items/{first}").text)
    assert _value_of(facts, "Name") == "Sean Carey Held by council tax"
    assert _value_of(facts, "Phone") == "07700 900123"
