"""The link stage: canonical people in, persons with stable ids, match evidence and
lineage out (:func:`features.linkage.resolve_persons`).

Whether an earlier night's linkage model may score tonight is decided in
:mod:`flows.reuse`; reviewers' statements about records are read (only read)
through the route stage's door to the queue (:mod:`flows.route`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from flows.stages.night import Night


def link_stage(night: Night) -> dict[str, Any]:
    """Resolve source records to persons with stable ids; write persons, evidence, lineage.

    Scores with the model an earlier night used while it is fresh enough
    (:func:`flows.reuse.linkage_model_choice`), else trains tonight. Keeps every
    active "not the same person" / "same person" statement reviewers made in
    the review app (read-only; none before the queue exists)."""
    from features.linkage import resolve_persons, write_linkage_outputs
    from flows.reuse import (
        linkage_model_choice,
        linkage_reuse,
        previous_persons,
        record_reuse,
        resolve_with_choice,
    )
    from flows.route import clerical_same_person, read_link_constraints

    run = night.run
    people = pl.read_parquet(run.canonical_people)
    constraints = read_link_constraints(night)
    settings = night.linkage
    choice = linkage_model_choice(
        night.home,
        night.as_of,
        night.config,
        settings,
        records=people.height,
        retrain_after_days=settings.retrain_after_days,
        retrain_when_records_change=settings.retrain_when_records_change,
    )

    def resolve(model: dict[str, Any] | None) -> Any:
        return resolve_persons(
            people,
            previous=previous_persons(run),
            as_of=night.as_of,
            settings=settings,
            save_model_to=run.linkage_model,
            trained_model=model,
            work_dir=run.root,
            constraints=constraints,
            clerical_same_person=clerical_same_person(night, settings),
        )

    result, reason = resolve_with_choice(choice, resolve)
    reuse = linkage_reuse(
        choice,
        reused=result.model_reused,
        reason=reason,
        as_of=night.as_of,
        records=people.height,
        settings=settings,
    )
    record_reuse(run, night.config, "link", reuse)
    write_linkage_outputs(result, run)
    changes = (
        result.lineage["change"].value_counts().sort("change").iter_rows() if result.lineage.height else []
    )
    return {
        "records": result.persons.height,
        "persons": result.persons["person_id"].n_unique(),
        "lineage": dict(changes),
        "model": reuse["model"],
    }
