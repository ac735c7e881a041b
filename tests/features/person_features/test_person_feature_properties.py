"""Properties on random small boroughs: point-in-time correctness, order independence,
and agreement with a slow, obviously-correct reference written in plain Python."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from person_feature_helpers import features, row
from polars.testing import assert_frame_equal

from features.person_features import WINDOWS
from tests.support.canonical_events import AS_OF, CONFIG, PERSON_IDS, random_event, random_links

FAST = settings(max_examples=40, deadline=None)
Event = dict[str, Any]


@FAST
@given(
    before=st.lists(random_event(min_days=0), max_size=30),
    after=st.lists(random_event(min_days=-400, max_days=-1), min_size=1, max_size=15),
    links=random_links(),
)
@example(before=[], after=[], links={})
def test_events_after_the_night_change_nothing(
    before: list[Event], after: list[Event], links: dict[tuple[str, str], str]
) -> None:
    # Links list every record, so the persons are the same with or without the later events.
    assert_frame_equal(features(before, links), features(before + after, links))


@FAST
@given(evs=st.lists(random_event(), max_size=30), links=random_links(), seed=st.randoms())
def test_the_order_of_the_events_does_not_matter(
    evs: list[Event], links: dict[tuple[str, str], str], seed: Any
) -> None:
    shuffled = list(evs)
    seed.shuffle(shuffled)
    assert_frame_equal(features(evs, links), features(shuffled, links))


# --- the reference: slow, plain Python, one person at a time ------------------------


def _age(e: Event) -> int:
    return (AS_OF - e["event_date"]).days


def _balance(mine: list[Event], source: str, at_least_days: int) -> float | None:
    held = [e for e in mine if e["source"] == source and e["amount"] is not None and _age(e) >= at_least_days]
    if not held:
        return None
    return max(held, key=lambda e: (e["event_date"], e["row_number"]))["amount"]


def _repeats(mine: list[Event], window: int) -> int:
    count = 0
    topics = {e["topic"] for e in mine if e["source"] == "contact_centre" and e["topic"] is not None}
    for topic in topics:
        dates = sorted(
            e["event_date"] for e in mine if e["source"] == "contact_centre" and e["topic"] == topic
        )
        count += sum(
            1
            for prev, this in zip(dates, dates[1:], strict=False)
            if (this - prev).days <= 14 and (AS_OF - this).days <= window
        )
    return count


def reference(evs: list[Event], person: str, links: dict[tuple[str, str], str]) -> dict[str, Any]:
    mine = [
        e for e in evs if links[(e["source"], e["source_person_id"])] == person and e["event_date"] <= AS_OF
    ]
    signals = [e for e in mine if e["role"] == "signal"]
    out: dict[str, Any] = {}
    for w in WINDOWS:
        in_w = [e for e in signals if _age(e) <= w]
        for s in ("council_tax", "benefits", "contact_centre", "asb"):
            out[f"signals_{w}d_{s}"] = sum(1 for e in in_w if e["source"] == s)
        out[f"signals_{w}d_total"] = len(in_w)
        out[f"distinct_services_{w}d"] = len({e["source"] for e in in_w})
        out[f"missed_payments_{w}d"] = sum(
            1 for e in mine if _age(e) <= w and e["event_type"] in ("missed_instalment", "missed_payment")
        )
    # arrears are what is owed: a balance in credit (negative) owes nothing
    for s, p in (("council_tax", "council_tax_arrears"), ("housing_rent", "rent_arrears")):
        now = max(_balance(mine, s, 0) or 0.0, 0.0)
        out[f"{p}_now"] = now
        for d in (90, 180):
            out[f"{p}_change_{d}d"] = now - max(_balance(mine, s, d) or 0.0, 0.0)
        peak = [e["amount"] for e in mine if e["source"] == s and e["amount"] is not None and _age(e) <= 365]
        carried = _balance(mine, s, 366)
        out[f"{p}_max_365d"] = max([0.0, *peak, *([carried] if carried is not None else [])])
    out["repeat_contacts_same_topic_14d_90d"] = _repeats(mine, 90)
    out["repeat_contacts_same_topic_14d_365d"] = _repeats(mine, 365)
    ages = [_age(e) for e in mine]
    out["days_since_first_event"] = max(ages, default=None)
    out["days_since_last_event"] = min(ages, default=None)
    out["days_since_last_signal"] = min((_age(e) for e in signals), default=None)
    recent = [e for e in mine if e["channel"] is not None and _age(e) <= 365]
    out["contacts_with_channel_365d"] = len(recent)
    for c in CONFIG.channels:
        out[f"channel_share_{c}_365d"] = (
            sum(1 for e in recent if e["channel"] == c) / len(recent) if recent else 0.0
        )
    return out


@settings(max_examples=60, deadline=None)
@given(evs=st.lists(random_event(min_days=-20, max_days=600), max_size=40), links=random_links())
@example(evs=[], links={})
def test_features_agree_with_a_plain_python_reference(
    evs: list[Event], links: dict[tuple[str, str], str]
) -> None:
    feats = features(evs, links)
    for person in PERSON_IDS:
        if person not in feats["person_id"].to_list():
            continue
        got, want = row(feats, person), reference(evs, person, links)
        for name, value in want.items():
            if isinstance(value, float):
                assert abs(got[name] - value) < 1e-9, (person, name, got[name], value)
            else:
                assert got[name] == value, (person, name, got[name], value)


def test_the_reference_itself_is_checked_on_a_known_case() -> None:
    from tests.support.canonical_events import event

    evs = [
        event("council_tax", "ct0", 10, "missed_instalment", amount=120.0),
        event("contact_centre", "co0", 3, "enquiry", topic="rent", channel="web"),
        event("contact_centre", "co0", 1, "enquiry", topic="rent", channel="phone"),
    ]
    links = {("council_tax", "ct0"): "pa", ("contact_centre", "co0"): "pa"}
    want = reference(evs, "pa", links)
    assert want["signals_30d_total"] == 3
    assert want["distinct_services_30d"] == 2
    assert want["council_tax_arrears_now"] == 120.0
    assert want["repeat_contacts_same_topic_14d_90d"] == 1
    assert want["channel_share_web_365d"] == 0.5
