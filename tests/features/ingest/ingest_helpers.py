"""Builders for small extract folders, written byte by byte so tests control every line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.config import EVENT_COLUMNS, PEOPLE_COLUMNS, Config, load_config
from early_warning.paths import RunPaths
from features.ingest import IngestReport, ingest_extracts

AS_OF = date(2026, 11, 22)
CONFIG: Config = load_config()
PY_FORMATS = {"yyyy-mm-dd": "%Y-%m-%d", "dd/mm/yyyy": "%d/%m/%Y"}


def quote(value: str | None) -> str:
    if value is None:
        return ""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class Table:
    """A file's header and rows as text (None = empty field); ``raw`` replaces a row's rendered line."""

    header: list[str]
    rows: list[list[str | None]]
    raw: dict[int, bytes] = field(default_factory=dict)
    fmt: str = "csv"

    def line(self, index: int) -> bytes:
        if index in self.raw:
            return self.raw[index]
        return ",".join(quote(v) for v in self.rows[index]).encode()

    def render(self) -> bytes:
        lines = [",".join(quote(h) for h in self.header).encode()]
        lines += [self.line(i) for i in range(len(self.rows))]
        return b"\n".join(lines) + b"\n"

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {h: [r[i] for r in self.rows] for i, h in enumerate(self.header)},
            schema=dict.fromkeys(self.header, pl.String),
        )

    def write(self, folder: Path, stem: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if self.fmt == "parquet":
            path = folder / f"{stem}.parquet"
            self.frame().write_parquet(path)
        else:
            path = folder / f"{stem}.csv"
            path.write_bytes(self.render())
        return path

    def value(self, index: int, column: str) -> str | None:
        return self.rows[index][self.header.index(column)]


def file_columns(source: str, kind: str) -> dict[str, str]:
    """Contract column -> the name this source's export uses."""
    mapping = getattr(CONFIG.mapping_for(source), kind)
    contract = PEOPLE_COLUMNS if kind == "people" else EVENT_COLUMNS
    return {c: mapping.get(c, c) for c in contract}


def fmt_date(source: str, day: date) -> str:
    return day.strftime(PY_FORMATS[CONFIG.mapping_for(source).date_format])


def make_table(source: str, kind: str, records: list[dict[str, str | None]]) -> Table:
    names = file_columns(source, kind)
    header = [names[c] for c in names]
    return Table(header, [[r.get(c) for c in names] for r in records])


def people_records(
    source: str, n: int, names: list[tuple[str, str]] | None = None
) -> list[dict[str, str | None]]:
    out = []
    for i in range(n):
        first, last = names[i % len(names)] if names else (f"First{i}", f"Last{i}")
        out.append(
            {
                "source_person_id": f"{source[:2].upper()}{i}",
                "first_name": first,
                "last_name": last,
                "dob": fmt_date(source, date(1950 + i % 50, 1 + i % 12, 1 + i % 28)) if i % 4 else None,
                "address": f"{i} High Street, Townsville",
                "postcode": "AB1 2CD",
            }
        )
    return out


def event_records(source: str, person_ids: list[str], n: int) -> list[dict[str, str | None]]:
    src = CONFIG.sources[source]
    types = [
        t
        for role in ("routine", "signal", "service", "enforcement", "crisis")
        for t in getattr(src.events, role)
    ]
    out = []
    for i in range(n):
        out.append(
            {
                "event_id": f"{source[:2].upper()}-E{i}",
                "source_person_id": person_ids[i % len(person_ids)],
                "event_date": fmt_date(source, date(2025, 1 + i % 12, 1 + i % 28)),
                "event_type": types[i % len(types)],
                "amount": f"{i * 12.5:.2f}" if src.holds_arrears and i % 2 else None,
                "topic": src.topics[i % len(src.topics)] if src.topics else None,
                "channel": CONFIG.channels[i % len(CONFIG.channels)] if i % 3 else None,
            }
        )
    return out


def gazetteer_table(n: int = 3) -> Table:
    header = ["uprn", "address", "postcode", "ward", "locality"]
    rows: list[list[str | None]] = [
        [f"10000{i}", f"{i} High Street", "AB1 2CD", "Central", "Northgate"] for i in range(n)
    ]
    return Table(header, rows)


@dataclass
class Extract:
    gazetteer: Table
    sources: dict[str, dict[str, Table]]

    def write(self, root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        self.gazetteer.write(root, "gazetteer")
        for name, files in self.sources.items():
            for kind, table in files.items():
                table.write(root / name, kind)
        return root


def valid_extract(
    sources: tuple[str, ...] = ("benefits", "housing_rent"), people: int = 4, events: int = 6
) -> Extract:
    out: dict[str, dict[str, Table]] = {}
    for name in sources:
        recs = people_records(name, people)
        ids = [str(r["source_person_id"]) for r in recs]
        out[name] = {
            "people": make_table(name, "people", recs),
            "events": make_table(name, "events", event_records(name, ids, events)),
        }
    return Extract(gazetteer_table(), out)


def run_ingest(
    root: Path, extract: Extract | None = None, config: Config = CONFIG
) -> tuple[IngestReport, RunPaths]:
    extracts = root / "extracts"
    if extract is not None:
        extract.write(extracts)
    run = RunPaths(root / "home", AS_OF)
    return ingest_extracts(extracts, AS_OF, run, config), run


def quarantine(run: RunPaths, relative: str) -> pl.DataFrame:
    return pl.read_csv(run.quarantine_dir / relative, infer_schema=False)


def report_json(run: RunPaths) -> dict[str, Any]:
    return json.loads(run.ingest_report.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
