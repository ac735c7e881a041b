"""Jinja2 with the GOV.UK Frontend macros (``govuk-frontend-jinja``) and our own templates.

The design system's ``template.html`` is extended by ``base.html``, which
replaces its header and footer with the council's own (a council's service
is not on GOV.UK: no crown, no GOV.UK logotype).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

SERVICE_LABELS = {
    "council_tax": "Council tax",
    "housing_rent": "Housing rent",
    "benefits": "Benefits",
    "contact_centre": "Contact centre",
    "adult_social_care": "Adult social care",
    "childrens_services": "Children's services",
    "homelessness": "Homelessness",
    "asb": "Anti-social behaviour",
}

OUTCOME_LABELS = {
    "help_offered": "Help offered",
    "already_supported": "Already supported",
    "no_help_needed": "No help needed",
    "could_not_reach": "Could not reach",
    "declined": "Declined",
}

STATUS_LABELS = {"new": "New", "in_review": "In review", "closed": "Closed", "merged": "Merged"}

ROLE_LABELS = {
    "caseworker": "Caseworker",
    "team_lead": "Team lead",
    "administrator": "Administrator",
    "analyst": "Analyst",
}


def service_label(source: str | None) -> str:
    if not source:
        return ""
    return SERVICE_LABELS.get(source, source.replace("_", " ").capitalize())


def long_date(value: date | datetime | str | None) -> str:
    """'3 March 2026' (GOV.UK style: no leading zero, full month)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {value:%B %Y}"


def date_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{long_date(value)} at {value:%H:%M} UTC"


def money(value: float | None) -> str:
    return "" if value is None else f"£{value:,.2f}"


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


def make_templates() -> Jinja2Templates:
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
        "service": service_label,
        "long_date": long_date,
        "date_time": date_time,
        "money": money,
        "outcome_label": lambda v: OUTCOME_LABELS.get(v, v),
        "status_label": lambda v: STATUS_LABELS.get(v, v),
        "role_label": lambda v: ROLE_LABELS.get(v, v),
        "locality_label": locality_label,
    }
    environment.filters.update(filters)
    environment.globals.update(OUTCOME_LABELS=OUTCOME_LABELS, SERVICE_LABELS=SERVICE_LABELS)
    environment.globals["govuk_tag"] = remembered_tag(environment)
    return Jinja2Templates(env=environment)
