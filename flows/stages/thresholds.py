"""The thresholds stage: each service's own rule applied; who is known to which service
out (:func:`models.thresholds.known_to_services`). Everyone known to none is the
early-warning cohort the score stage reads."""

from __future__ import annotations

from typing import Any

import polars as pl

from early_warning.paths import write_frame
from flows.stages.night import Night


def thresholds_stage(night: Night) -> dict[str, Any]:
    """Apply each service's own rule; everyone known to none is the early-warning cohort."""
    from models.thresholds import known_to_services

    run = night.run
    known = known_to_services(
        pl.scan_parquet(run.canonical_events), pl.scan_parquet(run.persons), night.as_of, night.config
    )
    write_frame(known, run.known_to_services)
    persons = pl.read_parquet(run.persons)["person_id"].n_unique()
    by_service = known.explode("services")["services"].value_counts().sort("services").iter_rows()
    return {
        "persons": persons,
        "known": known.height,
        "cohort": persons - known.height,
        "by_service": dict(by_service),
    }
