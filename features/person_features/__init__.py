"""Point-in-time person features: what each person's contacts with the council look like on a night.

The public face is small: :func:`build_person_features` makes the table,
:func:`feature_columns` lists its feature columns in order (for models) and
:func:`feature_descriptions` says what each one means in plain English (for
the model card and the reasons a caseworker reads).

Windows are inclusive: "in the last 90 days" on night T is an event dated
from T minus 90 days up to and including T. Only events dated on or before T
are read, so the table for a night never changes when later events arrive.
"""

from features.person_features._events import events_as_of
from features.person_features.build import build_person_features
from features.person_features.catalogue import (
    NULLABLE_FEATURES,
    WINDOWS,
    feature_columns,
    feature_descriptions,
)

__all__ = [
    "NULLABLE_FEATURES",
    "WINDOWS",
    "build_person_features",
    "events_as_of",
    "feature_columns",
    "feature_descriptions",
]
