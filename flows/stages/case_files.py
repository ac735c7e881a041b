"""The night's case files for its review candidates, and how deep the route stage's
shortlist first reads.

These belong to the route stage (:mod:`flows.route`), which builds case files
and chooses candidates; they sit here, on their own, only until that stage
takes them in, when this module is deleted.
"""

from __future__ import annotations

import polars as pl

from flows.stages.night import Night

#: How many times its capacity each locality's shortlist holds before the evidence floor.
SHORTLIST_FACTOR = 4


def case_files_for(night: Night, person_ids: pl.Series) -> pl.DataFrame:
    """The case files of the night's candidates, from the run's canonical frames and linkage outputs."""
    from features.case_files import build_case_files

    run = night.run
    return build_case_files(
        person_ids,
        persons=pl.scan_parquet(run.persons),
        people=pl.scan_parquet(run.canonical_people),
        events=pl.scan_parquet(run.canonical_events),
        gazetteer=pl.read_parquet(run.canonical_gazetteer),
        evidence=pl.scan_parquet(run.match_evidence) if run.match_evidence.exists() else None,
        as_of=night.as_of,
        config=night.config,
    )
