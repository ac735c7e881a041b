"""The ingest stage: the council's extracts in, the night's canonical frames, quarantine
and ingest report out (:func:`features.ingest.ingest_extracts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.stages.night import Night


def ingest_stage(night: Night, extracts: Path) -> dict[str, Any]:
    """Read and check the extracts; quarantine bad rows; write the canonical frames."""
    from features.ingest import ingest_extracts

    night.run.root.mkdir(parents=True, exist_ok=True)
    report = ingest_extracts(extracts, night.as_of, night.run, night.config)
    details = report.to_dict()
    totals = details["totals"]
    return {
        "summary": report.summary(),
        "rows_read": totals["rows_read"],
        "accepted": totals["accepted"],
        "quarantined": totals["quarantined"],
        "skipped_sources": list(report.skipped_sources),
        "per_source": {
            name: {
                "status": source["status"],
                "read": sum((f or {}).get("rows_read") or 0 for f in source["files"].values()),
                "quarantined": sum((f or {}).get("quarantined") or 0 for f in source["files"].values()),
            }
            for name, source in details["sources"].items()
        },
    }
