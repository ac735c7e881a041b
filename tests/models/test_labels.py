"""Labels and the time-based split: point in time, no leakage, report period is the latest."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from models.labels import (
    LABEL,
    LABEL_DATE,
    NEED_SHOWN,
    OUTCOME_COLUMNS,
    LabelRules,
    assign_periods,
    build_snapshot_table,
    label_events,
    person_share_bucket,
    snapshot_dates,
    snapshot_rows,
    split_snapshots,
)
from tests.support.canonical_events import AS_OF, CONFIG, event, events_frame, persons_frame


def _rows(events: list[dict], horizon: int = 180) -> pl.DataFrame:
    ev = events_frame(events).collect()
    persons = persons_frame(events).collect()
    return snapshot_rows(ev, persons, AS_OF, CONFIG, label_events(ev.lazy(), persons.lazy()), horizon)


def _label_of(rows: pl.DataFrame, who: str) -> int:
    return int(rows.filter(pl.col("person_id") == who)[LABEL].item())


def test_a_crisis_up_to_the_horizon_after_the_night_is_a_label_and_one_day_later_is_not() -> None:
    events = [
        event("contact_centre", "a", 10, "enquiry"),
        event("homelessness", "a", -180, "approach"),  # exactly T + 180: a label
        event("contact_centre", "b", 10, "enquiry"),
        event("homelessness", "b", -181, "approach"),  # T + 181: too late
        event("contact_centre", "c", 10, "enquiry"),
        event("council_tax", "c", -30, "summons"),  # enforcement after another service's sign of need
        event("contact_centre", "d", 10, "enquiry"),
        event("housing_rent", "d", -5, "missed_payment"),  # a signal is not a label
    ]
    rows = _rows(events)
    assert [_label_of(rows, w) for w in "abcd"] == [1, 0, 1, 0]
    assert rows.filter(pl.col("person_id") == "a")[LABEL_DATE].item() == AS_OF + timedelta(days=180)


def test_a_crisis_on_or_before_the_night_is_not_a_label_and_known_people_are_not_in_the_cohort() -> None:
    events = [
        event("contact_centre", "a", 10, "enquiry"),
        event("adult_social_care", "a", 0, "safeguarding_concern"),  # on the night: known, not a label
        event("contact_centre", "b", 10, "enquiry"),
        event("childrens_services", "b", 400, "referral_accepted"),  # long ago: not known, not a label
    ]
    rows = _rows(events)
    assert rows["person_id"].to_list() == ["b"]
    assert _label_of(rows, "b") == 0


def test_a_label_counts_a_crisis_from_any_of_the_persons_records() -> None:
    events = [event("contact_centre", "cc1", 10, "enquiry"), event("homelessness", "h1", -20, "approach")]
    ev = events_frame(events).collect()
    persons = persons_frame(events, {("contact_centre", "cc1"): "p", ("homelessness", "h1"): "p"}).collect()
    rows = snapshot_rows(ev, persons, AS_OF, CONFIG, label_events(ev.lazy(), persons.lazy()), 180)
    assert rows.select("person_id", LABEL).rows() == [("p", 1)]


@settings(max_examples=10, deadline=None)
@given(later=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=6))
def test_features_at_the_snapshot_do_not_change_when_later_events_are_added(later: list[int]) -> None:
    base = [
        event("contact_centre", "a", 10, "enquiry", topic="rent", channel="phone"),
        event("council_tax", "a", 40, "missed_instalment", amount=300.0),
        event("benefits", "b", 100, "claim_suspended"),
        event("homelessness", "b", 500, "prevention_duty"),  # the record exists before the night
    ]
    extra = [event("council_tax", "a", -d, "missed_instalment", amount=900.0) for d in later]
    extra += [event("homelessness", "b", -d, "approach") for d in later]
    features = [c for c in _rows(base).columns if c not in (LABEL, LABEL_DATE, NEED_SHOWN)]
    before = _rows(base).select(features)
    after = _rows(base + extra).select(features)
    assert_frame_equal(before, after)


def test_snapshots_are_month_ends_with_a_year_of_history_and_a_closed_label_window() -> None:
    got = snapshot_dates(date(2023, 3, 23), date(2026, 3, 31), 180, 365)
    assert got[0] == date(2024, 3, 31)
    assert got[-1] == date(2025, 9, 30)  # 2025-10-31 + 180 days is after the night
    assert len(got) == 19
    assert all(s + timedelta(days=180) <= date(2026, 3, 31) for s in got)


def test_split_has_no_overlap_and_reports_on_the_latest_snapshots_only() -> None:
    snaps = snapshot_dates(date(2023, 3, 23), date(2026, 3, 31), 180, 365)
    split = split_snapshots(snaps, horizon_days=180, report_snapshots=3, middle_snapshots=3)
    assert split.report == tuple(snaps[-3:])
    assert not set(split.train) & set(split.middle)
    assert not (set(split.train) | set(split.middle)) & set(split.report)
    assert max(split.train) < min(split.middle) < max(split.middle) < min(split.report)
    # every training and middle label window closed by the first report night
    assert max(split.middle) + timedelta(days=180) <= min(split.report)


def test_split_refuses_too_little_history() -> None:
    with pytest.raises(ValueError, match="snapshots"):
        split_snapshots(
            [date(2025, 1, 31), date(2025, 2, 28)], horizon_days=180, report_snapshots=3, middle_snapshots=3
        )


def test_middle_people_never_appear_in_training_rows() -> None:
    snaps = [date(2024, m, 28) for m in range(1, 13)] + [date(2025, m, 28) for m in range(7, 10)]
    split = split_snapshots(snaps, horizon_days=180, report_snapshots=3, middle_snapshots=3)
    table = pl.DataFrame(
        {"person_id": [f"p{i}" for i in range(200)] * len(snaps)},
    ).with_columns(pl.Series("snapshot", [s for s in snaps for _ in range(200)], dtype=pl.Date))
    out = assign_periods(table, split, 0.3)
    train = set(out.filter(pl.col("period") == "train")["person_id"])
    middle = set(out.filter(pl.col("period") == "middle")["person_id"])
    assert train
    assert middle
    assert not train & middle
    assert 30 < len(middle) < 90
    assert out.filter(pl.col("period") == "report").height == 3 * 200


def test_snapshot_table_stacks_snapshots() -> None:
    events = [event("contact_centre", "a", 400, "enquiry"), event("homelessness", "a", 100, "approach")]
    ev, persons = events_frame(events).collect(), persons_frame(events).collect()
    nights = [AS_OF - timedelta(days=300), AS_OF - timedelta(days=150)]
    table = build_snapshot_table(ev, persons, nights, CONFIG, 180)
    # at the first night the approach is 200 days ahead (no label); at the second it is 50 days ahead
    assert table.sort("snapshot")[LABEL].to_list() == [0, 1]


# --- What counts as need (labels.enforcement, review outcomes) -----------------------------


def _rows_with(events: list[dict], rules: LabelRules, reviews: pl.DataFrame | None = None) -> pl.DataFrame:
    ev = events_frame(events).collect()
    persons = persons_frame(events).collect()
    return build_snapshot_table(ev, persons, [AS_OF], CONFIG, 180, rules, reviews)


def _enforcement_world() -> list[dict]:
    return [
        # a: a summons with a benefits claim suspended two months before: need beyond council tax.
        event("council_tax", "a", 40, "missed_instalment"),
        event("benefits", "a", 30, "claim_suspended"),
        event("council_tax", "a", -30, "summons"),
        # b: a summons and nothing else but a call about the bill and one about the bins.
        event("council_tax", "b", 40, "missed_instalment"),
        event("contact_centre", "b", 20, "enquiry", topic="council_tax"),
        event("contact_centre", "b", 10, "enquiry", topic="waste"),
        event("council_tax", "b", -30, "summons"),
        # c: another service's sign of need, but 200 days before the summons: too long ago.
        event("council_tax", "c", 40, "missed_instalment"),
        event("asb", "c", 170, "noise_complaint"),
        event("council_tax", "c", -30, "summons"),
    ]


@pytest.mark.parametrize(
    ("enforcement", "expected"),
    [("never", [0, 0, 0]), ("with_other_need", [1, 0, 0]), ("always", [1, 1, 1])],
)
def test_enforcement_is_a_label_only_as_the_settings_say(enforcement: str, expected: list[int]) -> None:
    rows = _rows_with(_enforcement_world(), LabelRules(enforcement=enforcement))  # type: ignore[arg-type]
    assert [_label_of(rows, w) for w in "abc"] == expected


def test_a_crisis_is_a_label_whatever_the_enforcement_setting() -> None:
    events = [event("contact_centre", "a", 10, "enquiry"), event("homelessness", "a", -20, "approach")]
    for enforcement in ("never", "with_other_need", "always"):
        rows = _rows_with(events, LabelRules(enforcement=enforcement))  # type: ignore[arg-type]
        assert _label_of(rows, "a") == 1


def _reviews(*rows: tuple[str, int, str]) -> pl.DataFrame:
    """(person, days before the night it was reviewed (negative: after), outcome)."""
    return pl.DataFrame(
        [(who, AS_OF - timedelta(days=d + 7), AS_OF - timedelta(days=d), o) for who, d, o in rows],
        schema=OUTCOME_COLUMNS,
        orient="row",
    )


def test_review_outcomes_teach_need_no_need_and_nothing() -> None:
    events = [event("contact_centre", w, 10, "enquiry") for w in "abcdef"]
    reviews = _reviews(
        ("a", -30, "help_offered"),  # need found a month after the night: positive
        ("b", -30, "already_supported"),  # need, supported elsewhere: positive
        ("c", -30, "no_help_needed"),  # a plain negative
        ("d", -30, "could_not_reach"),  # says nothing: left out
        ("e", -30, "declined"),  # says nothing: left out
    )
    rows = _rows_with(events, LabelRules(), reviews)
    assert sorted(rows["person_id"].to_list()) == ["a", "b", "c", "f"]
    assert [_label_of(rows, w) for w in "abcf"] == [1, 1, 0, 0]
    # Outcomes switched off: nothing is left out and nobody is positive.
    rows = _rows_with(events, LabelRules(use_review_outcomes=False), reviews)
    assert sorted(rows["person_id"].to_list()) == list("abcdef")
    assert rows[LABEL].sum() == 0


def test_an_unreachable_person_who_then_reaches_crisis_is_still_positive() -> None:
    events = [event("contact_centre", "a", 10, "enquiry"), event("homelessness", "a", -60, "approach")]
    rows = _rows_with(events, LabelRules(), _reviews(("a", -30, "could_not_reach")))
    assert _label_of(rows, "a") == 1


def test_people_offered_help_are_censored_after_their_review_not_counted_as_negatives() -> None:
    events = [
        event("contact_centre", "a", 10, "enquiry"),
        event("contact_centre", "b", 10, "enquiry"),
        event("contact_centre", "c", 10, "enquiry"),
    ]
    reviews = _reviews(
        ("a", 30, "help_offered"),  # offered help a month before the night: censored
        ("b", 200, "help_offered"),  # more than a horizon before: counted again
        ("c", 30, "no_help_needed"),  # no help offered: not censored
    )
    rows = _rows_with(events, LabelRules(), reviews)
    assert sorted(rows["person_id"].to_list()) == ["b", "c"]


def test_the_middle_share_is_a_documented_hash_that_does_not_move_between_library_versions() -> None:
    # SHA-256 of the id, first 8 bytes big-endian, mod 10,000: pinned so a polars upgrade cannot move anyone.
    assert [person_share_bucket(p) for p in ("P0000000000000001", "Pabc", "person-42")] == [
        int.from_bytes(__import__("hashlib").sha256(p.encode()).digest()[:8], "big") % 10_000
        for p in ("P0000000000000001", "Pabc", "person-42")
    ]
    assert [person_share_bucket(p) for p in ("a", "b")] == [2250, 7946]


def test_need_shown_counts_labels_services_taking_on_and_signs_in_two_services_afterwards() -> None:
    events = [event("contact_centre", w, 10, "enquiry") for w in "abcde"]
    events += [
        event("homelessness", "a", -20, "approach"),  # a crisis: a label, so need shown
        event("adult_social_care", "b", -20, "assessment"),  # a service takes b on
        event("benefits", "c", -20, "claim_suspended"),  # signs in two services
        event("housing_rent", "c", -40, "missed_payment"),
        event("benefits", "d", -20, "claim_suspended"),  # one service only
        event("contact_centre", "d", -30, "enquiry", topic="waste"),  # bins do not count
        event("benefits", "e", 20, "claim_suspended"),  # before the night: not "afterwards"
        event("housing_rent", "e", 15, "missed_payment"),
    ]
    rows = _rows(events)
    shown = dict(zip(rows["person_id"], rows[NEED_SHOWN], strict=True))
    assert shown == {"a": 1, "b": 1, "c": 1, "d": 0, "e": 0}


def test_a_service_taking_the_person_on_is_a_label_only_when_the_settings_say_so() -> None:
    events = [event("contact_centre", "a", 10, "enquiry"), event("adult_social_care", "a", -20, "assessment")]
    assert _label_of(_rows_with(events, LabelRules()), "a") == 0
    rules = LabelRules(services_taking_on=True)
    assert _label_of(_rows_with(events, rules), "a") == 1
    assert "a service taking the person on" in rules.describe()
