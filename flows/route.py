"""The night's one door to the review queue.

Every part of the nightly run that reads or writes the review queue's
database is here, and the import contract in ``pyproject.toml`` keeps it so:
no other module of ``flows`` imports ``review_ui``. The route stage decides
who is sent for review (:func:`choose_candidates`, reading what the rules in
:mod:`review_ui.queue.plan` need: ranking, people already in the queue, the
evidence floor, each locality's capacity), then writes items and case files
in one transaction (:func:`route_stage`; the cool-down and tonight's room are
decided inside it). The link stage reads
reviewers' statements about records through :func:`read_link_constraints`
and :func:`clerical_same_person` - read-only.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from early_warning.paths import write_frame
from flows.stages import Night

R = TypeVar("R")
log = logging.getLogger("flows.route")


class QueueLocked(RuntimeError):
    """The review queue's database stayed locked by another writer for the whole busy timeout."""


def names_a_locked_queue(stage: Callable[..., R]) -> Callable[..., R]:
    """Turn SQLite's bare ``database is locked`` (or PostgreSQL's lock timeout) into a message
    naming the queue's database and who holds it, said at once on the console (each attempt),
    not after the retries (issue 21: two and a half silent minutes, then no path)."""

    @functools.wraps(stage)
    def said(night: Night, *args: Any, **kwargs: Any) -> R:
        from sqlalchemy.exc import OperationalError

        try:
            return stage(night, *args, **kwargs)
        except OperationalError as exc:
            if not is_lock_timeout(exc.orig):
                raise
            message = locked_queue_message(night)
            log.warning(message)
            raise QueueLocked(message) from None

    return said


def is_lock_timeout(error: BaseException | None) -> bool:
    """SQLite's ``database is locked`` or PostgreSQL's ``lock_not_available`` (SQLSTATE 55P03,
    raised when ``lock_timeout`` passes: :func:`review_ui.store.make_engine` sets it)."""
    return getattr(error, "sqlstate", None) == "55P03" or "locked" in str(error).lower()


def locked_queue_message(night: Night) -> str:
    from sqlalchemy import make_url

    from early_warning.settings import get_settings
    from review_ui.store import queue_database_url

    url = make_url(queue_database_url(night.home))
    waited = f"waited {get_settings().queue_busy_seconds} s. Nothing was routed by this attempt."
    if url.get_backend_name() == "postgresql":
        where = url.render_as_string(hide_password=True)
        holders = ", ".join(postgres_lock_holders(url)) or "not visible"
        return f"The review queue database {where} is locked by another session ({holders}); {waited}"
    path = Path(url.database or "").resolve()
    holders = ", ".join(f"PID {pid} ({name})" for pid, name in processes_with_open(path)) or "not visible"
    return f"The review queue database {path} is locked by another writer (open in: {holders}); {waited}"


#: Sessions holding more than a reader's lock on a table of the queue's schema.
_LOCK_HOLDERS = """
SELECT DISTINCT a.pid, coalesce(nullif(a.application_name, ''), 'no name') AS application,
       coalesce(a.client_addr::text, 'local') AS client, a.state,
       to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS') AS since
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.mode <> 'AccessShareLock' AND a.pid <> pg_backend_pid()
  AND c.relnamespace = current_schema()::regnamespace
ORDER BY a.pid
"""


def postgres_lock_holders(url: Any) -> list[str]:
    """Who holds locks on the queue's tables, as "PID n (application, from client, state since
    time)": PostgreSQL's own session ids, which an operator can end with ``pg_terminate_backend``."""
    from sqlalchemy import text

    from review_ui.store import make_engine

    engine = make_engine(url, busy_timeout_ms=5_000)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(_LOCK_HOLDERS)).all()
    except Exception as exc:  # naming the holder is a courtesy: never hide the lock behind it
        log.debug("could not list the queue's lock holders: %s", exc)
        return []
    finally:
        engine.dispose()
    return [
        f"PID {row.pid} ({row.application}, from {row.client}, {row.state} since {row.since})" for row in rows
    ]


def processes_with_open(path: Path) -> list[tuple[int, str]]:
    """Processes (of this user; Linux ``/proc``) with ``path`` or its ``-wal`` open, except this one."""
    wanted = {str(path), f"{path}-wal", f"{path}-journal"}
    found: list[tuple[int, str]] = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
            if any(os.readlink(f"/proc/{entry}/fd/{fd}") in wanted for fd in fds):
                name = Path(f"/proc/{entry}/comm").read_text().strip()
                found.append((int(entry), name))
        except OSError:
            continue
    return sorted(found)


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
    from early_warning.settings import get_settings
    from review_ui.migrations import upgrade_to_head
    from review_ui.store import make_engine, queue_database_url

    url = queue_database_url(night.home)
    upgrade_to_head(url)
    return make_engine(url, busy_timeout_ms=get_settings().queue_busy_seconds * 1000)


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


def choose_candidates(night: Night, engine: Any | None = None) -> dict[str, Any]:
    """Decide who is sent for review tonight and write candidates.parquet with their reasons.

    The rules (ranking, people already in the queue, the evidence floor, each
    locality's capacity) are :func:`review_ui.queue.plan.choose_candidates`;
    this reads what they need: the score stage's scores and drivers, and the
    people the queue already holds, which is why this runs in the route stage.
    ``engine`` is the route stage's own (one migration check per night); None opens one.

    Why this runs just before routing's transaction rather than inside it: the
    reasons read the night's events and the case files are built from the chosen
    list (per locality when the night fans out), work that should not hold the
    queue's write lock. It is safe because the choice is only a superset: every
    person the queue held when it was read is a candidate, and the final decision
    (capacity, cool-down, resurfacing, lineage) is :func:`review_ui.queue.plan.route_plan`,
    made inside the transaction on the open items it locks. A caseworker closing an
    item in between changes that decision, never the candidates it needs; and only
    routing opens items, one night at a time.
    """
    from models.reasons import reasons_for
    from review_ui.queue import plan
    from review_ui.routing import persons_already_in_queue

    persons = pl.read_parquet(night.run.persons)
    drivers = pl.read_parquet(night.run.drivers)
    own = engine is None
    engine = engine if engine is not None else queue_engine(night)
    try:
        held = persons_already_in_queue(as_of=night.as_of, config=night.config, engine=engine)
    finally:
        if own:
            engine.dispose()
    ranked = plan.ranked_cohort(pl.read_parquet(night.run.scores), pl.read_parquet(night.run.localities))

    def explain(frame: pl.DataFrame) -> pl.DataFrame:
        return reasons_for(
            frame["person_id"],
            pl.scan_parquet(night.run.canonical_events),
            persons,
            night.as_of,
            night.config,
            drivers=drivers,
        )

    pool = plan.choose_candidates(
        ranked,
        held,
        plan.locality_capacities(ranked["locality"], night.config),
        min_reasons=night.config.routing.min_reasons_to_surface,
        explain=explain,
    )
    candidates = (
        pool.join(_services_in_contact(night, pool["person_id"]), on="person_id", how="left")
        .with_columns(pl.col("services").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .select("person_id", "score", "locality", "reasons", "services")
    )
    write_frame(candidates, night.run.candidates)
    return {"candidates": candidates.height, "already_in_queue": len(held)}


def case_files_for(night: Night, person_ids: pl.Series) -> pl.DataFrame:
    """The case files of the night's candidates (:func:`review_ui.queue.case_files.build_case_files`),
    from the run's canonical frames and linkage outputs. Only the route stage builds them:
    they hold names and contact details, which go nowhere but the queue."""
    from review_ui.queue.case_files import build_case_files

    evidence = night.run.match_evidence
    return build_case_files(
        person_ids,
        persons=pl.scan_parquet(night.run.persons),
        people=pl.scan_parquet(night.run.canonical_people),
        events=pl.scan_parquet(night.run.canonical_events),
        gazetteer=pl.read_parquet(night.run.canonical_gazetteer),
        evidence=pl.scan_parquet(evidence) if evidence.exists() else None,
        as_of=night.as_of,
        config=night.config,
    )


@names_a_locked_queue
def route_stage(
    night: Night, model_version: str, case_files: pl.DataFrame | None = None, *, choose: bool = True
) -> dict[str, Any]:
    """Choose tonight's candidates (:func:`choose_candidates`, unless ``choose`` is False
    because the fan-out chose them before building case files per locality), put them and
    their case files into the review queue (one transaction) and write surfaced.parquet
    (with the scorer that ranked them, :func:`scorer_column`).
    ``case_files`` are built here unless given.

    The review queue is the only place a score goes: this is the product's
    single sink for scores, and it only ever creates or refreshes review items.
    Case files hold personal details: only their count is reported, never their content.
    """
    from review_ui.audit_guard import check_before_routing, record_tip
    from review_ui.queue.plan import routing_lineage
    from review_ui.routing import route_night, surfaced_frame
    from review_ui.store import queue_database_url

    url = queue_database_url(night.home)
    engine = queue_engine(night)
    try:
        check_before_routing(night.home, engine)
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
        surfaced = surfaced_frame(as_of=night.as_of, engine=engine)
        write_frame(surfaced.with_columns(scorer_column(night)), night.run.surfaced)
        clerical = route_clerical_sample(night, engine, url)
        record_tip(night.home, engine)
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
        "unstaffed_localities": dict(summary.unstaffed),
    }


def scorer_column(night: Night) -> pl.Expr:
    """``scorer``: what scored tonight, named in full as scores.parquet names it (the model's
    registered name, version and MLflow run id, or the rules score and its points table's
    fingerprint), so surfaced.parquet says on every row which scorer put a person there."""
    scorers = pl.read_parquet(night.run.scores, columns=["scorer"])["scorer"].unique()
    if scorers.len() > 1:
        raise RuntimeError(f"tonight's scores name more than one scorer: {sorted(scorers.to_list())}")
    return pl.lit(scorers[0] if scorers.len() else None, dtype=pl.String).alias("scorer")


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
