"""Service thresholds (DATA_CONTRACT.md section 3) as of a night, and the early-warning cohort.

Windows are inclusive: on night T an event dated T - 365 days is inside
"the last 365 days"; T - 366 is not. repeated_events needs ``count`` events
at most ``within_days`` apart, all inside the last ``window_days``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from early_warning.config import (
    ArrearsAtLeast,
    Config,
    EventsOfRole,
    EventsOfType,
    RepeatedEvents,
    load_config,
)
from models.thresholds import early_warning_cohort, known_to_services
from tests.support.canonical_events import (
    AS_OF,
    CONFIG,
    PERSON_IDS,
    Links,
    event,
    events_frame,
    persons_frame,
    random_event,
    random_links,
)

Event = dict[str, Any]


def known_frame(evs: list[Event], links: Links | None = None, *, config: Config = CONFIG) -> pl.DataFrame:
    return known_to_services(events_frame(evs), persons_frame(evs, links), AS_OF, config)


def known(evs: list[Event], links: Links | None = None, *, config: Config = CONFIG) -> dict[str, list[str]]:
    frame = known_frame(evs, links, config=config)
    return dict(zip(frame["person_id"].to_list(), frame["services"].to_list(), strict=True))


@pytest.mark.parametrize(
    ("source", "event_type", "service"),
    [
        ("council_tax", "summons", "council_tax"),
        ("council_tax", "liability_order", "council_tax"),
        ("council_tax", "enforcement_agent_referral", "council_tax"),
        ("housing_rent", "nosp_served", "housing_rent"),
        ("housing_rent", "eviction", "housing_rent"),
        ("adult_social_care", "assessment", "adult_social_care"),
        ("adult_social_care", "care_package_start", "adult_social_care"),
        ("adult_social_care", "safeguarding_concern", "adult_social_care"),
        ("childrens_services", "referral_accepted", "childrens_services"),
        ("childrens_services", "child_protection_plan", "childrens_services"),
        ("homelessness", "approach", "homelessness"),
        ("homelessness", "prevention_duty", "homelessness"),
        ("asb", "case_opened", "asb"),
    ],
)
@pytest.mark.parametrize(("days_before", "fires"), [(0, True), (365, True), (366, False), (-1, False)])
def test_one_qualifying_event_makes_a_person_known_within_the_last_365_days_inclusive(
    source: str, event_type: str, service: str, days_before: int, fires: bool
) -> None:
    got = known([event(source, "x", days_before, event_type)])
    assert got == ({"x": [service]} if fires else {})


@pytest.mark.parametrize(
    ("source", "event_type"),
    [
        ("council_tax", "final_notice"),
        ("housing_rent", "arrears_letter"),
        ("adult_social_care", "referral"),
        ("childrens_services", "early_help_contact"),
        ("asb", "noise_complaint"),
        ("benefits", "claim_suspended"),
        ("contact_centre", "complaint"),
    ],
)
def test_signals_alone_make_no_one_known(source: str, event_type: str) -> None:
    assert known([event(source, "x", 1, event_type)]) == {}


@pytest.mark.parametrize(
    ("source", "pounds", "fires"),
    [
        ("council_tax", 999.99, False),
        ("council_tax", 1000.0, True),
        ("council_tax", 1000.01, True),
        ("housing_rent", 1499.99, False),
        ("housing_rent", 1500.0, True),
    ],
)
def test_arrears_at_exactly_the_threshold_make_a_person_known(
    source: str, pounds: float, fires: bool
) -> None:
    kind = "missed_instalment" if source == "council_tax" else "missed_payment"
    assert known([event(source, "x", 30, kind, amount=pounds)]) == ({"x": [source]} if fires else {})


def test_arrears_use_the_latest_balance_not_the_highest() -> None:
    evs = [
        event("council_tax", "x", 100, "missed_instalment", amount=1800.0),
        event("council_tax", "x", 10, "payment", amount=200.0),
        event("council_tax", "y", 100, "payment", amount=200.0),
        event("council_tax", "y", 10, "missed_instalment", amount=1200.0),
        event("council_tax", "y", 9, "reminder"),  # no amount: does not replace the balance
    ]
    assert known(evs) == {"y": ["council_tax"]}


def test_a_balance_recorded_before_the_window_is_stale() -> None:
    evs = [
        event("housing_rent", "stale", 366, "missed_payment", amount=4000.0),
        event("housing_rent", "edge", 365, "missed_payment", amount=4000.0),
    ]
    assert known(evs) == {"edge": ["housing_rent"]}


def test_a_later_row_on_the_same_day_is_the_latest_balance() -> None:
    evs = [
        event("council_tax", "x", 5, "missed_instalment", amount=1500.0, row=10),
        event("council_tax", "x", 5, "payment", amount=100.0, row=11),
        event("council_tax", "y", 5, "payment", amount=100.0, row=20),
        event("council_tax", "y", 5, "missed_instalment", amount=1500.0, row=21),
    ]
    assert known(evs) == {"y": ["council_tax"]}


def test_a_balance_after_the_night_is_not_known_yet() -> None:
    evs = [
        event("council_tax", "x", 20, "missed_instalment", amount=400.0),
        event("council_tax", "x", -1, "missed_instalment", amount=2400.0),
    ]
    assert known(evs) == {}


@pytest.mark.parametrize(
    ("ages", "fires"),
    [
        ([10, 50, 100], True),  # first to last 90 days
        ([10, 50, 101], False),  # 91 days
        ([10, 10, 10], True),
        ([10, 50], False),  # only two
        ([300, 330, 365], True),  # a burst ending 300 days ago, all inside the year
        ([300, 330, 366], False),  # one report before the year: the burst is not inside it
        ([400, 420, 440], False),  # a burst more than a year ago
        ([10, 200, 250, 280], True),  # any three within 90 days, not necessarily the latest
        ([10, 200, 250, 300], False),  # no three within 90 days of each other
        ([-1, 10, 50], False),  # the third is after the night
    ],
)
def test_asb_knows_a_person_after_three_reports_within_90_days_in_the_last_year(
    ages: list[int], fires: bool
) -> None:
    types = ["report_as_victim", "report_as_alleged", "noise_complaint"]
    evs = [event("asb", "x", age, types[i % 3]) for i, age in enumerate(ages)]
    assert known(evs) == ({"x": ["asb"]} if fires else {})


def test_reports_on_several_records_of_one_person_combine() -> None:
    evs = [
        event("asb", "a1", 10, "noise_complaint"),
        event("asb", "a2", 20, "noise_complaint"),
        event("asb", "a3", 30, "report_as_victim"),
    ]
    links = {("asb", "a1"): "p", ("asb", "a2"): "p", ("asb", "a3"): "p"}
    assert known(evs, links) == {"p": ["asb"]}
    assert known(evs) == {}  # three different people: no one is known


def test_services_are_sorted_and_each_fired_rule_says_when() -> None:
    evs = [
        event("housing_rent", "r", 40, "nosp_served"),
        event("housing_rent", "r", 30, "missed_payment", amount=1600.0),
        event("council_tax", "c", 200, "summons"),
        event("council_tax", "c", 100, "liability_order"),
        event("asb", "a", 80, "noise_complaint"),
        event("asb", "a", 60, "noise_complaint"),
        event("asb", "a", 30, "noise_complaint"),
        event("asb", "a", 5, "report_as_victim"),
    ]
    links = {("housing_rent", "r"): "p", ("council_tax", "c"): "p", ("asb", "a"): "p"}
    frame = known_frame(evs, links)
    assert frame["services"].to_list() == [["asb", "council_tax", "housing_rent"]]
    reasons = frame["reasons"].to_list()[0]
    day = lambda n: AS_OF - timedelta(days=n)  # noqa: E731
    assert [(r["service"], r["kind"], r["since"], r["last_seen"]) for r in reasons] == [
        ("council_tax", "events_of_role", day(200), day(100)),
        ("housing_rent", "events_of_role", day(40), day(40)),
        ("housing_rent", "arrears_at_least", day(30), day(30)),
        ("asb", "repeated_events", day(30), day(5)),  # the third report within 90 days came on day 30
    ]
    assert reasons[2]["rule"] == "arrears of at least £1,500 (latest balance, recorded in the last 365 days)"
    assert reasons[0]["rule"] == "an enforcement event in the last 365 days"


def test_arrears_since_is_when_the_balance_last_reached_the_threshold() -> None:
    evs = [
        event("council_tax", "x", 300, "missed_instalment", amount=1100.0),
        event("council_tax", "x", 200, "payment", amount=900.0),
        event("council_tax", "x", 150, "missed_instalment", amount=1000.0),
        event("council_tax", "x", 20, "missed_instalment", amount=1300.0),
    ]
    reason = known_frame(evs)["reasons"].to_list()[0][0]
    assert (reason["since"], reason["last_seen"]) == (AS_OF - timedelta(days=150), AS_OF - timedelta(days=20))


def test_no_one_known_gives_an_empty_frame_with_the_same_columns() -> None:
    frame = known_frame([event("benefits", "b", 3, "overpayment")])
    assert frame.height == 0
    assert frame.schema == known_frame([event("council_tax", "c", 3, "summons")]).schema


def test_the_cohort_is_everyone_known_to_no_service_including_people_with_no_events() -> None:
    evs = [
        event("council_tax", "c1", 3, "summons"),
        event("council_tax", "c2", 3, "reminder"),
        event("benefits", "b1", 3, "claim_new"),
    ]
    links = {
        ("council_tax", "c1"): "p1",
        ("benefits", "b1"): "p1",
        ("council_tax", "c2"): "p2",
        ("asb", "a"): "p3",
    }
    persons = persons_frame(evs, links)
    cohort = early_warning_cohort(persons, known_to_services(events_frame(evs), persons, AS_OF, CONFIG))
    assert cohort["person_id"].to_list() == ["p2", "p3"]
    assert early_warning_cohort(persons.collect(), known_frame([]))["person_id"].to_list() == [
        "p1",
        "p2",
        "p3",
    ]


def _config_with(tmp_path: Path, thresholds: str) -> Config:
    (tmp_path / "thresholds.yaml").write_text(thresholds, encoding="utf-8")
    return load_config(tmp_path)


def test_a_rules_own_within_days_overrides_window_days(tmp_path: Path) -> None:
    config = _config_with(
        tmp_path,
        """
window_days: 365
services:
  council_tax:
    label: council tax
    sources: [council_tax]
    rules:
      - events_of_role: {role: enforcement, within_days: 30}
      - arrears_at_least: {pounds: 500, within_days: 60}
  homelessness:
    label: homelessness
    sources: [homelessness]
    rules:
      - any_event: {within_days: 7}
""",
    )
    evs = [
        event("council_tax", "in", 30, "summons"),
        event("council_tax", "out", 31, "summons"),
        event("council_tax", "owes", 60, "missed_instalment", amount=500.0),
        event("council_tax", "owed", 61, "missed_instalment", amount=500.0),
        event("homelessness", "h_in", 7, "approach"),
        event("homelessness", "h_out", 8, "approach"),
    ]
    assert known(evs, config=config) == {
        "h_in": ["homelessness"],
        "in": ["council_tax"],
        "owes": ["council_tax"],
    }


def test_no_rules_at_all_knows_no_one(tmp_path: Path) -> None:
    config = _config_with(
        tmp_path, "window_days: 365\nservices:\n  benefits:\n    label: benefits\n    sources: [benefits]\n"
    )
    frame = known_frame([event("council_tax", "c", 3, "summons")], config=config)
    assert frame.height == 0
    assert frame.columns == ["person_id", "services", "reasons"]


# --- properties -------------------------------------------------------------------------

FAST = settings(max_examples=40, deadline=None)


@FAST
@given(
    before=st.lists(random_event(min_days=0, max_days=500), max_size=30),
    after=st.lists(random_event(min_days=-400, max_days=-1), min_size=1, max_size=15),
    links=random_links(),
)
def test_events_after_the_night_change_nothing(before: list[Event], after: list[Event], links: Links) -> None:
    assert_frame_equal(known_frame(before, links), known_frame(before + after, links))


def _reference_fires(mine: list[Event], config: Config, service_name: str) -> bool:
    """Slow and plain: does any of the service's rules fire for these (one person's) events?"""
    service = config.thresholds.services[service_name]
    ours = [e for e in mine if e["source"] in service.sources and e["event_date"] <= AS_OF]

    def age(e: Event) -> int:
        return (AS_OF - e["event_date"]).days

    for rule in service.rules:
        spec = rule.spec
        days = config.thresholds.window_days
        if getattr(spec, "within_days", None) and not isinstance(spec, RepeatedEvents):
            days = spec.within_days
        recent = [e for e in ours if age(e) <= days]
        if isinstance(spec, EventsOfRole):
            fired = any(e["role"] == spec.role for e in recent)
        elif isinstance(spec, EventsOfType):
            fired = any(e["event_type"] in spec.types for e in recent)
        elif isinstance(spec, ArrearsAtLeast):
            held = [e for e in ours if e["amount"] is not None]
            latest = max(held, key=lambda e: (e["event_date"], e["row_number"])) if held else None
            fired = latest is not None and latest["amount"] >= spec.pounds and age(latest) <= days
        elif isinstance(spec, RepeatedEvents):
            dates = sorted(e["event_date"] for e in recent if e["event_type"] in spec.types)
            fired = any(
                (dates[i + spec.count - 1] - dates[i]).days <= spec.within_days
                for i in range(len(dates) - spec.count + 1)
            )
        else:
            fired = bool(recent)
        if fired:
            return True
    return False


@settings(max_examples=60, deadline=None)
@given(evs=st.lists(random_event(min_days=-20, max_days=500), max_size=40), links=random_links())
@example(evs=[], links={})
def test_known_services_agree_with_a_plain_python_reference(evs: list[Event], links: Links) -> None:
    got = known(evs, links)
    for person in PERSON_IDS:
        mine = [e for e in evs if links.get((e["source"], e["source_person_id"])) == person]
        want = sorted(s for s in CONFIG.thresholds.services if _reference_fires(mine, CONFIG, s))
        assert got.get(person, []) == want, person


def test_the_reference_itself_fires_on_a_known_case() -> None:
    evs = [event("asb", "as0", d, "noise_complaint") for d in (1, 2, 3)]
    assert _reference_fires(evs, CONFIG, "asb")
    assert not _reference_fires(evs[:2], CONFIG, "asb")
