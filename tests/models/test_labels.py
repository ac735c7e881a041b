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
    assign_periods,
    build_snapshot_table,
    label_events,
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
        event("council_tax", "c", -30, "summons"),  # enforcement counts too
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
    features = [c for c in _rows(base).columns if c not in (LABEL, LABEL_DATE)]
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
