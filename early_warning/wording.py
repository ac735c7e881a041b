"""The words a caseworker reads, as data: ``wording.yaml`` and the look-ups on it.

Service and event labels, the reason sentences' patterns, contact topics and
review outcomes used to be Python dictionaries in four modules (reasons, case
files, the review app), two of which disagreed. They are now one file a
service manager can read and a council can override word by word, read
through the one configuration loader (:func:`early_warning.config.load_wording`,
also part of :class:`early_warning.config.Config` as ``config.wording``) and
checked by ``early-warning config-check``.

This module is the ground floor: it imports nothing of the product, so
features, models and the review app can all ask it what a thing is called.

Example:
    >>> from early_warning.config import load_wording
    >>> wording = load_wording()
    >>> wording.service_label("asb"), wording.service_title("asb")
    ('anti-social behaviour', 'Anti-social behaviour')
    >>> wording.topic_words("other")
    'another matter'
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

#: What a reason pattern may say besides its own words: nothing else can reach a sentence.
PLACEHOLDERS = ("{label}", "{Label}", "{n}", "{date}")
#: How an address was placed on the gazetteer (``features.graph.best_record.ADDRESS_QUALITY``).
ADDRESS_MATCHES = ("gazetteer", "postcode", "street", "as_held", "postcode_only")
#: The outcomes a review records (``review_ui.store`` ``Outcome``).
OUTCOMES = ("help_offered", "already_supported", "no_help_needed", "could_not_reach", "declined")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def capitalised(text: str) -> str:
    """``text`` with its first letter a capital, the rest as written ("Children's services")."""
    return text[:1].upper() + text[1:]


class ReasonPattern(_Strict):
    """How a reason says one kind of event: once (``one``) and more than once (``several``)."""

    one: str
    several: str
    #: Add "; arrears now £X" (for a source that holds arrears).
    arrears_now: bool = False

    @field_validator("one", "several")
    @classmethod
    def _only_known_placeholders(cls, pattern: str) -> str:
        unknown = [p for p in re.findall(r"\{[^{}]*\}", pattern) if p not in PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} is not a placeholder a reason may use; expected only "
                f"{', '.join(PLACEHOLDERS)}"
            )
        if "{date}" not in pattern:
            raise ValueError("a reason says when: the pattern must hold {date}")
        return pattern


#: The person page's words (``person_page`` in wording.yaml): each must be there, and may use
#: only the placeholders listed beside it, so no council's copy can bring other data in.
PERSON_PAGE_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "reason_link_several": ("{n}",),
    "behind_reason": ("{n}",),
    "timeline_show_all": ("{n}",),
    "routine_one": ("{service}", "{what}"),
    "routine_several": ("{service}", "{n}", "{what}"),
    "involvement_open": ("{what}", "{month}"),
    "involvement_closed": ("{what}", "{month}"),
    "coverage_held": ("{date}",),
    "match_same": ("{things}",),
    "match_close": ("{thing}", "{label}"),
    "match_differs_one": ("{thing}",),
    "match_differs_several": ("{things}",),
    "age_band": ("{low}", "{high}"),
}
PERSON_PAGE_WORDS = [
    "reasons_heading",
    "reason_link_one",
    "timeline_heading",
    "timeline_signs_heading",
    "timeline_all_heading",
    "timeline_show_signs",
    "timeline_none",
    "timeline_no_signs",
    "involvement_heading",
    "involvement_intro",
    "involvement_none",
    "coverage_heading",
    "coverage_held_undated",
    "coverage_not_held",
    "coverage_no_extract",
    "coverage_caution",
    "match_heading",
    "match_very_likely",
    "match_likely",
    "match_possible",
    "household_heading",
    "household_private",
    "household_open",
    "household_open_hint",
    "household_shown_heading",
    "household_no_services",
    "key_facts_heading",
    "actions_link",
] + list(PERSON_PAGE_PLACEHOLDERS)


class Wording(_Strict):
    """The validated contents of ``wording.yaml`` (see the default file for what each part is)."""

    #: source -> its label as written inside a sentence ("council tax").
    services: dict[str, str] = {}
    #: source -> event type -> what a case file's timeline calls it.
    events: dict[str, dict[str, str]] = {}
    #: source -> signal event type -> its reason sentence.
    reasons: dict[str, dict[str, ReasonPattern]] = {}
    #: contact topic -> the words after "about".
    topics: dict[str, str] = {}
    unlisted_topic: str
    #: how an address was placed (each of :data:`ADDRESS_MATCHES`) -> words after its source.
    address_match: dict[str, str]
    #: each of :data:`OUTCOMES` -> what the review app calls it.
    outcomes: dict[str, str]
    #: each of :data:`PERSON_PAGE_WORDS` -> the person page's words for it.
    person_page: dict[str, str]

    @field_validator("person_page")
    @classmethod
    def _person_page_words(cls, words: dict[str, str]) -> dict[str, str]:
        unknown = [name for name in words if name not in PERSON_PAGE_WORDS]
        if unknown:
            raise ValueError(f"{', '.join(map(repr, unknown))} is not a person page sentence")
        missing = [name for name in PERSON_PAGE_WORDS if name not in words]
        if missing:
            raise ValueError(f"no words for {', '.join(missing)}")
        for name, text in words.items():
            allowed = PERSON_PAGE_PLACEHOLDERS.get(name, ())
            unknown = [p for p in re.findall(r"\{[^{}]*\}", text) if p not in allowed]
            if unknown:
                raise ValueError(
                    f"person_page.{name}: {', '.join(unknown)} is not a placeholder it may use"
                    f" (only {', '.join(allowed) or 'none'})"
                )
        return words

    def page_words(self, name: str, **values: object) -> str:
        """A person page sentence (``person_page`` in wording.yaml) with its placeholders filled."""
        return self.person_page[name].format(**{k: str(v) for k, v in values.items()})

    @field_validator("address_match", "outcomes")
    @classmethod
    def _words_for_each_name(cls, words: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        expected = ADDRESS_MATCHES if info.field_name == "address_match" else OUTCOMES
        unknown = [name for name in words if name not in expected]
        if unknown:
            raise ValueError(f"{', '.join(map(repr, unknown))} is not one of {', '.join(expected)}")
        missing = [name for name in expected if name not in words]
        if missing:
            raise ValueError(f"no words for {', '.join(missing)}; each of {', '.join(expected)} needs some")
        return words

    def service_label(self, source: str | None) -> str:
        """How a sentence names ``source`` ("council tax"); its name in words if unlabelled."""
        if not source:
            return ""
        return self.services.get(source, source.replace("_", " "))

    def service_title(self, source: str | None) -> str:
        """``source``'s label starting with a capital, as the review app shows it ("Council tax")."""
        return capitalised(self.service_label(source))

    def event_label(self, source: str, event_type: str) -> str | None:
        """The timeline's words for an event type, or None when the wording has none."""
        return self.events.get(source, {}).get(event_type)

    def topic_words(self, topic: str) -> str:
        """A topic after "about": its words, else the topic with spaces for underscores."""
        return self.topics.get(topic, topic.replace("_", " "))

    def outcome_label(self, outcome: str) -> str:
        """What the review app calls an outcome (the outcome's own name if it is not one)."""
        return self.outcomes.get(outcome, outcome)
