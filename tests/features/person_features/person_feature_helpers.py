"""Feature-table helpers on top of the shared canonical event builders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from early_warning.config import Config
from features.person_features import build_person_features
from tests.support.canonical_events import (
    AS_OF,
    CONFIG,
    Links,
    events_frame,
    persons_frame,
)


def features(
    events: Sequence[dict[str, Any]],
    links: Links | None = None,
    *,
    as_of: date = AS_OF,
    config: Config = CONFIG,
    graph: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    return build_person_features(
        events_frame(events), persons_frame(events, links), as_of, config, graph
    ).collect()


def row(frame: pl.DataFrame, person_id: str) -> dict[str, Any]:
    found = frame.filter(pl.col("person_id") == person_id)
    assert found.height == 1, f"expected one row for {person_id}, got {found.height}"
    return found.row(0, named=True)
