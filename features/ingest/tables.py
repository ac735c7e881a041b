"""A file as read: every value as text, before any mapping or validation.

Both readers (CSV and Parquet) produce a :class:`RawTable`, so validation
never needs to know which format a source sent. A file that cannot be read at
all raises :class:`FileRefused` with a message naming the file and the
problem; the caller skips that source.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pyarrow.parquet as pq

from early_warning.config import InputLimits

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


#: Where a message sends a person who wants to change a limit.
LIMITS_KEY = "sources.yaml limits"


def over_limit(path: Path, what: str, found: int, key: str, limit: int, unit: str = "") -> FileRefused:
    """The one message for a file over an input limit: the file, what was found and the limit's key."""
    unit = f" {unit}" if unit else ""
    return FileRefused(
        f"{path}: {what} {found:,}{unit}, over the limit of {limit:,}{unit} "
        f"({LIMITS_KEY}.{key}); the file was not read"
    )


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


def column_label(names: Sequence[str], index: int, expected: Collection[str]) -> str:
    """A header cell as a message may show it: its name if expected, else only its position.

    A file that lost its header row has data where the names should be, so
    an unexpected name is never repeated (DATA_CONTRACT.md section 4).
    """
    name = names[index]
    return f"column {index + 1} ({name!r})" if name in expected else f"column {index + 1}"


def check_header(path: Path, names: list[str], expected: Collection[str] = ()) -> list[str]:
    """Refuse duplicate or reserved column names; name blank ones by position.

    ``expected`` are the names the file may have; others are shown by position only.
    """
    out: list[str] = []
    for i, name in enumerate(names, start=1):
        if name.startswith(INTERNAL_PREFIX):
            raise FileRefused(
                f"{path}: the name of {column_label(names, i - 1, expected)} starts with "
                f"{INTERNAL_PREFIX!r}, which is reserved for ingest's own use"
            )
        out.append(name if name != "" else f"(blank column {i})")
    first: dict[str, int] = {}
    for i, name in enumerate(out):
        if name in first:
            raise FileRefused(
                f"{path}: a column name appears more than once in the header "
                f"({column_label(out, first[name], expected)} and column {i + 1}); "
                "we cannot tell which one to use"
            )
        first[name] = i
    return out


def _as_text(column: pl.Series, path: Path, label: str) -> pl.Series:
    dtype = column.dtype
    if dtype.is_nested() or dtype == pl.Object or dtype == pl.Binary:
        raise FileRefused(f"{path}: {label} holds {dtype} values; expected text, numbers or dates")
    if isinstance(dtype, pl.Datetime):
        column = column.dt.date()  # a timestamp's own calendar day (see _timestamp_note)
    text = column if column.dtype == pl.String else column.cast(pl.String)
    return text.replace("", None)


def _timestamp_note(column: pl.Series, label: str) -> str | None:
    """Why a timestamp column is read as dates, for the ingest report.

    Database tools and pandas write a date column to Parquet as a timestamp at
    midnight. Read as text it would be ``2026-06-30 00:00:00.000000``, which is
    not a date, and every row would be quarantined; its calendar day (in the
    column's own time zone, if it has one) is the date the system meant. The
    note says so, and counts the values that carried a time of day.
    """
    if not isinstance(column.dtype, pl.Datetime):
        return None
    with_time = int((column.dt.time() != time(0)).sum())
    timed = f"; {with_time:,} carried a time of day, which was dropped" if with_time else ""
    return f"{label} holds timestamps: each was read as its calendar day{timed}"


def read_parquet_table(
    path: Path,
    source: BinaryIO | None = None,
    *,
    limits: InputLimits | None = None,
    expected: Collection[str] = (),
) -> RawTable:
    """Read a Parquet extract; every value is cast to text for validation.

    Dates become ISO text (so they round-trip exactly), numbers their plain
    decimal text; an empty string is treated as missing, as in CSV. The
    footer is checked against ``limits`` (columns, rows, row groups) before
    any value is read, and the decoded size of the values before any is
    written out in full (:func:`_decoded`), so a small file that would
    decode to gigabytes is refused.
    ``source`` is the open file (``path`` then only names it in messages).
    """
    limits = limits or InputLimits()
    where: Path | BinaryIO = source if source is not None else path
    try:
        parquet = pq.ParquetFile(where)
        schema = parquet.schema_arrow
    except Exception as exc:  # pyarrow raises several error types for a bad file
        raise FileRefused(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    meta = parquet.metadata
    if len(schema) == 0:
        raise FileRefused(f"{path}: the Parquet file has no columns")
    for found, key, limit, unit in (
        (len(schema), "max_columns", limits.max_columns, "columns"),
        (meta.num_rows, "max_rows", limits.max_rows, "rows"),
        (meta.num_row_groups, "max_row_groups", limits.max_row_groups, "row groups"),
    ):
        if found > limit:
            raise over_limit(path, "has", found, key, limit, unit)
    names = check_header(path, list(schema.names), expected)
    frame = _decoded(path, where, meta.num_rows, names, limits.max_decompressed_bytes)
    rows = (
        pl.DataFrame(
            [
                _as_text(frame.get_column(name), path, column_label(names, i, expected))
                for i, name in enumerate(names)
            ]
        )
        if names
        else pl.DataFrame()
    )
    rows = rows.with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW),
        pl.lit(None, dtype=pl.Int64).alias(LINE),
    )
    notes = [
        note
        for i, name in enumerate(names)
        if (note := _timestamp_note(frame.get_column(name), column_label(names, i, expected))) is not None
    ]
    return RawTable(
        columns=tuple(names),
        rows=rows,
        malformed=empty_malformed(),
        format="parquet",
        reader="parquet",
        notes=tuple(notes),
    )


#: Bytes polars holds per value before any text is copied (a string view).
_VIEW_BYTES = 16


def _decoded(path: Path, source: Path | BinaryIO, rows: int, names: list[str], cap: int) -> pl.DataFrame:
    """The file's values, refused if their text would pass ``cap`` bytes once written out.

    polars reads a dictionary-encoded text column as views into its one
    dictionary, so reading costs about 16 bytes a value however long the
    values are; that is checked against the footer first. What ingest then
    does (checks, hashes, quarantine files) writes each value out in full,
    so the text's own size (``estimated_size``, counted from the views, no
    copy) is checked before any of it.
    """
    if rows * len(names) * _VIEW_BYTES > cap:
        raise over_limit(
            path,
            "would take at least",
            rows * len(names) * _VIEW_BYTES,
            "max_decompressed_bytes",
            cap,
            "bytes",
        )
    try:
        if not isinstance(source, Path):
            source.seek(0)
        frame = pl.read_parquet(source)
    except Exception as exc:  # a damaged page shows only when it is read
        raise FileRefused(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    size = int(frame.estimated_size())
    if size > cap:
        raise over_limit(path, "has values that decode to", size, "max_decompressed_bytes", cap, "bytes")
    return frame.rename(dict(zip(frame.columns, names, strict=True)))
