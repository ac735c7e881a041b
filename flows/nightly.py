"""The nightly run: a table of contents of the stages, nothing more.

Each stage is one call into ``features`` or ``models``; this module only
passes paths between them and reports what happened. Stages that later issues
add (link, graph, features, thresholds, score, route) slot in here in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from early_warning.config import Config
from early_warning.paths import RunPaths
from features.ingest import IngestReport, ingest_extracts


@dataclass
class NightlyOutcome:
    """What one night did, for the person who reads the log in the morning."""

    run: RunPaths
    ingest: IngestReport
    seconds_per_stage: dict[str, float] = field(default_factory=dict)

    @property
    def needs_attention(self) -> bool:
        """True when a source was skipped: the night ran, but not on everything."""
        return bool(self.ingest.skipped_sources)

    def summary(self) -> str:
        stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds_per_stage.items())
        return "\n".join(
            [
                f"Night {self.run.as_of.isoformat()} - outputs in {self.run.root}",
                self.ingest.summary(),
                f"Time per stage: {stages}",
            ]
        )


def run_nightly(
    *, extracts: Path, as_of: date, home: Path, config: Config, progress: bool = False
) -> NightlyOutcome:
    """Run every stage that exists for the night ``as_of``; re-running replaces that night's files."""
    run = RunPaths(home=home, as_of=as_of)
    run.root.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    report = ingest_extracts(extracts, as_of, run, config)
    timings["ingest"] = time.perf_counter() - started

    return NightlyOutcome(run=run, ingest=report, seconds_per_stage=timings)
