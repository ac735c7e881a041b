"""Where a night's work lives on disk.

Everything the product writes goes under one home folder (``--home``, or
``EARLY_WARNING_HOME``, default ``./.early-warning``), and each night's run
under ``<home>/runs/<as_of>/``. Writes are keyed by the night, so running the
same night again replaces that night's files instead of appending to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from early_warning.settings import get_settings


def resolve_home(home: str | Path | None = None) -> Path:
    """The product's home folder: the argument, else $EARLY_WARNING_HOME, else ./.early-warning."""
    return Path(home) if home is not None else get_settings().home


@dataclass(frozen=True)
class RunPaths:
    """The files of one night's run (DATA_CONTRACT.md section 5)."""

    home: Path
    as_of: date

    @property
    def root(self) -> Path:
        return self.home / "runs" / self.as_of.isoformat()

    @property
    def ingest_report(self) -> Path:
        return self.root / "ingest_report.json"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def canonical_dir(self) -> Path:
        """Accepted rows in the canonical shape (see ``features.schema``)."""
        return self.root / "canonical"

    @property
    def persons(self) -> Path:
        return self.root / "persons.parquet"

    @property
    def surfaced(self) -> Path:
        return self.root / "surfaced.parquet"

    @property
    def scores(self) -> Path:
        return self.root / "scores.parquet"
