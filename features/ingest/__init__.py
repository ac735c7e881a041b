"""Ingest: map each source's extract to the canonical shape, check it, quarantine what cannot be used.

Nothing is lost and nothing is guessed silently (DATA_CONTRACT.md section 4).
The flow calls :func:`ingest_extracts`; the ``check_*`` functions are the
pure core (frames of text in, accepted and quarantined frames out) for tests
and for callers that already hold frames.

Example:
    >>> from features.ingest import ingest_extracts
    >>> report = ingest_extracts(extracts_dir, as_of, run, config)  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
"""

from features.ingest.extracts import ingest_extracts
from features.ingest.report import FileReport, IngestReport, SourceReport, UnbalancedIngest
from features.ingest.tables import FileRefused
from features.ingest.validate import Checked, KnownPeople, check_events, check_gazetteer, check_people

__all__ = [
    "Checked",
    "FileRefused",
    "FileReport",
    "IngestReport",
    "KnownPeople",
    "SourceReport",
    "UnbalancedIngest",
    "check_events",
    "check_gazetteer",
    "check_people",
    "ingest_extracts",
]
