"""The canonical shape every source is mapped to by ingest.

Later stages (linkage, graph, features) read only these frames, never a
source's own export, so a council's column names and date formats stop at
ingest. Text values are kept exactly as the source held them (no trimming,
no case changes); dates are parsed to ``pl.Date``; amounts to ``pl.Float64``.
``row_number`` is the 1-based data row in the source file (the header is row
0), so any value can be traced back to the line it came from.
"""

from __future__ import annotations

import polars as pl

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

#: File names under a run's ``canonical/`` folder.
PEOPLE_FILE = "people.parquet"
EVENTS_FILE = "events.parquet"
GAZETTEER_FILE = "gazetteer.parquet"
