"""The score stage: the cohort (known to no service) and its features in; scores and
what moved each score out (:func:`models.scoring.score_cohort`).

The score stage ends at ``scores.parquet`` and ``drivers.parquet``: who is
sent for review is decided by the route stage (:mod:`flows.route`), the only
part of the night that opens the review queue. The helpers here are shared
with the fan-out (:mod:`flows.partitioned`), which scores in parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from early_warning.paths import write_frame
from flows.stages.night import Night

if TYPE_CHECKING:
    from models.rules_score import RulesScore
    from models.scoring import ScoredCohort


@dataclass(frozen=True)
class RegisteredModel:
    """The champion from the registry, with the name, version and MLflow run id that the
    night's files and summary name it by."""

    pipeline: Any
    version: str
    name: str
    run_id: str | None = None

    def predict_proba(self, X: Any) -> Any:
        return self.pipeline.predict_proba(X)


def night_cohort(night: Night, persons: pl.DataFrame | pl.LazyFrame | None = None) -> pl.DataFrame:
    """The early-warning cohort (known to no service) among ``persons`` (default: everyone tonight)."""
    from models.thresholds import early_warning_cohort

    persons = pl.scan_parquet(night.run.persons) if persons is None else persons
    return early_warning_cohort(persons, pl.read_parquet(night.run.known_to_services))


def champion_model(night: Night) -> RegisteredModel | None:
    """The champion of the council's registered model (``training.yaml``'s
    ``registered_model_name``), or None (the rules score). Load once per night."""
    from models.registry import load_champion

    champion = load_champion(night.home, night.training)
    if champion is None:
        return None
    return RegisteredModel(
        pipeline=champion.model, version=champion.version, name=champion.name, run_id=champion.run_id
    )


def night_rules(night: Night) -> RulesScore:
    """The rules score with the council's points table (``rules_score.yaml``), read when
    the night started: what scores when no model is champion."""
    from models.rules_score import RulesScore

    return RulesScore(night.rules.model_dump())


def scoring_partitions(night: Night, cohort: pl.DataFrame) -> list[str]:
    """The partitions with someone in the cohort, in name order: the batches scoring works through."""
    labels = pl.read_parquet(night.run.partitions)
    return labels.join(cohort, on="person_id", how="semi")["partition"].unique().sort().to_list()


def score_stage(night: Night) -> dict[str, Any]:
    """Score the cohort (known to no service) with the champion, or the rules score when
    none is registered; write scores.parquet and drivers.parquet.

    The cohort is scored partition by partition, as the Dask fan-out scores it, so the two
    runners make the very same calls: a model's arithmetic can depend on how many rows it
    is given at once (a linear model's sums in BLAS), which would otherwise make the last
    digit of a score, and so the order of two people who tie, depend on the runner. Every
    partition's drivers are measured from the whole cohort's typical person.
    """
    from models.scoring import linear_centre, score_cohort

    cohort = night_cohort(night)
    model = champion_model(night)
    rules = night_rules(night)
    features = pl.read_parquet(night.run.features)
    centre = linear_centre(features, cohort, model)
    labels = pl.read_parquet(night.run.partitions)
    parts = []
    for name in scoring_partitions(night, cohort):
        members = labels.filter(pl.col("partition") == name).select("person_id")
        parts.append(
            score_cohort(
                features.join(members, on="person_id", how="semi"),
                cohort.join(members, on="person_id", how="semi"),
                model,
                night.config,
                rules=rules,
                linear_centre=centre,
            )
        )
    scored = (
        merge_scored(parts) if parts else score_cohort(features, cohort, model, night.config, rules=rules)
    )
    return write_scores(night, cohort.height, scored)


def merge_scored(parts: Sequence[ScoredCohort]) -> ScoredCohort:
    """The partitions' scores and drivers as one ``ScoredCohort``, in ``score_cohort``'s order."""
    from models.scoring import ScoredCohort

    models = {(p.scorer, p.drivers_source) for p in parts}
    if len(models) != 1:
        raise RuntimeError(f"the partitions were scored by different models: {sorted(models)}")
    first = parts[0]
    return ScoredCohort(
        scores=pl.concat([p.scores for p in parts]).sort(["score", "person_id"], descending=[True, False]),
        drivers=pl.concat([p.drivers for p in parts]).sort(
            ["person_id", "weight", "feature"], descending=[False, True, False]
        ),
        model_name=first.model_name,
        model_version=first.model_version,
        model_description=first.model_description,
        drivers_source=first.drivers_source,
        drivers_description=first.drivers_description,
        scorer=first.scorer,
    )


def write_scores(night: Night, cohort_size: int, scored: ScoredCohort) -> dict[str, Any]:
    """Write scores.parquet (with the scorer named in full on every row) and drivers.parquet
    (what moved each score, for the reasons).

    The score stage ends here: who is sent for review - ranking, the evidence floor, each
    locality's capacity, people already in the queue - is decided by the route stage
    (:func:`flows.route.choose_candidates`, by the rules in :mod:`review_ui.queue.plan`),
    the only part of the night that opens the review queue. Also used by the fan-out,
    which scores in parts.
    """
    from models.registry import scorer_in_use

    write_frame(scored.scores.with_columns(pl.lit(scored.scorer).alias("scorer")), night.run.scores)
    write_frame(scored.drivers, night.run.drivers)
    scorer, scorer_why = scorer_in_use(night.home, night.training)
    return {
        "scorer": scorer,
        "scorer_why": scorer_why,
        "scored_by": scored.scorer,
        "cohort": cohort_size,
        "scored": scored.scores.height,
        "model_name": scored.model_name,
        "model_version": scored.model_version,
        "model_description": scored.model_description,
    }
