"""Where a night's work lives on disk: the one catalogue of a night's files.

Everything the product writes goes under one home folder (``--home``, or
``EARLY_WARNING_HOME``, default ``./.early-warning``), and each night's run
under ``<home>/runs/<as_of>/``. :class:`RunPaths` names every file a night
writes there, once; stages, the fan-out, training and the benchmark find a
night's files through it and nowhere else, so a file's name (which councils'
scripts and the acceptance checks read, DATA_CONTRACT.md section 5) is
changed in one place or not at all.

Writes are keyed by the night, so running the same night again replaces that
night's files instead of appending to them; and every write goes through
:func:`replace_atomically` (a temporary file in the same folder, then
``os.replace``), so a night that fails mid-write leaves the previous file
whole, never half of one.

A night is whole or absent (write, audit, publish; issue 21): the nightly flow
builds it in a staging folder, ``<home>/runs/.staging/<as_of>/``, and moves it
into place in one rename (:func:`publish_night`) once every stage has run and
``run_summary.json`` is written, last. A night whose extracts fail a check is
moved to ``<home>/runs/.held/<as_of>/`` instead, where ``early-warning release``
finds it. Neither folder is named by a date, so :func:`nights_through` (reuse,
retention, training) never mistakes one for a whole night.

Example:
    >>> run = RunPaths(home=Path("/srv/ew"), as_of=date(2026, 11, 22))
    >>> str(run.scores)
    '/srv/ew/runs/2026-11-22/scores.parquet'
    >>> str(run.staged().scores)
    '/srv/ew/runs/.staging/2026-11-22/scores.parquet'
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.settings import get_settings


def resolve_home(home: str | Path | None = None) -> Path:
    """The product's home folder: the argument, else $EARLY_WARNING_HOME, else ./.early-warning.

    When it exists it is made owner-only (:func:`owner_only`), so a home made before
    that rule stops being readable by others the next time any command uses it.
    """
    path = Path(home) if home is not None else get_settings().home
    if path.is_dir():
        owner_only(path)
    return path


def owner_only(home: Path) -> None:
    """Take group and other access off the home folder and what sits directly in it.

    Everything under the home can hold personal data (canonical rows, quarantine, the
    queue's case files and password hashes, Prefect's and MLflow's databases). New files
    are owner-only by the command line's umask (077); this tightens a home made before
    it. Once the home itself is 0700 nothing below it can be reached by anyone else, so
    the walk stops at the first level. Symbolic links are left alone.
    """
    for path in (home, *home.iterdir()):
        try:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode & 0o7777
            if mode & 0o077:
                path.chmod(mode & ~0o077)
        except FileNotFoundError:
            continue  # gone meanwhile (a database's -wal or -journal file)


@dataclass(frozen=True)
class RunPaths:
    """The files of one night's run (DATA_CONTRACT.md section 5), by what each holds.

    Every property is one file (or folder) of the night; :meth:`catalogue`
    lists them all, and a test runs a night and checks that it writes nothing
    the catalogue does not name.
    """

    home: Path
    as_of: date
    #: Where the night's folder is: "" published (whole), STAGING (being built) or HELD.
    area: str = ""

    @classmethod
    def of_folder(cls, root: Path) -> RunPaths:
        """The catalogue of an existing (published) night's folder, ``<home>/runs/<as_of>``."""
        return cls(home=root.parent.parent, as_of=date.fromisoformat(root.name))

    @property
    def root(self) -> Path:
        runs = self.home / "runs"
        return (runs / self.area if self.area else runs) / self.as_of.isoformat()

    def staged(self) -> RunPaths:
        """The same night in its staging folder, where the flow builds it."""
        return replace(self, area=STAGING)

    def held(self) -> RunPaths:
        """The same night held back by its checks, waiting for a release or a re-run."""
        return replace(self, area=HELD)

    def published(self) -> RunPaths:
        """The same night where a whole night lives, ``<home>/runs/<as_of>``."""
        return replace(self, area="")

    def catalogue(self) -> dict[str, Path]:
        """Every file and folder of the night, by property name."""
        return {
            name: getattr(self, name)
            for name, member in vars(RunPaths).items()
            if isinstance(member, property) and name != "root"
        }

    # --- ingest --------------------------------------------------------------------

    @property
    def ingest_report(self) -> Path:
        """What came in, per source and file, and what was quarantined and why."""
        return self.root / "ingest_report.json"

    @property
    def quarantine_dir(self) -> Path:
        """Rows (and fields) ingest could not use, per source, as CSV."""
        return self.root / "quarantine"

    @property
    def canonical_dir(self) -> Path:
        """Accepted rows in the canonical shape (see ``early_warning.contract``)."""
        return self.root / "canonical"

    @property
    def canonical_people(self) -> Path:
        return self.canonical_dir / "people.parquet"

    @property
    def canonical_events(self) -> Path:
        return self.canonical_dir / "events.parquet"

    @property
    def canonical_gazetteer(self) -> Path:
        return self.canonical_dir / "gazetteer.parquet"

    @property
    def audit(self) -> Path:
        """The checks the night's extracts passed or failed (:mod:`flows.audit`)."""
        return self.root / "audit.json"

    # --- link ----------------------------------------------------------------------

    @property
    def persons(self) -> Path:
        """Each source record's stable person id."""
        return self.root / "persons.parquet"

    @property
    def match_evidence(self) -> Path:
        return self.root / "match_evidence.parquet"

    @property
    def lineage(self) -> Path:
        """Which earlier person ids each person id came from (merges, splits)."""
        return self.root / "lineage.parquet"

    @property
    def linkage_summary(self) -> Path:
        return self.root / "linkage_summary.json"

    @property
    def linkage_model(self) -> Path:
        """The Splink model the night scored with (no personal data); later nights may reuse it."""
        return self.root / "linkage_model.json"

    @property
    def clerical_sample(self) -> Path:
        """Record pairs for the data team to label (personal data; absent when clerical review is off)."""
        return self.root / "clerical_sample.parquet"

    @property
    def clerical_strata(self) -> Path:
        return self.root / "clerical_strata.parquet"

    # --- graph and features --------------------------------------------------------

    @property
    def fingerprints(self) -> Path:
        """A hash per source record, so the next night can find what changed."""
        return self.root / "fingerprints.parquet"

    @property
    def graph_addresses(self) -> Path:
        return self.root / "graph_addresses.parquet"

    @property
    def graph_features(self) -> Path:
        return self.root / "graph_features.parquet"

    @property
    def localities(self) -> Path:
        """Each person's locality (the team whose queue they would join)."""
        return self.root / "localities.parquet"

    @property
    def partitions(self) -> Path:
        """Each person's locality partition: the batches scoring and the fan-out work through."""
        return self.root / "partitions.parquet"

    @property
    def parts_dir(self) -> Path:
        """The fan-out's per-partition inputs and outputs (:mod:`flows.partitioned`)."""
        return self.root / "parts"

    @property
    def features(self) -> Path:
        return self.root / "features.parquet"

    # --- thresholds, score, route ---------------------------------------------------

    @property
    def known_to_services(self) -> Path:
        return self.root / "known_to_services.parquet"

    @property
    def scores(self) -> Path:
        return self.root / "scores.parquet"

    @property
    def drivers(self) -> Path:
        """What moved each score, for the reasons."""
        return self.root / "drivers.parquet"

    @property
    def candidates(self) -> Path:
        """Who the route stage chose for review tonight, with their reasons."""
        return self.root / "candidates.parquet"

    @property
    def surfaced(self) -> Path:
        return self.root / "surfaced.parquet"

    # --- the night as a whole -------------------------------------------------------

    @property
    def reuse(self) -> Path:
        """What the night took from an earlier night (:mod:`flows.reuse`)."""
        return self.root / "reuse.json"

    @property
    def run_summary(self) -> Path:
        return self.root / "run_summary.json"


STAGING = ".staging"
HELD = ".held"
#: In a held night's folder: who released it and why (``early-warning release`` writes it after the
#: audit log; the flow routes a held night only when it is there).
RELEASE_RECORD = "release.json"


def move_night(source: RunPaths, target: RunPaths) -> Path:
    """Move a night's folder from one area to another, replacing what was there.

    The folder arrives in one rename (same file system, under ``<home>/runs``); a
    folder already at the target (the night run before, or held before) is first
    renamed aside and removed only once the new one is in place, so at every moment
    the target is either the old night whole or the new one whole.
    """
    target.root.parent.mkdir(parents=True, exist_ok=True)
    aside = target.root.with_name(f".{target.root.name}.replaced-{os.getpid()}")
    if target.root.exists():
        os.replace(target.root, aside)
    os.replace(source.root, target.root)
    shutil.rmtree(aside, ignore_errors=True)
    return target.root


def publish_night(staged: RunPaths) -> Path:
    """Move a whole night from staging into place (:func:`move_night`); a held copy of
    the same night is removed, since the night is no longer held."""
    root = move_night(staged, staged.published())
    shutil.rmtree(staged.held().root, ignore_errors=True)
    return root


def fresh_staging(night: RunPaths) -> RunPaths:
    """An empty staging folder for ``night``: what a killed or failed run left there goes."""
    staged = night.staged()
    shutil.rmtree(staged.root, ignore_errors=True)
    staged.root.mkdir(parents=True)
    return staged


def nights_through(home: Path, last: date, *, area: str = "") -> list[RunPaths]:
    """The nights under ``home`` up to and including ``last``, newest first (folders
    not named by a date are not nights): published ones, or those in ``area`` (HELD, STAGING)."""
    runs = home / "runs" / area if area else home / "runs"
    if not runs.is_dir():
        return []
    nights = []
    for folder in runs.iterdir():
        try:
            night = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if folder.is_dir() and night <= last:
            nights.append(RunPaths(home=home, as_of=night, area=area))
    return sorted(nights, key=lambda run: run.as_of, reverse=True)


def replace_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` whole or not at all: ``write`` fills a temporary file in the same
    folder, which then replaces ``path`` in one rename; if ``write`` fails, the previous
    file is left as it was and the temporary one is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_frame(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame as Parquet, atomically (:func:`replace_atomically`)."""
    return replace_atomically(path, frame.write_parquet)


def write_text(text: str, path: Path) -> Path:
    """Write UTF-8 text, atomically (:func:`replace_atomically`)."""
    return replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_json(path: Path) -> Any:
    """A night's JSON file (the summaries, the reuse record, the linkage model)."""
    return json.loads(path.read_text(encoding="utf-8"))
