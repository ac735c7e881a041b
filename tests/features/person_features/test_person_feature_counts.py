"""Window counts, groups, trend and distinct services: hand-built events with exactly known answers.

Windows are inclusive: on night T an event dated T - 90 days is in the 90-day
window, one dated T - 91 days is not.
"""

from __future__ import annotations

import pytest
from person_feature_helpers import features, row

from features.person_features import WINDOWS
from tests.support.canonical_events import CONFIG, event


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [
        (0, {30: 1, 90: 1, 180: 1, 365: 1}),
        (30, {30: 1, 90: 1, 180: 1, 365: 1}),
        (31, {30: 0, 90: 1, 180: 1, 365: 1}),
        (90, {30: 0, 90: 1, 180: 1, 365: 1}),
        (91, {30: 0, 90: 0, 180: 1, 365: 1}),
        (180, {30: 0, 90: 0, 180: 1, 365: 1}),
        (181, {30: 0, 90: 0, 180: 0, 365: 1}),
        (365, {30: 0, 90: 0, 180: 0, 365: 1}),
        (366, {30: 0, 90: 0, 180: 0, 365: 0}),
        (-1, {30: 0, 90: 0, 180: 0, 365: 0}),  # the day after the night: not known yet
    ],
)
def test_a_signal_exactly_n_days_before_the_night_is_inside_the_n_day_window(
    days_before: int, expected: dict[int, int]
) -> None:
    feats = features([event("council_tax", "c1", days_before, "missed_instalment")])
    got = row(feats, "c1")
    for w in WINDOWS:
        assert got[f"signals_{w}d_council_tax"] == expected[w], w
        assert got[f"signals_{w}d_total"] == expected[w], w
        assert got[f"missed_payments_{w}d"] == expected[w], w
        assert got[f"distinct_services_{w}d"] == expected[w], w
    assert got["council_tax_missed_instalment_90d"] == expected[90]
    assert got["council_tax_missed_instalment_365d"] == expected[365]


def test_only_signal_events_count_as_signals() -> None:
    feats = features(
        [
            event("council_tax", "c1", 5, "payment"),  # routine
            event("council_tax", "c1", 5, "summons"),  # enforcement
            event("homelessness", "c1", 5, "approach"),  # crisis
            event("adult_social_care", "c1", 5, "assessment"),  # service
        ]
    )
    got = row(feats, "c1")
    assert got["signals_365d_total"] == 0
    assert got["distinct_services_365d"] == 0
    assert got["days_since_last_signal"] is None
    assert got["days_since_last_event"] == 5


def test_counts_per_service_per_type_and_distinct_services() -> None:
    who = {("council_tax", "c1"): "p", ("benefits", "b1"): "p", ("contact_centre", "k1"): "p"}
    feats = features(
        [
            event("council_tax", "c1", 10, "reminder"),
            event("council_tax", "c1", 40, "reminder"),
            event("council_tax", "c1", 100, "final_notice"),
            event("benefits", "b1", 20, "claim_suspended"),
            event("benefits", "b1", 200, "dhp_application"),
            event("contact_centre", "k1", 300, "complaint", topic="waste"),
        ],
        who,
    )
    got = row(feats, "p")
    assert [got[f"signals_{w}d_council_tax"] for w in WINDOWS] == [1, 2, 3, 3]
    assert [got[f"signals_{w}d_benefits"] for w in WINDOWS] == [1, 1, 1, 2]
    assert [got[f"signals_{w}d_contact_centre"] for w in WINDOWS] == [0, 0, 0, 1]
    assert [got[f"signals_{w}d_total"] for w in WINDOWS] == [2, 3, 4, 6]
    assert [got[f"distinct_services_{w}d"] for w in WINDOWS] == [2, 2, 2, 3]
    assert got["council_tax_reminder_90d"] == 2
    assert got["council_tax_final_notice_90d"] == 0
    assert got["council_tax_final_notice_365d"] == 1
    assert got["benefits_claim_suspended_90d"] == 1
    assert got["contact_centre_complaint_365d"] == 1
    assert [got[f"benefit_changes_or_stops_{w}d"] for w in WINDOWS] == [1, 1, 1, 1]
    assert [got[f"hardship_applications_{w}d"] for w in WINDOWS] == [0, 0, 0, 1]


def test_missed_payments_combine_council_tax_and_rent() -> None:
    who = {("council_tax", "c1"): "p", ("housing_rent", "r1"): "p"}
    feats = features(
        [
            event("council_tax", "c1", 3, "missed_instalment"),
            event("housing_rent", "r1", 60, "missed_payment"),
            event("housing_rent", "r1", 61, "missed_payment"),
            event("housing_rent", "r1", 170, "arrears_letter"),  # a signal, not a missed payment
        ],
        who,
    )
    assert [row(feats, "p")[f"missed_payments_{w}d"] for w in WINDOWS] == [1, 3, 3, 3]


@pytest.mark.parametrize(
    ("recent", "earlier", "ratio"),
    [
        (0, 0, 1.0),  # nothing then, nothing now: steady
        (3, 0, 4.0),  # (3 + 1) / (0 + 1)
        (0, 11, 1 / (11 * 90 / 275 + 1)),
        (2, 11, 3 / (11 * 90 / 275 + 1)),
    ],
)
def test_trend_is_a_smoothed_rate_ratio_of_the_last_90_days_to_the_275_before(
    recent: int, earlier: int, ratio: float
) -> None:
    evs = [event("council_tax", "c1", 90, "reminder") for _ in range(recent)]
    evs += [event("council_tax", "c1", 91 + i * 20, "reminder") for i in range(earlier)]
    evs += [event("council_tax", "c1", 366, "reminder")]  # outside both: ignored
    got = row(features(evs), "c1")
    assert got["signal_trend_90d_vs_prior_275d"] == pytest.approx(ratio)


def test_channel_mix_is_the_share_of_contacts_with_a_channel_in_365_days() -> None:
    feats = features(
        [
            event("contact_centre", "k1", 1, "enquiry", channel="phone"),
            event("contact_centre", "k1", 2, "enquiry", channel="phone"),
            event("contact_centre", "k1", 3, "complaint", channel="email"),
            event("contact_centre", "k1", 4, "complaint", channel="web"),
            event("contact_centre", "k1", 5, "complaint"),  # no channel: not in the mix
            event("contact_centre", "k1", 400, "complaint", channel="letter"),  # too old
        ]
    )
    got = row(feats, "k1")
    assert got["contacts_with_channel_365d"] == 4
    assert got["channel_share_phone_365d"] == pytest.approx(0.5)
    assert got["channel_share_email_365d"] == pytest.approx(0.25)
    assert got["channel_share_web_365d"] == pytest.approx(0.25)
    assert got["channel_share_letter_365d"] == 0.0
    assert sum(got[f"channel_share_{c}_365d"] for c in CONFIG.channels) == pytest.approx(1.0)


def test_recency_counts_days_from_the_night_over_any_source_and_all_history() -> None:
    who = {("council_tax", "c1"): "p", ("asb", "a1"): "p"}
    feats = features(
        [
            event("council_tax", "c1", 2000, "bill_issued"),
            event("council_tax", "c1", 400, "reminder"),
            event("asb", "a1", 12, "case_opened"),
            event("asb", "a1", -3, "noise_complaint"),  # after the night
        ],
        who,
    )
    got = row(feats, "p")
    assert got["days_since_first_event"] == 2000
    assert got["days_since_last_event"] == 12
    assert got["days_since_last_signal"] == 400
