"""Writing a night's ingest outputs so that a re-run replaces them whole.

Every file is written under a temporary name and renamed into place, so a
reader never sees half a file; the quarantine folder is built beside the old
one and swapped in, so a file quarantined last time but not this time does
not linger.

Quarantine files are meant to be opened in a spreadsheet by a data
officer, and they hold raw values a resident or a system typed; a value
such as ``=HYPERLINK(...)`` would run as a formula there (CSV injection).
:func:`spreadsheet_safe` prefixes such cells with a single quote, the
escape spreadsheets themselves use, so the text shows as typed. Nothing is
lost: a cell that starts with quotes and then a formula character had one
quote added (a value that already began ``'=`` is written ``''=``), so
dropping the first character of such a cell gives the value as sent
(:func:`as_sent`). A cell longer than a spreadsheet cell can hold (a 200 MB
line of a broken file) is cut, with a marker saying how long it was; the
extract itself still holds it whole.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


#: A cell starting with one of these is read as a formula (or, for tab and
#: carriage return, can be made to start one) by common spreadsheets.
FORMULA_START = r"^[=+\-@\t\r]"
#: Cells ingest prefixed with one quote: quotes, then a formula start. A value
#: sent with its own leading quotes is prefixed too, so the escape can be undone.
ESCAPED = r"^'*[=+\-@\t\r]"
#: Characters kept of a cell: a spreadsheet cell holds at most 32,767.
CELL_CHARS = 32_000


def spreadsheet_safe(frame: pl.DataFrame, cell_chars: int = CELL_CHARS) -> pl.DataFrame:
    """Prefix every text cell a spreadsheet would read as a formula with ``'``; cut over-long cells.

    A cut cell keeps its first ``cell_chars`` characters and ends with
    ``… [cut by ingest: N characters in all]``.
    """
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]

    def safe(c: str) -> pl.Expr:
        value = pl.col(c)
        escaped = pl.when(value.str.contains(ESCAPED)).then(pl.lit("'") + value).otherwise(value)
        length = value.str.len_chars()
        cut = pl.format("{}… [cut by ingest: {} characters in all]", escaped.str.slice(0, cell_chars), length)
        return pl.when(length > cell_chars).then(cut).otherwise(escaped).alias(c)

    return frame.with_columns(safe(c) for c in text)


def as_sent(cell: str) -> str:
    """The value as the extract sent it, from a quarantine cell :func:`spreadsheet_safe` wrote (not cut)."""
    return cell[1:] if re.match(ESCAPED, cell) and cell.startswith("'") else cell


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    _replace(path, frame.write_parquet)


def write_text(text: str, path: Path) -> None:
    _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


#: Written beside the quarantine files, for the data officer who opens them.
QUARANTINE_README = """\
Rows and values ingest set aside tonight, one folder per source.

<source>/people.csv, events.csv: every row that could not be used, as read,
with its row and line number and the reason. <source>/people_fields.csv,
events_fields.csv: optional values blanked in rows that were kept.

These files are safe to open in a spreadsheet. A cell that would start with
=, +, -, @, a tab or a carriage return (which a spreadsheet would run as a
formula) has one ' added in front; so has a cell that already started with
quotes and then one of those characters. To get a value exactly as it was
sent: if the cell starts with one or more ' and then one of those
characters, remove its first character. Nothing else is changed, except
that a cell over 32,000 characters is cut and ends
"... [cut by ingest: N characters in all]"; the extract holds it whole.
"""


def write_folder(folder: Path, files: dict[str, pl.DataFrame], texts: dict[str, str] | None = None) -> None:
    """Replace ``folder`` with one holding exactly ``files`` (relative path -> frame, written as CSV)
    and ``texts`` (relative path -> text)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    retired = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    for leftover in (staging, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    staging.mkdir()
    try:
        for relative, frame in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            frame.write_csv(target)
        for relative, text in (texts or {}).items():
            (staging / relative).write_text(text, encoding="utf-8")
        if folder.exists():
            os.replace(folder, retired)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        if retired.exists():
            shutil.rmtree(retired)
