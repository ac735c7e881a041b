"""Writing the extracts exactly in the data contract's shape, and the truth.

The extracts are what a council would hand over on the night of ``as_of``:
only records registered by then and only events on or before it. Two
sources are written the way their systems export: ``housing_rent`` and
``adult_social_care`` with the renamed columns and ``dd/mm/yyyy`` dates that
``mappings.yaml`` declares (read from the configuration, never restated
here), and ``benefits`` as Parquet, so ingest meets every input it must
handle. Everything else is CSV with ISO dates.

The truth folder is for evaluation only; the product never reads it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from early_warning.config import Config
from early_warning.contract import EVENT_COLUMNS, GAZETTEER_COLUMNS, PEOPLE_COLUMNS

PARQUET_SOURCES = frozenset({"benefits"})


def _export(
    frame: pl.DataFrame, columns: tuple[str, ...], renames: dict[str, str], date_pattern: str | None
) -> pl.DataFrame:
    out = frame.select(columns)
    if date_pattern is not None:
        out = out.with_columns(pl.col(pl.Date).dt.strftime(date_pattern))
    return out.rename({k: v for k, v in renames.items() if k in columns})


def write_source(
    extracts: Path,
    source: str,
    people: pl.DataFrame,
    events: pl.DataFrame,
    config: Config,
    rows: dict[str, int],
) -> None:
    """One source's people and events files, in the shape its mapping declares."""
    folder = extracts / source
    folder.mkdir(parents=True, exist_ok=True)
    mapping = config.mapping_for(source)
    pattern = None if mapping.date_format == "yyyy-mm-dd" else mapping.date_pattern
    for name, frame, columns, renames in (
        ("people", people, PEOPLE_COLUMNS, mapping.people),
        ("events", events, EVENT_COLUMNS, mapping.events),
    ):
        out = _export(frame, columns, renames, pattern)
        if source in PARQUET_SOURCES:
            path = folder / f"{name}.parquet"
            out.write_parquet(path, statistics=False)
        else:
            path = folder / f"{name}.csv"
            out.write_csv(path, float_precision=2)
        rows[str(path.relative_to(extracts.parent))] = len(out)


def write_gazetteer(extracts: Path, gazetteer: pl.DataFrame, rows: dict[str, int]) -> None:
    extracts.mkdir(parents=True, exist_ok=True)
    path = extracts / "gazetteer.csv"
    gazetteer.select(GAZETTEER_COLUMNS).write_csv(path)
    rows[str(path.relative_to(extracts.parent))] = len(gazetteer)


def write_truth(truth: Path, name: str, frame: pl.DataFrame, rows: dict[str, int]) -> None:
    truth.mkdir(parents=True, exist_ok=True)
    path = truth / f"{name}.parquet"
    frame.write_parquet(path, statistics=False)
    rows[str(path.relative_to(truth.parent))] = len(frame)
