"""Writing a night's ingest outputs so that a re-run replaces them whole.

Every file is written under a temporary name and renamed into place, so a
reader never sees half a file; the quarantine folder is built beside the old
one and swapped in, so a file quarantined last time but not this time does
not linger.

Field-quarantine files are meant to be opened in a spreadsheet by a data
officer, and they hold raw values a resident or a system typed; a value
such as ``=HYPERLINK(...)`` would run as a formula there (CSV injection).
:func:`spreadsheet_safe` prefixes such cells with a single quote, the
escape spreadsheets themselves use, so the text shows as typed.
"""

from __future__ import annotations

import os
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


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix every text cell that a spreadsheet would read as a formula with ``'``."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    _replace(path, frame.write_parquet)


def write_text(text: str, path: Path) -> None:
    _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_folder(folder: Path, files: dict[str, pl.DataFrame]) -> None:
    """Replace ``folder`` with one holding exactly ``files`` (relative path -> frame, written as CSV)."""
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
        if folder.exists():
            os.replace(folder, retired)
        os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        if retired.exists():
            shutil.rmtree(retired)
