"""Writing a night's ingest outputs so that a re-run replaces them whole.

Every file is written under a temporary name and renamed into place, so a
reader never sees half a file; the quarantine folder is built beside the old
one and swapped in, so a file quarantined last time but not this time does
not linger.
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
