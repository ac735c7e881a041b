"""The review app's Jinja environment: filters and the remembered GOV.UK tag."""

from __future__ import annotations

import pytest

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
