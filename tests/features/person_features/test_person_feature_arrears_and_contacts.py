"""Arrears level, change and peak; repeat contacts on the same topic; records combining."""

from __future__ import annotations

import pytest
from person_feature_helpers import features, row

from tests.support.canonical_events import event


def test_arrears_now_change_and_peak_follow_the_latest_balance_at_each_date() -> None:
    feats = features(
        [
            event("council_tax", "c1", 500, "missed_instalment", amount=900.0),  # carried into the year
            event("council_tax", "c1", 200, "payment", amount=100.0),
            event("council_tax", "c1", 180, "reminder", amount=150.0),  # balance 180 days ago
            event("council_tax", "c1", 120, "final_notice", amount=400.0),
            event("council_tax", "c1", 91, "payment", amount=300.0),  # balance 90 days ago
            event("council_tax", "c1", 10, "missed_instalment", amount=650.0),
            event("council_tax", "c1", 5, "reminder"),  # no amount: not a balance
            event("council_tax", "c1", -1, "missed_instalment", amount=5000.0),  # after the night
        ]
    )
    got = row(feats, "c1")
    assert got["council_tax_arrears_now"] == 650.0
    assert got["council_tax_arrears_change_90d"] == 350.0
    assert got["council_tax_arrears_change_180d"] == 500.0
    assert got["council_tax_arrears_max_365d"] == 900.0  # the balance carried in at the window's start
    assert got["rent_arrears_now"] == 0.0


def test_an_arrears_balance_set_exactly_90_days_ago_is_the_balance_90_days_ago() -> None:
    feats = features(
        [
            event("housing_rent", "r1", 90, "missed_payment", amount=200.0),
            event("housing_rent", "r1", 0, "missed_payment", amount=500.0),
        ]
    )
    got = row(feats, "r1")
    assert got["rent_arrears_now"] == 500.0
    assert got["rent_arrears_change_90d"] == 300.0
    assert got["rent_arrears_change_180d"] == 500.0  # nothing recorded 180 days ago: from 0
    assert got["rent_arrears_max_365d"] == 500.0


def test_a_falling_balance_gives_a_negative_change_and_the_same_day_tie_goes_to_the_later_row() -> None:
    feats = features(
        [
            event("housing_rent", "r1", 100, "missed_payment", amount=1200.0, row=1),
            event("housing_rent", "r1", 3, "payment", amount=700.0, row=9),
            event("housing_rent", "r1", 3, "arrears_letter", amount=800.0, row=8),
        ]
    )
    got = row(feats, "r1")
    assert got["rent_arrears_now"] == 700.0
    assert got["rent_arrears_change_90d"] == -500.0
    assert got["rent_arrears_max_365d"] == 1200.0


def test_the_latest_balance_across_a_persons_records_in_one_source_is_their_balance() -> None:
    who = {("council_tax", "c1"): "p", ("council_tax", "c2"): "p"}
    feats = features(
        [
            event("council_tax", "c1", 30, "missed_instalment", amount=300.0),
            event("council_tax", "c2", 20, "missed_instalment", amount=250.0),
        ],
        who,
    )
    got = row(feats, "p")
    assert got["council_tax_arrears_now"] == 250.0
    assert got["signals_90d_council_tax"] == 2


@pytest.mark.parametrize(
    ("gap", "repeats"),
    [(0, 1), (1, 1), (14, 1), (15, 0)],
)
def test_a_contact_is_a_repeat_when_the_same_topic_was_raised_14_days_or_fewer_before(
    gap: int, repeats: int
) -> None:
    feats = features(
        [
            event("contact_centre", "k1", 20 + gap, "enquiry", topic="benefits"),
            event("contact_centre", "k1", 20, "complaint", topic="benefits"),
        ]
    )
    got = row(feats, "k1")
    assert got["repeat_contacts_same_topic_14d_90d"] == repeats
    assert got["repeat_contacts_same_topic_14d_365d"] == repeats


def test_repeat_contacts_need_the_same_topic_and_count_only_repeats_inside_the_window() -> None:
    feats = features(
        [
            event("contact_centre", "k1", 5, "enquiry", topic="waste"),
            event("contact_centre", "k1", 3, "enquiry", topic="parking"),  # different topic
            event("contact_centre", "k1", 1, "enquiry"),  # no topic: never a repeat
            event("contact_centre", "k1", 0, "enquiry"),
            event("contact_centre", "k1", 372, "enquiry", topic="rent"),  # earlier contact before the window
            event("contact_centre", "k1", 365, "enquiry", topic="rent"),  # repeat on the window's first day
            event("contact_centre", "k1", 100, "enquiry", topic="rent"),
            event("contact_centre", "k1", 91, "enquiry", topic="rent"),  # repeat, outside 90 days
            event("contact_centre", "k1", 90, "enquiry", topic="rent"),  # repeat, inside 90 days
            event("contact_centre", "k1", -2, "enquiry", topic="waste"),  # after the night
        ]
    )
    got = row(feats, "k1")
    assert got["repeat_contacts_same_topic_14d_90d"] == 1
    assert got["repeat_contacts_same_topic_14d_365d"] == 3


def test_repeat_contacts_combine_across_a_persons_contact_centre_records() -> None:
    who = {("contact_centre", "k1"): "p", ("contact_centre", "k2"): "p"}
    feats = features(
        [
            event("contact_centre", "k1", 10, "enquiry", topic="repairs"),
            event("contact_centre", "k2", 4, "complaint", topic="repairs"),
        ],
        who,
    )
    assert row(feats, "p")["repeat_contacts_same_topic_14d_90d"] == 1
