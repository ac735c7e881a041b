"""What ingest took in, what it set aside and what it could not use.

:class:`IngestReport` is written as ``ingest_report.json`` and printed by the
CLI through :meth:`IngestReport.summary`. Every file that was read satisfies
``rows_read == accepted + quarantined``; :meth:`IngestReport.check_balanced`
proves it before anything is written. Optional values blanked in accepted
rows (``fields_blanked``, by field and reason) do not change those counts:
the row was accepted. The report holds counts and reasons only, never a
value from an extract; values stay in the quarantine folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from features.ingest.reasons import DESCRIPTIONS, blanked_sentence

SourceStatus = Literal["ingested", "skipped", "missing", "not_configured"]


class UnbalancedIngest(RuntimeError):
    """A file's rows read differ from accepted + quarantined: a bug, never bad input."""


@dataclass
class FileReport:
    """One input file. Counts are None for a file that was not used (``skipped``)."""

    kind: str
    path: str
    format: str | None = None
    reader: str | None = None
    rows_read: int | None = None
    accepted: int | None = None
    quarantined: int | None = None
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    #: optional values blanked in accepted rows: field -> reason code -> count.
    fields_blanked: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: bool = False
    message: str | None = None
    columns_renamed: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    date_formats: dict[str, dict[str, int]] = field(default_factory=dict)
    blank_lines_ignored: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        if self.skipped:
            return True
        return self.rows_read is not None and self.rows_read == (self.accepted or 0) + (self.quarantined or 0)

    def blanked_lines(self, label: str) -> list[str]:
        """E.g. "benefits/people.csv: 3 dates of birth blanked (after the run date)", one per field and reason."""
        return [
            f"{label}: {blanked_sentence(name, code, n)}"
            for name, by_code in self.fields_blanked.items()
            for code, n in by_code.items()
        ]


@dataclass
class SourceReport:
    """One source: its status, why, and its files."""

    name: str
    status: SourceStatus
    message: str | None = None
    files: dict[str, FileReport] = field(default_factory=dict)


@dataclass
class IngestReport:
    """The whole night's ingest. ``to_dict()`` is the JSON written to ``ingest_report.json``."""

    as_of: date
    extracts_dir: str
    gazetteer: FileReport
    sources: dict[str, SourceReport] = field(default_factory=dict)

    def files(self) -> list[FileReport]:
        return [self.gazetteer, *(f for s in self.sources.values() for f in s.files.values())]

    def unbalanced_files(self) -> list[str]:
        """Paths of files whose rows read differ from accepted + quarantined (always empty unless a bug)."""
        return [f.path for f in self.files() if not f.balanced]

    def check_balanced(self) -> None:
        """Raise :class:`UnbalancedIngest` unless every file read balances."""
        bad = self.unbalanced_files()
        if bad:
            raise UnbalancedIngest(f"rows read != accepted + quarantined for: {', '.join(bad)}")

    @property
    def skipped_sources(self) -> dict[str, str]:
        """Configured sources that contributed nothing, with the reason."""
        return {
            name: s.message or s.status
            for name, s in self.sources.items()
            if s.status in ("skipped", "missing")
        }

    def totals(self) -> dict[str, Any]:
        used = [f for f in self.files() if not f.skipped]
        by_reason: dict[str, int] = {}
        blanked: dict[str, dict[str, int]] = {}
        for f in used:
            for code, n in f.quarantined_by_reason.items():
                by_reason[code] = by_reason.get(code, 0) + n
            for name, by_code in f.fields_blanked.items():
                into = blanked.setdefault(name, {})
                for code, n in by_code.items():
                    into[code] = into.get(code, 0) + n
        return {
            "files_read": len(used),
            "rows_read": sum(f.rows_read or 0 for f in used),
            "accepted": sum(f.accepted or 0 for f in used),
            "quarantined": sum(f.quarantined or 0 for f in used),
            "quarantined_by_reason": dict(sorted(by_reason.items())),
            "fields_blanked": {name: dict(sorted(c.items())) for name, c in sorted(blanked.items())},
            "fields_blanked_total": sum(n for c in blanked.values() for n in c.values()),
            "sources_ingested": [n for n, s in self.sources.items() if s.status == "ingested"],
            "sources_skipped": [n for n, s in self.sources.items() if s.status in ("skipped", "missing")],
            "sources_not_configured": [n for n, s in self.sources.items() if s.status == "not_configured"],
            "gazetteer_used": not self.gazetteer.skipped,
        }

    def summary(self) -> str:
        """A few lines for a person: what came in, what was set aside, what was skipped and why."""
        totals = self.totals()
        lines = [f"Ingest for {self.as_of.isoformat()} from {self.extracts_dir}"]
        lines.append("  " + _file_line("gazetteer", self.gazetteer))
        for name, src in self.sources.items():
            if src.status == "ingested":
                parts = [_file_line(kind, f) for kind, f in src.files.items()]
                lines.append(f"  {name}: ingested; " + "; ".join(parts))
                for f in src.files.values():
                    label = f"{name}/{Path(f.path).name}"
                    lines += ["    " + line for line in f.blanked_lines(label)]
                    if f.extra_columns:
                        lines.append(
                            f"    {label}: {len(f.extra_columns):,} extra column(s) not used "
                            "(named under extra_columns in ingest_report.json)"
                        )
            elif src.status == "not_configured":
                lines.append(f"  {name}: ignored, not a configured source")
            else:
                label = "MISSING" if src.status == "missing" else "SKIPPED"
                lines.append(f"  {name}: {label}: {src.message}")
        lines.append(
            f"Total: {totals['rows_read']:,} rows read, {totals['accepted']:,} accepted, "
            f"{totals['quarantined']:,} quarantined."
        )
        if totals["fields_blanked_total"]:
            lines.append(
                f"Optional values blanked (their rows kept): {totals['fields_blanked_total']:,}; "
                "each is listed in quarantine/<source>/people_fields.csv or events_fields.csv."
            )
        if totals["quarantined_by_reason"]:
            top = sorted(totals["quarantined_by_reason"].items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(
                "Quarantined because: "
                + "; ".join(f"{DESCRIPTIONS.get(code, code)} ({n:,})" for code, n in top)
            )
        if totals["sources_skipped"]:
            lines.append("Sources skipped tonight: " + ", ".join(totals["sources_skipped"]) + ".")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "extracts_dir": self.extracts_dir,
            "gazetteer": asdict(self.gazetteer),
            "sources": {name: asdict(s) for name, s in self.sources.items()},
            "totals": self.totals(),
            "summary": self.summary(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _file_line(kind: str, f: FileReport) -> str:
    if f.skipped:
        return f"{kind}: not used ({f.message})"
    return f"{kind} {f.rows_read:,} read, {f.accepted:,} accepted, {f.quarantined:,} quarantined"
