"""Jinja2 with the GOV.UK Frontend macros (``govuk-frontend-jinja``) and our own templates.

The design system's ``template.html`` is extended by ``base.html``, which
replaces its header and footer with the council's own (a council's service
is not on GOV.UK: no crown, no GOV.UK logotype).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from early_warning.config import load_wording
from early_warning.formatting import money, uk_date, uk_date_time, uk_month
from early_warning.wording import Wording

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

#: The default ``wording.yaml``, for templates made without a council's (tests, tools); the app
#: makes its templates from its own wording (``app.state.wording``), and so do the chart, the
#: audit descriptions and the outcome form, which read it from the request.
DEFAULT_WORDING = load_wording()

STATUS_LABELS = {"new": "New", "in_review": "In review", "closed": "Closed", "merged": "Merged"}

ROLE_LABELS = {
    "caseworker": "Caseworker",
    "team_lead": "Team lead",
    "administrator": "Administrator",
    "analyst": "Analyst",
}


#: '3 March 2026' (GOV.UK style: no leading zero, full month); kept under the app's old name.
long_date = uk_date


def locality_label(locality: str | None) -> str:
    if locality is None:
        return ""
    return "No known address" if locality == "unknown" else locality


TAG_MACRO = "govuk_frontend_jinja/components/tag/macro.html"


def remembered_tag(environment: jinja2.Environment) -> Callable[[str, str], Markup]:
    """``govukTag({"text": text, "classes": classes})``, rendered once per text and classes.

    A tag's HTML depends on nothing but those two strings, and a page of the
    review list shows about a hundred tags drawn from a dozen (services and
    statuses): calling the macro for each took about a third of the page's
    rendering. The HTML is the macro's own, so it stays exactly the design
    system's; the cache is bounded and holds no personal data.
    """
    macro = environment.get_template(TAG_MACRO).module.govukTag  # type: ignore[attr-defined]

    @lru_cache(maxsize=512)
    def tag(text: str, classes: str) -> Markup:
        return Markup(macro({"text": text, "classes": classes}))

    return tag


def make_templates(wording: Wording | None = None) -> Jinja2Templates:
    """The app's templates, naming services and outcomes in ``wording`` (a council's
    ``wording.yaml``, from :func:`early_warning.config.load_wording`; default: the default's)."""
    wording = wording or DEFAULT_WORDING
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(TEMPLATES_DIR),
                jinja2.PrefixLoader({"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        # Templates ship with the code: never stat files per render (measured: person page 67 -> 36 ms).
        auto_reload=False,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Any] = {
        "service": wording.service_title,
        # inside a sentence ("Held by council tax, benefits")
        "service_words": wording.service_label,
        "long_date": uk_date,
        "month": uk_month,
        "date_time": uk_date_time,
        "money": money,
        "outcome_label": wording.outcome_label,
        "status_label": lambda v: STATUS_LABELS.get(v, v),
        "role_label": lambda v: ROLE_LABELS.get(v, v),
        "locality_label": locality_label,
    }
    environment.filters.update(filters)
    environment.globals.update(
        OUTCOME_LABELS=dict(wording.outcomes),
        SERVICE_LABELS={source: wording.service_title(source) for source in wording.services},
    )
    # The person page's sentences (wording.yaml ``person_page``): ``words.x``, or ``page_words("x", n=2)``.
    environment.globals.update(words=dict(wording.person_page), page_words=wording.page_words)
    environment.globals["govuk_tag"] = remembered_tag(environment)
    return Jinja2Templates(env=environment)
