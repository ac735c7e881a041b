"""The review app's Jinja environment: filters and the remembered GOV.UK tag."""

from __future__ import annotations

from pathlib import Path

import pytest

import review_ui.web
from review_ui.web.templating import TAG_MACRO, make_templates


@pytest.mark.parametrize(
    ("text", "classes"),
    [
        ("Council tax", "govuk-tag--grey"),
        ("New", "govuk-tag--blue"),
        ("In review", ""),
        ('<script>alert("x")</script> & co', "govuk-tag--yellow"),
    ],
)
def test_a_remembered_tag_is_exactly_what_govuk_tag_renders(text: str, classes: str) -> None:
    environment = make_templates().env
    direct = environment.from_string(
        f'{{% from "{TAG_MACRO}" import govukTag %}}{{{{ govukTag({{"text": text, "classes": classes}}) }}}}'
    )
    remembered = environment.globals["govuk_tag"]
    assert remembered(text, classes) == direct.render(text=text, classes=classes)
    assert remembered(text, classes) == remembered(text, classes)  # the second comes from the cache
    assert "<script>" not in remembered(text, classes)


def test_the_work_records_dates_are_one_macro_that_renders_govuk_date_input() -> None:
    """ "When did you try" and the follow-up date were two copies of one date-input block; the
    forms now both call ``dateField``, which renders exactly GOV.UK's date input."""
    environment = make_templates().env
    date_field = environment.get_template("partials/_date_field.html").module.dateField  # type: ignore[attr-defined]
    typed = {"day": "3", "month": "4", "year": "2026"}
    html = str(date_field("tried", "When did you try?", "For example, 27 3 2026", typed, "Enter a real date"))
    direct = environment.from_string(
        '{% from "govuk_frontend_jinja/components/date-input/macro.html" import govukDateInput %}'
        '{{ govukDateInput({"id": "tried", "namePrefix": "tried",'
        ' "fieldset": {"legend": {"text": "When did you try?", "classes": "govuk-fieldset__legend--s"}},'
        ' "hint": {"text": "For example, 27 3 2026"},'
        ' "items": [{"name": "day", "classes": "govuk-input--width-2", "value": "3"},'
        ' {"name": "month", "classes": "govuk-input--width-2", "value": "4"},'
        ' {"name": "year", "classes": "govuk-input--width-4", "value": "2026"}],'
        ' "errorMessage": {"text": "Enter a real date"}}) }}'
    ).render()
    assert html.strip() == direct.strip()
    for name, value in (("tried-day", "3"), ("tried-month", "4"), ("tried-year", "2026")):
        assert f'name="{name}"' in html
        assert f'value="{value}"' in html
    assert "Enter a real date" in html
    empty = str(date_field("follow_up", "Follow-up date (optional)", "Hint", None, None))
    assert 'name="follow_up-day"' in empty
    assert "govuk-error-message" not in empty
    assert "value=" not in empty
    templates = Path(review_ui.web.__file__).parent / "templates" / "partials"
    for form in ("_attempt_fields.html", "_outcome_fields.html"):
        source = (templates / form).read_text()
        assert "dateField(" in source, form
        assert "govukDateInput" not in source, form
