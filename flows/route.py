"""The night's one door to the review queue.

Every part of the nightly run that reads or writes the review queue's
database is here, and the import contract in ``pyproject.toml`` keeps it so:
no other module of ``flows`` imports ``review_ui``. The route stage decides
who is sent for review (:func:`choose_candidates`: ranking, people already in
the queue, the evidence floor, each locality's capacity), then writes items
and case files in one transaction (:func:`route_stage`). The link stage reads
reviewers' statements about records through :func:`read_link_constraints`
and :func:`clerical_same_person` - read-only.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import polars as pl

from early_warning.paths import write_frame
from flows.stages import SHORTLIST_FACTOR, Night, case_files_for

_ROUTING_CHANGES = ("new", "same", "merged", "split")


def read_link_constraints(night: Night) -> pl.DataFrame:
    """Reviewers' active "not the same person" / "same person" statements, for the link stage
    (read-only; an empty frame before the queue exists)."""
    from review_ui.store import queue_database_url
    from review_ui.store.link_constraints import read_link_constraints as read

    return read(queue_database_url(night.home))


def clerical_same_person(night: Night, settings: Any) -> pl.DataFrame | None:
    """The record pairs the data team labelled "same person", when linkage.yaml's
    ``train_m_from_clerical_labels`` asks for them (read-only); otherwise None."""
    if not settings.train_m_from_clerical_labels:
        return None
    from review_ui.store import queue_database_url
    from review_ui.store.clerical import read_same_person_records

    return read_same_person_records(queue_database_url(night.home))


def queue_engine(night: Night) -> Any:
    """The review queue's engine, its schema brought up to date (the route stage owns the queue)."""
    from review_ui.migrations import upgrade_to_head
    from review_ui.store import make_engine, queue_database_url

    url = queue_database_url(night.home)
    upgrade_to_head(url)
    return make_engine(url)


def _services_in_contact(night: Night, person_ids: pl.Series) -> pl.DataFrame:
    """The sources each person had any event with in the last year: for the resurface rule."""
    since = night.as_of - timedelta(days=night.config.thresholds.window_days)
    return (
        pl.scan_parquet(night.run.canonical_events)
        .filter(pl.col("event_date").is_between(since, night.as_of))
        .select("source", "source_person_id")
        .unique()
        .join(pl.scan_parquet(night.run.persons), on=["source", "source_person_id"])
        .filter(pl.col("person_id").is_in(person_ids.implode()))
        .group_by("person_id")
        .agg(pl.col("source").unique().sort().alias("services"))
        .collect()
    )


def _best_per_locality(ranked: pl.DataFrame, capacities: pl.DataFrame, *, times: int) -> pl.DataFrame:
    """The first ``times`` x capacity rows of each locality, keeping ``ranked``'s order (best first)."""
    return (
        ranked.with_columns(place=pl.int_range(pl.len()).over("locality"))
        .join(capacities, on="locality", maintain_order="left")
        .filter(pl.col("place") < pl.col("capacity") * times)
        .drop("place", "capacity")
    )


def choose_candidates(night: Night, engine: Any | None = None) -> dict[str, Any]:
    """Decide who is sent for review tonight and write candidates.parquet with their reasons.

    Ranks the whole cohort by score, skips people the queue already holds (in review or
    in their cool-down), applies the evidence floor and each locality's capacity across
    the borough. The scores and their drivers come from the score stage's files; the
    people already held come from the queue, which is why this runs in the route stage.
    ``engine`` is the route stage's own (one migration check per night); None opens one.
    """
    from models.reasons import reasons_for
    from review_ui.routing import persons_already_in_queue

    persons = pl.read_parquet(night.run.persons)
    scores = pl.read_parquet(night.run.scores)
    drivers = pl.read_parquet(night.run.drivers)
    own = engine is None
    engine = engine if engine is not None else queue_engine(night)
    try:
        held = persons_already_in_queue(as_of=night.as_of, config=night.config, engine=engine)
    finally:
        if own:
            engine.dispose()
    ranked = (
        scores.join(pl.read_parquet(night.run.localities), on="person_id", how="left")
        .with_columns(pl.col("locality").fill_null("unknown"))
        .sort(["score", "person_id"], descending=[True, False])
    )
    in_queue = pl.col("person_id").is_in(list(held))
    localities = ranked["locality"].unique().sort().to_list()
    capacities = pl.DataFrame(
        {"locality": localities, "capacity": [night.config.capacity_of(name) for name in localities]},
        schema={"locality": pl.String, "capacity": pl.Int64},
    )

    # Reasons are written only for a shortlist: each locality's best-ranked
    # fresh people (a few times its capacity, as some will lack the evidence
    # floor) plus everyone the queue already holds. A locality the shortlist
    # does not fill reads further down the ranking (twice as deep each round)
    # until it is filled or nobody is left, so who is chosen never depends on
    # how deep the first shortlist happened to reach (re-running a night gives
    # the same list).
    def with_reasons(frame: pl.DataFrame) -> pl.DataFrame:
        found = reasons_for(
            frame["person_id"],
            pl.scan_parquet(night.run.canonical_events),
            persons,
            night.as_of,
            night.config,
            drivers=drivers,
        )
        return frame.join(found, on="person_id", how="left").with_columns(
            pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )

    enough = pl.col("reasons").list.len() >= night.config.routing.min_reasons_to_surface
    fresh_ranked = ranked.filter(~in_queue)
    explained = with_reasons(ranked.filter(in_queue))
    depth = SHORTLIST_FACTOR
    while True:
        shortlist = _best_per_locality(fresh_ranked, capacities, times=depth)
        todo = shortlist.join(explained, on="person_id", how="anti")
        if not todo.is_empty():
            explained = pl.concat([explained, with_reasons(todo)])
        fresh_pool = explained.filter(~in_queue)
        fresh = _best_per_locality(
            fresh_pool.filter(enough).sort(["score", "person_id"], descending=[True, False]),
            capacities,
            times=1,
        )
        filled = fresh.group_by("locality").len().rename({"len": "chosen"})
        reached = shortlist.group_by("locality").len().rename({"len": "reached"})
        available = fresh_ranked.group_by("locality").len().rename({"len": "available"})
        short = (
            capacities.join(filled, on="locality", how="left")
            .join(reached, on="locality", how="left")
            .join(available, on="locality", how="left")
            .fill_null(0)
            .filter((pl.col("chosen") < pl.col("capacity")) & (pl.col("reached") < pl.col("available")))
        )
        if short.is_empty():
            break
        depth *= 2
    pool = pl.concat([fresh, explained.filter(in_queue)]).sort(
        ["score", "person_id"], descending=[True, False]
    )
    candidates = (
        pool.join(_services_in_contact(night, pool["person_id"]), on="person_id", how="left")
        .with_columns(pl.col("services").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .select("person_id", "score", "locality", "reasons", "services")
    )
    write_frame(candidates, night.run.candidates)
    return {"candidates": candidates.height, "already_in_queue": len(held)}


def routing_lineage(lineage: pl.DataFrame) -> pl.DataFrame:
    """Linkage's lineage (one row per person, a list of previous ids) as the queue
    needs it (one row per previous id); ids that vanished have no one to move to."""
    return (
        lineage.filter(pl.col("change").is_in(_ROUTING_CHANGES))
        .explode("previous_person_ids")
        .rename({"previous_person_ids": "previous_person_id"})
        .select("person_id", "previous_person_id", "change")
    )


def route_stage(
    night: Night, model_version: str, case_files: pl.DataFrame | None = None, *, choose: bool = True
) -> dict[str, Any]:
    """Choose tonight's candidates (:func:`choose_candidates`, unless ``choose`` is False
    because the fan-out chose them before building case files per locality), put them and
    their case files into the review queue (one transaction) and write surfaced.parquet.
    ``case_files`` are built here unless given.

    The review queue is the only place a score goes: this is the product's
    single sink for scores, and it only ever creates or refreshes review items.
    Case files hold personal details: only their count is reported, never their content.
    """
    from review_ui.routing import route_night, surfaced_frame
    from review_ui.store import queue_database_url

    url = queue_database_url(night.home)
    engine = queue_engine(night)
    try:
        chosen = choose_candidates(night, engine) if choose else {}
        candidates = pl.read_parquet(night.run.candidates)
        started = time.perf_counter()
        if case_files is None:
            case_files = case_files_for(night, candidates["person_id"])
        case_file_seconds = round(time.perf_counter() - started, 2)
        summary = route_night(
            as_of=night.as_of,
            candidates=candidates,
            config=night.config,
            model_version=model_version,
            lineage=routing_lineage(pl.read_parquet(night.run.lineage)),
            case_files=case_files,
            engine=engine,
        )
        write_frame(surfaced_frame(as_of=night.as_of, engine=engine), night.run.surfaced)
        clerical = route_clerical_sample(night, engine, url)
    finally:
        engine.dispose()
    return {
        **chosen,
        "clerical": clerical,
        "new_by_locality": dict(sorted(summary.new_by_locality.items())),
        "new_items": summary.new_items,
        "updated": summary.updated,
        "held_back_cooldown": summary.held_back_cooldown,
        "over_capacity": summary.over_capacity,
        "merged": summary.merged,
        "case_files_built": case_files.height,
        "case_file_seconds": case_file_seconds,
        "case_files_deleted": summary.case_files_deleted,
    }


def route_clerical_sample(night: Night, engine: Any, url: str) -> dict[str, Any]:
    """Copy tonight's clerical-review sample into the queue, where the data team labels it;
    blank the record values of samples past the case-file retention period; and estimate
    linkage's precision and recall from the latest night the data team labelled.

    Reports counts and rates only (:mod:`features.linkage.clerical`); ``estimate`` is
    None until some pair is labelled.
    """
    from features.linkage.clerical import estimate_accuracy
    from review_ui.store import make_session_factory, write_transaction
    from review_ui.store.clerical import (
        delete_expired_clerical_values,
        read_latest_clerical_labels,
        write_clerical_sample,
    )

    sample_path, strata_path = night.run.clerical_sample, night.run.clerical_strata
    out: dict[str, Any] = {"sampled": 0, "estimate": None}
    with make_session_factory(engine)() as session, write_transaction(session):
        if sample_path.exists() and strata_path.exists():
            pairs = pl.read_parquet(sample_path)
            write_clerical_sample(
                session=session, night=night.as_of, pairs=pairs, strata=pl.read_parquet(strata_path)
            )
            out["sampled"] = pairs.height
        out["values_deleted"] = delete_expired_clerical_values(
            session=session, as_of=night.as_of, retention_days=night.config.routing.case_file_retention_days
        )
    latest = read_latest_clerical_labels(url)
    if latest is not None:
        labelled_night, labels, strata = latest
        estimate = estimate_accuracy(labels, strata)
        out |= {
            "labelled_night": labelled_night.isoformat(),
            "estimate": estimate.as_dict(),
            "sentence": estimate.sentence(),
        }
    return out
