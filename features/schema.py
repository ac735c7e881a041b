"""The canonical shape every source is mapped to by ingest, as the stages import it.

The shapes themselves live in :mod:`early_warning.contract` (one home for the
extract columns and the canonical schemas); this module is their face inside
``features``. The files they are written to are named in
:class:`early_warning.paths.RunPaths` (``canonical_people``, ``canonical_events``,
``canonical_gazetteer``).
"""

from __future__ import annotations

from early_warning.contract import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA

__all__ = ["EVENTS_SCHEMA", "GAZETTEER_SCHEMA", "PEOPLE_SCHEMA"]
