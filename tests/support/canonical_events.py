"""Builders for small canonical event frames with exactly known answers (shared by feature, threshold and model tests)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
from hypothesis import strategies as st

from early_warning.config import Config, load_config
from features.schema import EVENTS_SCHEMA

AS_OF = date(2025, 3, 31)
CONFIG: Config = load_config()
_ids = itertools.count(1)

#: Source record -> person: several records can belong to one person.
Links = Mapping[tuple[str, str], str]


def event(
    source: str,
    who: str,
    days_before: int,
    event_type: str,
    *,
    amount: float | None = None,
    topic: str | None = None,
    channel: str | None = None,
    row: int | None = None,
    as_of: date = AS_OF,
) -> dict[str, Any]:
    """One canonical event ``days_before`` the night (negative: after it). Role comes from the config."""
    role = CONFIG.role_of(source, event_type)
    assert role is not None, f"{source}/{event_type} is not in the vocabulary"
    n = next(_ids)
    return {
        "source": source,
        "event_id": f"e{n}",
        "source_person_id": who,
        "event_date": as_of - timedelta(days=days_before),
        "event_type": event_type,
        "role": role,
        "amount": amount,
        "topic": topic,
        "channel": channel,
        "row_number": row if row is not None else n,
    }


def events_frame(events: Iterable[dict[str, Any]]) -> pl.LazyFrame:
    return pl.DataFrame(list(events), schema=EVENTS_SCHEMA).lazy()


def persons_frame(events: Sequence[dict[str, Any]], links: Links | None = None) -> pl.LazyFrame:
    """Every source record in ``events`` and ``links``; unlinked records are their own person."""
    links = dict(links or {})
    records = {(e["source"], e["source_person_id"]) for e in events} | set(links)
    rows = [
        {"person_id": links.get(rec, rec[1]), "source": rec[0], "source_person_id": rec[1]}
        for rec in sorted(records)
    ]
    return pl.DataFrame(
        rows, schema={"person_id": pl.String, "source": pl.String, "source_person_id": pl.String}
    ).lazy()


# --- Hypothesis: random small boroughs -------------------------------------------------

RECORDS = [(s, f"{s[:2]}{i}") for s in CONFIG.sources for i in range(3)]
PERSON_IDS = ["pa", "pb", "pc", "pd"]
_VOCAB = {
    s: [
        t
        for role in ("routine", "signal", "service", "enforcement", "crisis")
        for t in getattr(src.events, role)
    ]
    for s, src in CONFIG.sources.items()
}


#: A balance in pounds and pence: owed, nothing, or in credit (a negative amount, which extracts may
#: carry), so every property over random records meets accounts in credit too.
BALANCE = st.none() | (st.floats(0, 3000) | st.just(0.0) | st.floats(-500, -0.01)).map(lambda x: round(x, 2))


@st.composite
def random_event(draw: st.DrawFn, *, min_days: int = -60, max_days: int = 800) -> dict[str, Any]:
    source, who = draw(st.sampled_from(RECORDS))
    topics = CONFIG.sources[source].topics
    return event(
        source,
        who,
        draw(st.integers(min_days, max_days)),
        draw(st.sampled_from(_VOCAB[source])),
        amount=draw(BALANCE) if CONFIG.sources[source].holds_arrears else None,
        topic=draw(st.none() | st.sampled_from(topics)) if topics else None,
        channel=draw(st.none() | st.sampled_from(CONFIG.channels)),
    )


@st.composite
def random_links(draw: st.DrawFn) -> dict[tuple[str, str], str]:
    """Each source record belongs to one of a few persons, so records combine."""
    return {rec: draw(st.sampled_from(PERSON_IDS)) for rec in RECORDS}
