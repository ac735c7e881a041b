"""The data contract's shapes, in one place: the extracts a council sends and the
canonical frames ingest turns them into (DATA_CONTRACT.md section 1).

The extract columns are what a council's export must (or may) hold; a source's
mapping may rename them, never add to them (``early_warning.config``). The
canonical schemas are what every later stage reads, never a source's own
export, so a council's column names and date formats stop at ingest. Text
values are kept exactly as the source held them (no trimming, no case
changes); dates are parsed to ``pl.Date``; amounts to ``pl.Float64``.
``row_number`` is the 1-based data row in the source file (the header is row
0), so any value can be traced back to the line it came from.

This module sits on the ground floor (it imports nothing of the product), so
configuration, the synthetic borough, ingest and the stages all read the same
lists; ``features.schema`` re-exports the canonical schemas for the stages.
The files they are written to are named in :class:`early_warning.paths.RunPaths`.
"""

from __future__ import annotations

import polars as pl

#: Columns of the contract's extracts (DATA_CONTRACT.md section 1).
PEOPLE_COLUMNS: tuple[str, ...] = (
    "source_person_id",
    "first_name",
    "last_name",
    "dob",
    "ni_number",
    "nhs_number",
    "phone",
    "email",
    "address",
    "postcode",
    "uprn",
    "sex",
    "ethnicity",
)
PEOPLE_REQUIRED: tuple[str, ...] = ("source_person_id", "first_name", "last_name")
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "source_person_id",
    "event_date",
    "event_type",
    "amount",
    "topic",
    "channel",
)
EVENT_REQUIRED: tuple[str, ...] = ("event_id", "source_person_id", "event_date", "event_type")
GAZETTEER_COLUMNS: tuple[str, ...] = ("uprn", "address", "postcode", "ward", "locality")

PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "source_person_id": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "dob": pl.Date(),
    "ni_number": pl.String(),
    "nhs_number": pl.String(),
    "phone": pl.String(),
    "email": pl.String(),
    "address": pl.String(),
    "postcode": pl.String(),
    "uprn": pl.String(),
    "sex": pl.String(),
    "ethnicity": pl.String(),
    "row_number": pl.Int64(),
}

EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "event_id": pl.String(),
    "source_person_id": pl.String(),
    "event_date": pl.Date(),
    "event_type": pl.String(),
    "role": pl.String(),
    "amount": pl.Float64(),
    "topic": pl.String(),
    "channel": pl.String(),
    "row_number": pl.Int64(),
}

GAZETTEER_SCHEMA: dict[str, pl.DataType] = {
    "uprn": pl.String(),
    "address": pl.String(),
    "postcode": pl.String(),
    "ward": pl.String(),
    "locality": pl.String(),
    "row_number": pl.Int64(),
}
