"""Ingest a night's extracts folder: the I/O edge around the pure checks.

Decisions (DATA_CONTRACT.md section 4):

- A source is all or nothing. If either its people or its events file cannot
  be read (missing, empty, wrong columns, not CSV/Parquet, not UTF-8), the
  whole source is skipped: events cannot be checked without their people,
  and people without their events would make the person look unknown to a
  service that may well be acting. The report names the file and the problem.
- A file present as both ``.csv`` and ``.parquet`` is refused rather than
  choosing one.
- A file is opened only as a regular file inside the extracts folder (no
  links, FIFOs or ``..``; :mod:`features.ingest.opening`) and only within
  ``config.limits`` (``sources.yaml`` ``limits``); otherwise its source is
  skipped with a message naming the file and the limit.
- Messages and the report never hold a value from an extract: a refused
  header is described by the expected names it has and a count of the rest.
- Extra columns are carried into quarantine files and listed in the report
  (and counted in its summary), never into the canonical output.
- Every quarantine file is written spreadsheet-safe, reversibly, with a
  ``README.txt`` saying how to undo the escape (:mod:`features.ingest.writing`).
- A bad optional value (date of birth, NI or NHS number, phone, email,
  postcode, UPRN, amount, topic, channel) is blanked and its row kept; each
  source's ``quarantine/<source>/people_fields.csv`` and ``events_fields.csv``
  list them (file, row and line, the row's id, field, reason, original
  value). They are written, header only, even when
  empty, so "nothing was blanked" is visible rather than a missing file.
- The gazetteer is checked like a file of a source; if it cannot be read the
  run goes on with an empty canonical gazetteer and the report says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from early_warning.config import (
    EVENT_COLUMNS,
    EVENT_REQUIRED,
    GAZETTEER_COLUMNS,
    PEOPLE_COLUMNS,
    PEOPLE_REQUIRED,
    Config,
    InputLimits,
)
from early_warning.paths import RunPaths
from features.ingest.columns import ColumnPlan, expected_names, plan_columns
from features.ingest.csv_text import read_csv_bytes
from features.ingest.opening import open_extract, plain_parts
from features.ingest.report import FileReport, IngestReport, SourceReport
from features.ingest.tables import FileRefused, RawTable, read_parquet_table
from features.ingest.validate import (
    Checked,
    KnownPeople,
    check_events,
    check_gazetteer,
    check_people,
    with_malformed,
)
from features.ingest.writing import (
    QUARANTINE_README,
    spreadsheet_safe,
    write_folder,
    write_parquet,
    write_text,
)
from features.schema import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA

_FORMATS = (".csv", ".parquet")


@dataclass(frozen=True)
class _Loaded:
    """A file read and its columns matched; not yet checked."""

    path: Path
    table: RawTable
    plan: ColumnPlan

    def frame(self) -> pl.DataFrame:
        """The rows with contract column names (extra columns keep their own)."""
        to_contract = {file_name: contract for contract, file_name in self.plan.found.items()}
        return self.table.rows.rename(to_contract)

    def report(self, kind: str, checked: Checked) -> FileReport:
        return FileReport(
            kind=kind,
            path=str(self.path),
            format=self.table.format,
            reader=self.table.reader,
            rows_read=checked.rows_read,
            accepted=checked.accepted.height,
            quarantined=checked.quarantined.height,
            quarantined_by_reason=checked.quarantined_by_reason(),
            fields_blanked=checked.fields_blanked(),
            columns_renamed=self.plan.renamed,
            extra_columns=list(self.plan.extra),
            missing_optional_columns=list(self.plan.missing_optional),
            date_formats=checked.date_formats,
            blank_lines_ignored=self.table.blank_lines,
            notes=list(self.table.notes),
        )


def locate(folder: Path, stem: str) -> Path:
    """The one ``<stem>.csv`` or ``<stem>.parquet`` in a folder.

    A name that is there counts whatever it is (a link, a folder): opening it
    refuses it with the reason, rather than calling it missing.

    Raises:
        FileRefused: neither exists (naming any other file of that name), or both do.
    """
    found = [folder / f"{stem}{ext}" for ext in _FORMATS if os.path.lexists(folder / f"{stem}{ext}")]
    if len(found) == 2:
        raise FileRefused(
            f"{found[0]} and {found[1]} both exist; keep one so we need not guess which is current"
        )
    if found:
        return found[0]
    others = sorted(p.name for p in folder.glob(f"{stem}.*")) if folder.is_dir() else []
    if others:
        raise FileRefused(
            f"{folder / (stem + '.csv')}: not found (found {', '.join(others)}; only .csv and .parquet are read)"
        )
    raise FileRefused(f"{folder / (stem + '.csv')}: not found (expected {stem}.csv or {stem}.parquet)")


def load(
    root: Path,
    folder: Path,
    stem: str,
    contract: tuple[str, ...],
    required: tuple[str, ...],
    mapping: dict[str, str],
    limits: InputLimits,
) -> _Loaded:
    """Find, open (a regular file inside ``root``, within ``limits``), read and match one file's columns."""
    path = locate(folder, stem)
    expected = expected_names(contract, mapping)
    with open_extract(root, path.relative_to(root), limits) as (file, _size):
        if path.suffix == ".parquet":
            table = read_parquet_table(path, file, limits=limits, expected=expected)
        else:
            table = read_csv_bytes(path, file.read(), limits=limits, expected=expected)
    return _Loaded(path, table, plan_columns(path, table.columns, contract, required, mapping))


def _skipped(kind: str, path: Path, message: str, table: RawTable | None = None) -> FileReport:
    return FileReport(
        kind=kind,
        path=str(path),
        format=table.format if table else None,
        reader=table.reader if table else None,
        skipped=True,
        message=message,
    )


def _ingest_source(
    name: str, root: Path, config: Config, as_of: date
) -> tuple[SourceReport, Checked | None, Checked | None]:
    try:
        parts = plain_parts(name)
    except FileRefused:
        parts = ()
    if len(parts) != 1:
        message = f"source {name!r} is not a plain folder name (no '..' or '/'), so nothing was read for it"
        return SourceReport(name, "skipped", message), None, None
    folder = root / parts[0]
    if folder.is_symlink():
        message = (
            f"{folder}: is a symbolic link; extracts are read only from folders inside the extracts folder"
        )
        return SourceReport(name, "skipped", message), None, None
    if not folder.is_dir():
        message = f"no folder {folder} in the extracts: the source is configured but sent nothing tonight"
        return SourceReport(name, "missing", message), None, None
    mapping = config.mapping_for(name)
    loaded: dict[str, _Loaded] = {}
    errors: dict[str, str] = {}
    for kind, contract, required, columns in (
        ("people", PEOPLE_COLUMNS, PEOPLE_REQUIRED, mapping.people),
        ("events", EVENT_COLUMNS, EVENT_REQUIRED, mapping.events),
    ):
        try:
            loaded[kind] = load(root, folder, kind, contract, required, columns, config.limits)
        except FileRefused as exc:
            errors[kind] = str(exc)
    if errors:
        message = "; ".join(errors.values())
        files = {}
        for kind in ("people", "events"):
            if kind in errors:
                files[kind] = _skipped(kind, folder / f"{kind}.csv", errors[kind])
            else:
                other = "events" if kind == "people" else "people"
                note = f"not used: the source was skipped because its {other} file could not be read"
                files[kind] = _skipped(kind, loaded[kind].path, note, loaded[kind].table)
        return SourceReport(name, "skipped", message, files), None, None

    people_in, events_in = loaded["people"], loaded["events"]
    people = with_malformed(
        check_people(
            people_in.frame(),
            source=name,
            as_of=as_of,
            date_format=mapping.date_format,
            names=people_in.plan.found,
        ),
        people_in.table.malformed,
    )
    known = KnownPeople.from_checked(
        people, file_label=people_in.path.name, id_column=people_in.plan.file_name("source_person_id")
    )
    events = with_malformed(
        check_events(
            events_in.frame(),
            source=name,
            config=config,
            as_of=as_of,
            people=known,
            date_format=mapping.date_format,
            names=events_in.plan.found,
        ),
        events_in.table.malformed,
    )
    files = {"people": people_in.report("people", people), "events": events_in.report("events", events)}
    return SourceReport(name, "ingested", None, files), people, events


def _ingest_gazetteer(extracts_dir: Path, limits: InputLimits) -> tuple[FileReport, Checked | None]:
    try:
        loaded = load(
            extracts_dir, extracts_dir, "gazetteer", GAZETTEER_COLUMNS, GAZETTEER_COLUMNS, {}, limits
        )
    except FileRefused as exc:
        return _skipped("gazetteer", extracts_dir / "gazetteer.csv", str(exc)), None
    checked = with_malformed(check_gazetteer(loaded.frame()), loaded.table.malformed)
    return loaded.report("gazetteer", checked), checked


def _field_quarantine(label: str, checked: Checked) -> pl.DataFrame:
    """The blanked values of one file, headed by the file they came from (made spreadsheet-safe on writing)."""
    return checked.blanked.select(pl.lit(label, dtype=pl.String).alias("file"), pl.all())


def _concat(frames: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)


def ingest_extracts(extracts_dir: Path, as_of: date, run: RunPaths, config: Config) -> IngestReport:
    """Read, map and check a night's extracts; write canonical, quarantine and report files.

    Args:
        extracts_dir: folder with ``gazetteer.csv`` and one folder per source
            holding ``people`` and ``events`` as ``.csv`` or ``.parquet``.
        as_of: the night being run; a date after it is bad input.
        run: where the night's files go (``canonical_dir``, ``quarantine_dir``,
            ``ingest_report``); re-running the night replaces them.
        config: the validated configuration (sources, vocabularies, mappings).

    Returns:
        The report also written to ``run.ingest_report``.

    Raises:
        FileNotFoundError: ``extracts_dir`` is not a folder (nothing can be read).

    Example:
        >>> report = ingest_extracts(Path("extracts"), date(2026, 11, 22), RunPaths(home, date(2026, 11, 22)), cfg)  # doctest: +SKIP
        >>> print(report.summary())  # doctest: +SKIP
    """
    extracts_dir = Path(extracts_dir)
    if not extracts_dir.is_dir():
        raise FileNotFoundError(f"{extracts_dir}: extracts folder not found")
    gazetteer_report, gazetteer = _ingest_gazetteer(extracts_dir, config.limits)
    report = IngestReport(as_of=as_of, extracts_dir=str(extracts_dir), gazetteer=gazetteer_report)
    people: list[pl.DataFrame] = []
    events: list[pl.DataFrame] = []
    quarantine: dict[str, pl.DataFrame] = {}
    if gazetteer is not None:
        quarantine["gazetteer.csv"] = gazetteer.quarantined
    for name in config.sources:
        source_report, people_checked, events_checked = _ingest_source(name, extracts_dir, config, as_of)
        report.sources[name] = source_report
        if people_checked is not None and events_checked is not None:
            people.append(people_checked.accepted)
            events.append(events_checked.accepted)
            quarantine[f"{name}/people.csv"] = people_checked.quarantined
            quarantine[f"{name}/events.csv"] = events_checked.quarantined
            for kind, checked in (("people", people_checked), ("events", events_checked)):
                label = f"{name}/{Path(source_report.files[kind].path).name}"
                quarantine[f"{name}/{kind}_fields.csv"] = _field_quarantine(label, checked)
    for folder in sorted(p for p in extracts_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in config.sources:
            message = f"folder {folder} is not a configured source, so it was not read"
            report.sources[folder.name] = SourceReport(folder.name, "not_configured", message)
    report.check_balanced()

    write_parquet(_concat(people, PEOPLE_SCHEMA), run.canonical_people)
    write_parquet(_concat(events, EVENTS_SCHEMA), run.canonical_events)
    write_parquet(
        gazetteer.accepted if gazetteer else pl.DataFrame(schema=GAZETTEER_SCHEMA),
        run.canonical_gazetteer,
    )
    write_folder(
        run.quarantine_dir,
        {name: spreadsheet_safe(frame) for name, frame in quarantine.items()},
        {"README.txt": QUARANTINE_README},
    )
    write_text(report.to_json(), run.ingest_report)
    return report
