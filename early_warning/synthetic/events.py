"""A columnar buffer that event generators append to.

Generators add whole numpy arrays at a time (one call per kind of event, not
per event), or, for the few per-episode generators, short Python lists. The
buffer turns everything into one polars frame once, so no generator has to
know about the others and the final order is decided in one place (sorted in
``records.py``), which keeps runs byte-identical for a seed.

Days are integers counted from 1970-01-01 (``pl.Date``'s own representation),
so converting to dates at the end is a cast, not a parse.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

EVENT_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "true_person_id": pl.Int64(),
    "day": pl.Int64(),
    "event_type": pl.String(),
    "amount": pl.Float64(),
    "topic": pl.String(),
    "channel": pl.String(),
    "episode_id": pl.Int64(),
}


class EventBuffer:
    """Collects events column-wise; ``frame()`` returns them as one frame."""

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []
        self._rows: list[tuple[str, int, int, str, float | None, str | None, str | None, int | None]] = []

    def add(
        self,
        source: str,
        person: np.ndarray,
        day: np.ndarray,
        event_type: str | np.ndarray,
        *,
        amount: np.ndarray | None = None,
        topic: str | np.ndarray | None = None,
        channel: str | np.ndarray | None = None,
        episode: np.ndarray | None = None,
    ) -> None:
        """Append ``len(person)`` events of one source (vectorised)."""
        n = len(person)
        if n == 0:
            return
        cols = {
            "source": np.full(n, source),
            "true_person_id": np.asarray(person, dtype=np.int64),
            "day": np.asarray(day, dtype=np.int64),
            "event_type": _column(event_type, n),
            "amount": np.asarray(amount, dtype=np.float64) if amount is not None else np.full(n, np.nan),
            "topic": _column(topic, n),
            "channel": _column(channel, n),
            "episode_id": np.asarray(episode, dtype=np.int64) if episode is not None else np.full(n, -1),
        }
        self._parts.append(pl.DataFrame(cols))

    def extend_rows(
        self,
        rows: Sequence[tuple[str, int, int, str, float | None, str | None, str | None, int | None]],
    ) -> None:
        self._rows.extend(rows)

    def frame(self) -> pl.DataFrame:
        """All events so far; NaN amounts and -1 episodes become null."""
        parts = [p.cast(EVENT_FRAME_SCHEMA) for p in self._parts]  # type: ignore[arg-type]
        if self._rows:
            parts.append(pl.DataFrame(self._rows, schema=EVENT_FRAME_SCHEMA, orient="row"))
        if not parts:
            return pl.DataFrame(schema=EVENT_FRAME_SCHEMA)
        return pl.concat(parts).with_columns(
            amount=pl.col("amount").fill_nan(None).round(2),
            episode_id=pl.when(pl.col("episode_id") >= 0).then(pl.col("episode_id")),
            topic=pl.col("topic").replace("", None),
            channel=pl.col("channel").replace("", None),
        )


def _column(value: str | np.ndarray | None, n: int) -> np.ndarray:
    if value is None:
        return np.full(n, "")
    if isinstance(value, str):
        return np.full(n, value)
    return np.asarray(value).astype(str)


def pick(rng: np.random.Generator, options: Sequence[str], weights: Sequence[float], n: int) -> np.ndarray:
    """``n`` draws from labelled options with the given weights."""
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(options)[rng.choice(len(options), size=n, p=p / p.sum())]
