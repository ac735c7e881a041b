"""The person page's sections read from a case file: timeline folding and reason links,
involvement, coverage, match sentences and confidence (issue 16)."""

from __future__ import annotations

from datetime import date

import pytest

from early_warning.config import load_wording
from review_ui.queue.case_file import read_case_file
from review_ui.web.person_sections import (
    age_band,
    confidence,
    coverage,
    involvement,
    match_sentence,
    timeline_view,
)
from tests.support.busy_person import BUSY_REASONS, ROUTINE_ENTRIES, TOTAL_ENTRIES, busy_case_file
from tests.support.review_app import case_file

WORDING = load_wording()
OPEN_DAYS = {"adult_social_care": {"assessment": 90}, "homelessness": {"prevention_duty": 56}}


def test_routine_entries_fold_into_one_line_per_month_and_service_and_zero_amounts_vanish() -> None:
    busy = read_case_file(busy_case_file("B-1"))
    view = timeline_view(busy, BUSY_REASONS, WORDING, show_all=False)
    folded = [e for e in view.entries if e.routine]
    assert len(folded) == 48  # 24 months x (council tax, housing rent)
    assert sum(e.count for e in folded) == ROUTINE_ENTRIES
    assert "Council tax: 2 routine entries (Council tax bill issued, Paid council tax)" in [
        e.label for e in folded
    ]
    assert view.signs == TOTAL_ENTRIES - ROUTINE_ENTRIES
    everything = timeline_view(busy, BUSY_REASONS, WORDING, show_all=True)
    assert len(everything.entries) == TOTAL_ENTRIES
    assert all(e.amount is None or e.amount > 0 for e in everything.entries)
    dates = [e.date for e in view.entries]
    assert dates == sorted(dates, reverse=True)


def test_each_reason_names_the_signs_of_need_behind_it() -> None:
    busy = read_case_file(busy_case_file("B-1"))
    view = timeline_view(busy, BUSY_REASONS, WORDING, show_all=False)
    behind = {n: [e for e in view.entries if n in e.reasons] for n in (1, 2, 3)}
    # 1: the missed rent payments since 2 April (its reason pattern names the event type).
    assert [e.label for e in behind[1]] == ["Missed a rent payment"] * 3
    # 2: the signs of the three services named, in the last 90 days (not the older ASC contact).
    assert {e.service for e in behind[2]} == {"council_tax", "housing_rent", "contact_centre"}
    assert all(e.date and e.date >= date(2026, 4, 1) for e in behind[2])
    # 3: the contact centre enquiries between the two dates; "about rent" is a topic, not a service.
    assert [e.label for e in behind[3]] == ["Enquiry to the contact centre about rent"] * 3
    assert [link.count for link in view.reasons] == [3, 8, 3]
    assert all(not e.routine for n in behind for e in behind[n])


def test_a_reason_the_timeline_cannot_back_gets_no_link() -> None:
    busy = read_case_file(busy_case_file("B-1"))
    view = timeline_view(busy, ["A reason with no date."], WORDING, show_all=False)
    assert view.reasons[0].anchor is None


def test_involvement_says_what_when_and_whether_it_is_open() -> None:
    busy = read_case_file(busy_case_file("B-1"))
    found = involvement(busy, OPEN_DAYS, WORDING)
    assert [i.text for i in found["adult_social_care"]] == [
        "Adult social care assessment, June 2025: no open case"
    ]
    assert [(i.text, i.open) for i in found["homelessness"]] == [
        ("Homelessness prevention duty accepted, June 2026: open", True)
    ]
    # Without a configured period, an involvement is never called open.
    assert not any(i.open for lines in involvement(busy, {}, WORDING).values() for i in lines)


def test_coverage_lists_every_source_and_an_older_case_file_the_ones_it_holds() -> None:
    busy = read_case_file(busy_case_file("B-1"))
    rows = {row.source: row.text for row in coverage(busy, WORDING)}
    assert rows["council_tax"] == "record held; its extract runs to 29 June 2026"
    assert rows["benefits"] == "no record"
    assert rows["asb"] == "no record, and no extract received"
    older = read_case_file(case_file("N-1"))  # version 1: no coverage section
    assert [(r.source, r.text) for r in coverage(older, WORDING)] == [
        ("contact_centre", "record held"),
        ("council_tax", "record held"),
    ]


@pytest.mark.parametrize(
    ("reasons", "sentence"),
    [
        (
            ["date of birth: exact match (+7.2)", "phone: exact match (+9.1)", "address: different (-2.4)"],
            "Same date of birth and phone; address differs",
        ),
        (["first name: small typo (+2.0)", "email: missing (0.0)"], "First name: small typo"),
        (
            [
                "address: same postcode and address (+5.0)",
                "date of birth: different (-4)",
                "phone: different (-1)",
            ],
            "Same address; date of birth and phone differ",
        ),
    ],
)
def test_match_evidence_reads_as_a_sentence_without_weights(reasons: list[str], sentence: str) -> None:
    assert match_sentence(reasons, WORDING) == sentence


def test_confidence_is_one_of_three_levels_in_words() -> None:
    assert confidence(1.0, WORDING) == "Very likely the same person"
    assert confidence(0.999, WORDING) == "Very likely the same person"
    assert confidence(0.97, WORDING) == "Likely the same person"
    assert confidence(0.5, WORDING) == "Possible - check before you rely on it"
    assert confidence(None, WORDING) == "Possible - check before you rely on it"


def test_age_band() -> None:
    assert age_band(34, WORDING) == "30 to 39"
    assert age_band(None, WORDING) is None
