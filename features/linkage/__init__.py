"""Person resolution across council systems (Splink on DuckDB, or on Spark at scale).

A flow needs only these names::

    settings = load_linkage_settings(config_dir)
    result = resolve_persons(people, previous=last_night, as_of=night, settings=settings)
    write_linkage_outputs(result, run)

``result.persons`` maps every accepted source record to a stable,
pseudonymous ``person_id``; ``result.evidence`` says why records were
joined; ``result.lineage`` records new, merged and split persons. The
modules behind them: ``prep`` (normalisation), ``model`` (comparisons and
blocking rules as data), ``scoring`` (training and scoring with Splink),
``engines`` (DuckDB or Spark, as ``linkage.yaml`` says; ``spark_backend``
and ``spark_sql`` for Spark), ``trained`` (scoring with an earlier night's
model), ``clustering`` (household and chaining guards), ``ids``,
``evidence``, ``contacts`` (how many people hold a phone number or e-mail),
``evaluation`` (pairwise accuracy, overall and by record richness).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from features.linkage.evaluation import (
        PairwiseScores,
        format_class_table,
        pairwise_scores,
        scores_by_class,
    )
    from features.linkage.pipeline import (
        LinkageResult,
        resolve_persons,
        write_linkage_outputs,
    )
    from features.linkage.settings import LinkageSettings, load_linkage_settings
    from features.linkage.splink_runner import count_blocked_comparisons
    from features.linkage.trained import IncompatibleModelError

#: Where each public name lives. They are imported on first use (PEP 562), so
#: code that needs one light module - the review app's clerical estimate, the
#: settings - does not load Splink and DuckDB with the package.
_HOMES = {
    "PairwiseScores": "evaluation",
    "format_class_table": "evaluation",
    "pairwise_scores": "evaluation",
    "scores_by_class": "evaluation",
    "LinkageResult": "pipeline",
    "resolve_persons": "pipeline",
    "write_linkage_outputs": "pipeline",
    "count_blocked_comparisons": "splink_runner",
    "LinkageSettings": "settings",
    "load_linkage_settings": "settings",
    "IncompatibleModelError": "trained",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "IncompatibleModelError",
    "LinkageResult",
    "LinkageSettings",
    "PairwiseScores",
    "count_blocked_comparisons",
    "format_class_table",
    "load_linkage_settings",
    "pairwise_scores",
    "resolve_persons",
    "scores_by_class",
    "write_linkage_outputs",
]
