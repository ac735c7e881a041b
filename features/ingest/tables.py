"""A file as read: every value as text, before any mapping or validation.

Both readers (CSV and Parquet) produce a :class:`RawTable`, so validation
never needs to know which format a source sent. A file that cannot be read at
all raises :class:`FileRefused` with a message naming the file and the
problem; the caller skips that source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

#: Internal columns added beside the file's own (prefixed so they cannot
#: collide with a council's column names; a header using the prefix is refused).
ROW = "_ingest_row_number"
LINE = "_ingest_line_number"
INTERNAL_PREFIX = "_ingest_"

#: Columns of the frame of lines that could not be split into fields.
MALFORMED_SCHEMA: dict[str, pl.DataType] = {
    ROW: pl.Int64(),
    LINE: pl.Int64(),
    "raw_line": pl.String(),
    "reason": pl.String(),
    "reason_code": pl.String(),
}


class FileRefused(Exception):
    """A whole file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class RawTable:
    """A file's rows as text.

    ``rows`` has one String column per header name (in file order; an empty
    field is null) plus ``ROW`` (1-based data row: for CSV the line number of
    the record's first line minus one, so the header is row 0) and ``LINE``
    (the record's first line in the file; null for Parquet). ``malformed``
    holds lines that could not be split into fields (schema
    ``MALFORMED_SCHEMA``). Rows read = ``rows.height + malformed.height``.
    """

    columns: tuple[str, ...]
    rows: pl.DataFrame
    malformed: pl.DataFrame
    format: str
    reader: str
    blank_lines: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rows_read(self) -> int:
        return self.rows.height + self.malformed.height


def empty_malformed() -> pl.DataFrame:
    return pl.DataFrame(schema=MALFORMED_SCHEMA)


def check_header(path: Path, names: list[str]) -> list[str]:
    """Refuse duplicate or reserved column names; name blank ones by position."""
    out: list[str] = []
    for i, name in enumerate(names, start=1):
        if name.startswith(INTERNAL_PREFIX):
            raise FileRefused(f"{path}: column name {name!r} is reserved for ingest's own use")
        out.append(name if name != "" else f"(blank column {i})")
    seen: set[str] = set()
    for name in out:
        if name in seen:
            raise FileRefused(
                f"{path}: column {name!r} appears more than once in the header; "
                "we cannot tell which one to use"
            )
        seen.add(name)
    return out


def _as_text(column: pl.Series, path: Path) -> pl.Series:
    dtype = column.dtype
    if dtype.is_nested() or dtype == pl.Object or dtype == pl.Binary:
        raise FileRefused(
            f"{path}: column {column.name!r} holds {dtype} values; expected text, numbers or dates"
        )
    text = column if dtype == pl.String else column.cast(pl.String)
    return text.replace("", None)


def read_parquet_table(path: Path) -> RawTable:
    """Read a Parquet extract; every value is cast to text for validation.

    Dates become ISO text (so they round-trip exactly), numbers their plain
    decimal text; an empty string is treated as missing, as in CSV.
    """
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for a bad file
        raise FileRefused(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    if not frame.columns:
        raise FileRefused(f"{path}: the Parquet file has no columns")
    names = check_header(path, list(frame.columns))
    if names != frame.columns:
        frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    rows = (
        pl.DataFrame([_as_text(frame.get_column(name), path) for name in names]) if names else pl.DataFrame()
    )
    rows = rows.with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW),
        pl.lit(None, dtype=pl.Int64).alias(LINE),
    )
    return RawTable(
        columns=tuple(names),
        rows=rows,
        malformed=empty_malformed(),
        format="parquet",
        reader="parquet",
    )
