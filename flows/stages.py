"""The nightly stages as plain functions: read the run's files, call one
``features``/``models``/``review_ui`` function, write the run's files.

They take and return small things (paths, counts) so the Prefect flow in
:mod:`flows.nightly` can pass them between tasks cheaply, and they can be
called and tested without Prefect. Every write is keyed by the night
(``<home>/runs/<as_of>/``), so running a stage again replaces its output.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from early_warning.config import Config
from early_warning.paths import RunPaths
from features.schema import EVENTS_FILE, GAZETTEER_FILE, PEOPLE_FILE

if TYPE_CHECKING:
    from models.scoring import ScoredCohort

logger = logging.getLogger(__name__)

KNOWN_FILE = "known_to_services.parquet"
#: How many times its capacity each locality's shortlist holds before the evidence floor.
SHORTLIST_FACTOR = 4
FEATURES_FILE = "features.parquet"
LOCALITY_FILE = "localities.parquet"
PARTITIONS_FILE = "partitions.parquet"
#: The graph's "in contact" and "recent" window (``build_graph_features``' default).
GRAPH_WINDOW_DAYS = 365


@dataclass(frozen=True)
class Night:
    """Everything a stage needs to find its inputs: the night, the home and the configuration."""

    home: Path
    as_of: date
    config: Config
    config_dir: Path | None = None

    @property
    def run(self) -> RunPaths:
        return RunPaths(home=self.home, as_of=self.as_of)

    def canonical(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.run.canonical_dir / name)

    def output(self, name: str) -> Path:
        return self.run.root / name


def ingest_stage(night: Night, extracts: Path) -> dict[str, Any]:
    """Read and check the extracts; quarantine bad rows; write the canonical frames."""
    from features.ingest import ingest_extracts

    night.run.root.mkdir(parents=True, exist_ok=True)
    report = ingest_extracts(extracts, night.as_of, night.run, night.config)
    details = report.to_dict()
    totals = details["totals"]
    return {
        "summary": report.summary(),
        "rows_read": totals["rows_read"],
        "accepted": totals["accepted"],
        "quarantined": totals["quarantined"],
        "skipped_sources": list(report.skipped_sources),
        "per_source": {
            name: {
                "status": source["status"],
                "read": sum((f or {}).get("rows_read") or 0 for f in source["files"].values()),
                "quarantined": sum((f or {}).get("quarantined") or 0 for f in source["files"].values()),
            }
            for name, source in details["sources"].items()
        },
    }


def previous_persons(night: Night) -> pl.DataFrame | None:
    """The persons of the latest earlier night that has them, so ids carry over."""
    runs = night.home / "runs"
    if not runs.is_dir():
        return None
    earlier = sorted(
        (p for p in runs.iterdir() if p.name < night.as_of.isoformat() and (p / "persons.parquet").exists()),
        key=lambda p: p.name,
    )
    return pl.read_parquet(earlier[-1] / "persons.parquet") if earlier else None


def link_stage(night: Night) -> dict[str, Any]:
    """Resolve source records to persons with stable ids; write persons, evidence, lineage.

    Scores with the model an earlier night used while it is fresh enough
    (:func:`flows.reuse.linkage_model_choice`), else trains tonight. Keeps every
    active "not the same person" / "same person" statement reviewers made in
    the review app (read-only; none before the queue exists)."""
    from features.linkage import load_linkage_settings, resolve_persons, write_linkage_outputs
    from features.linkage.trained import IncompatibleModelError
    from flows.reuse import linkage_model_choice, record_reuse, settings_fingerprint
    from review_ui.store import queue_database_url
    from review_ui.store.link_constraints import read_link_constraints

    people = night.canonical(PEOPLE_FILE)
    constraints = read_link_constraints(queue_database_url(night.home))
    settings = load_linkage_settings(night.config_dir)
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
            previous=previous_persons(night),
            as_of=night.as_of,
            settings=settings,
            save_model_to=night.output("linkage_model.json"),
            trained_model=model,
            work_dir=night.run.root,
            constraints=constraints,
            clerical_same_person=clerical_same_person(night, settings),
        )

    reason = choice.reason
    try:
        result = resolve(choice.model)
    except IncompatibleModelError as problem:
        reason = f"the earlier model does not fit tonight's comparisons ({problem}); trained tonight"
        result = resolve(None)
    reused = result.model_reused
    reuse = {
        "model": "reused" if reused else "trained tonight",
        "reason": reason,
        "trained_on": (choice.trained_on if reused and choice.trained_on else night.as_of).isoformat(),
        "records_at_training": choice.records_at_training if reused else people.height,
        "settings": settings_fingerprint(settings),
    }
    record_reuse(night.run.root, night.config, "link", reuse)
    write_linkage_outputs(result, night.run.root)
    changes = (
        result.lineage["change"].value_counts().sort("change").iter_rows() if result.lineage.height else []
    )
    return {
        "records": result.persons.height,
        "persons": result.persons["person_id"].n_unique(),
        "lineage": dict(changes),
        "model": reuse["model"],
    }


def clerical_same_person(night: Night, settings: Any) -> pl.DataFrame | None:
    """The record pairs the data team labelled "same person", when linkage.yaml's
    ``train_m_from_clerical_labels`` asks for them (read-only); otherwise None."""
    if not settings.train_m_from_clerical_labels:
        return None
    from review_ui.store import queue_database_url
    from review_ui.store.clerical import read_same_person_records

    return read_same_person_records(queue_database_url(night.home))


def graph_stage(night: Night) -> dict[str, Any]:
    """Build the person-household-service graph per locality; write graph features and
    localities, and the locality partitions that scoring works through.

    After a night with the same configuration and gazetteer, only the components
    touched by a change are rebuilt (:mod:`flows.reuse`)."""
    from features.graph.incremental import GRAPH_ADDRESSES_FILE, graph_night, graph_window_cut
    from features.incremental import FINGERPRINTS_FILE, night_changes, record_fingerprints
    from flows.reuse import previous_night, record_reuse

    persons = pl.read_parquet(night.run.persons)
    people, events, gazetteer = (night.canonical(f) for f in (PEOPLE_FILE, EVENTS_FILE, GAZETTEER_FILE))
    fingerprints = record_fingerprints(people.lazy(), events.lazy())
    fingerprints.write_parquet(night.output(FINGERPRINTS_FILE))
    services = sorted(people["source"].unique().to_list())
    needs = ("graph_features.parquet", GRAPH_ADDRESSES_FILE, FINGERPRINTS_FILE, "persons.parquet")
    before = previous_night(night.home, night.as_of, night.config, needs)
    if before is not None:
        earlier = before.read("graph_features.parquet")
        same_gazetteer = pl.read_parquet(before.root / "canonical" / GAZETTEER_FILE).equals(gazetteer)
        if not same_gazetteer or earlier.columns != list(_graph_schema(services)):
            before = None
    from features.graph.best_record import source_reliability

    reliability = source_reliability(night.config)
    if before is None:
        result = graph_night(
            persons, people, events, gazetteer, night.as_of, services=services, reliability=reliability
        )
    else:
        changes = night_changes(
            fingerprints=fingerprints,
            previous_fingerprints=before.read(FINGERPRINTS_FILE),
            persons=persons,
            previous_persons=before.read("persons.parquet"),
            events=events.lazy(),
            cuts=(graph_window_cut(GRAPH_WINDOW_DAYS),),
            before=before.as_of,
            now=night.as_of,
        )
        result = graph_night(
            persons,
            people,
            events,
            gazetteer,
            night.as_of,
            services=services,
            window_days=GRAPH_WINDOW_DAYS,
            previous=earlier,
            previous_addresses=before.read(GRAPH_ADDRESSES_FILE),
            changed_now=changes.now,
            changed_before=changes.before,
            reliability=reliability,
        )
    result.addresses.select("person_id", "address_key").write_parquet(night.output(GRAPH_ADDRESSES_FILE))
    write_partitions(night, persons, result.addresses)
    reuse = {
        "from": before.as_of.isoformat() if before else None,
        "recomputed": result.recomputed,
        "reused": result.reused,
    }
    record_reuse(night.run.root, night.config, "graph", reuse)
    return write_graph_outputs(night, result.features) | {"reuse": reuse}


def _graph_schema(services: Sequence[str]) -> dict[str, pl.DataType]:
    from features.graph.features import feature_schema

    return feature_schema(services)


def write_partitions(night: Night, persons: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """``partitions.parquet``: each person's locality partition (whole person-address
    components, :func:`features.graph.build.partitions`), sorted by partition and person.
    ``addresses`` is :func:`features.graph.addresses.person_addresses` for the night."""
    from features.graph.build import partitions

    labels = partitions(persons["person_id"], addresses).sort("partition", "person_id")
    labels.write_parquet(night.output(PARTITIONS_FILE))
    return labels


def write_graph_outputs(night: Night, graph: pl.DataFrame) -> dict[str, Any]:
    """Write the night's graph features and each person's locality (also used by the fan-out)."""
    from features.graph import write_graph_features

    write_graph_features(graph, night.run.root)
    graph.select("person_id", "locality").write_parquet(night.output(LOCALITY_FILE))
    return {"persons": graph.height, "localities": graph["locality"].n_unique()}


def features_stage(night: Night) -> dict[str, Any]:
    """Point-in-time features per person, with the graph's numeric features joined in.

    After a night with the same configuration, only people whose records, grouping or
    windows changed are recomputed; a sample of the rest is checked against a fresh
    computation, and any difference means everyone is recomputed (:mod:`flows.reuse`)."""
    from features.graph import GRAPH_FEATURES_FILE
    from features.incremental import FINGERPRINTS_FILE, night_changes
    from features.person_features import build_person_features
    from features.person_features import catalogue as cat
    from features.person_features.incremental import incremental_person_features, sample_matches
    from flows.reuse import CHECK_SAMPLE, previous_night, record_reuse

    graph = pl.scan_parquet(night.output(GRAPH_FEATURES_FILE)).drop("locality")
    events = pl.scan_parquet(night.run.canonical_dir / EVENTS_FILE)
    persons = pl.read_parquet(night.run.persons)
    needs = (FEATURES_FILE, FINGERPRINTS_FILE, "persons.parquet")
    before = previous_night(night.home, night.as_of, night.config, needs)
    reuse: dict[str, Any] = {"from": None, "recomputed": persons["person_id"].n_unique(), "reused": 0}
    table = None
    if before is not None:
        changes = night_changes(
            fingerprints=pl.read_parquet(night.output(FINGERPRINTS_FILE)),
            previous_fingerprints=before.read(FINGERPRINTS_FILE),
            persons=persons,
            previous_persons=before.read("persons.parquet"),
            events=events,
            cuts=cat.age_cuts(),
            before=before.as_of,
            now=night.as_of,
        )
        result = incremental_person_features(
            events,
            persons,
            night.as_of,
            night.config,
            previous=before.read(FEATURES_FILE),
            previous_as_of=before.as_of,
            changed=changes.now,
            graph_features=graph,
        )
        reused = result.table.filter(~pl.col("person_id").is_in(changes.now.implode()))["person_id"]
        check = reused.sample(min(CHECK_SAMPLE, reused.len()), seed=night.as_of.toordinal())
        if sample_matches(result.table, events, persons, night.as_of, night.config, check):
            table = result.table
            reuse = {
                "from": before.as_of.isoformat(),
                "recomputed": result.recomputed,
                "reused": result.reused,
            }
        else:
            logger.warning(
                "features reused from %s differed from a fresh computation for a sample of people; "
                "recomputing everyone",
                before.as_of,
            )
            reuse["fell_back_from"] = before.as_of.isoformat()
    if table is None:
        table = build_person_features(
            events, persons.lazy(), night.as_of, night.config, graph_features=graph
        ).collect()
    record_reuse(night.run.root, night.config, "features", reuse)
    return write_features(night, table) | {"reuse": reuse}


def write_features(night: Night, table: pl.DataFrame) -> dict[str, Any]:
    """Write the night's person feature table (also used by the fan-out)."""
    table.write_parquet(night.output(FEATURES_FILE))
    return {"persons": table.height, "features": table.width - 1}


def thresholds_stage(night: Night) -> dict[str, Any]:
    """Apply each service's own rule; everyone known to none is the early-warning cohort."""
    from models.thresholds import known_to_services

    known = known_to_services(
        pl.scan_parquet(night.run.canonical_dir / EVENTS_FILE),
        pl.scan_parquet(night.run.persons),
        night.as_of,
        night.config,
    )
    known.write_parquet(night.output(KNOWN_FILE))
    persons = pl.read_parquet(night.run.persons)["person_id"].n_unique()
    by_service = known.explode("services")["services"].value_counts().sort("services").iter_rows()
    return {
        "persons": persons,
        "known": known.height,
        "cohort": persons - known.height,
        "by_service": dict(by_service),
    }


@dataclass(frozen=True)
class RegisteredModel:
    """The champion from the registry, with the name and version the run report needs."""

    pipeline: Any
    version: str
    name: str = "early-warning"

    def predict_proba(self, X: Any) -> Any:
        return self.pipeline.predict_proba(X)


def _queue_engine(night: Night) -> Any:
    from review_ui.migrations import upgrade_to_head
    from review_ui.store import make_engine, queue_database_url

    url = queue_database_url(night.home)
    upgrade_to_head(url)
    return make_engine(url)


def _services_in_contact(night: Night, person_ids: pl.Series) -> pl.DataFrame:
    """The sources each person had any event with in the last year: for the resurface rule."""
    since = night.as_of - timedelta(days=night.config.thresholds.window_days)
    return (
        pl.scan_parquet(night.run.canonical_dir / EVENTS_FILE)
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


def night_cohort(night: Night, persons: pl.DataFrame | pl.LazyFrame | None = None) -> pl.DataFrame:
    """The early-warning cohort (known to no service) among ``persons`` (default: everyone tonight)."""
    from models.thresholds import early_warning_cohort

    persons = pl.scan_parquet(night.run.persons) if persons is None else persons
    return early_warning_cohort(persons, pl.read_parquet(night.output(KNOWN_FILE)))


def champion_model(night: Night) -> RegisteredModel | None:
    """The registry's champion, or None (the rules score). Load once per night."""
    from models.registry import load_champion

    champion = load_champion(night.home)
    return RegisteredModel(pipeline=champion[0], version=champion[1]) if champion else None


def scoring_partitions(night: Night, cohort: pl.DataFrame) -> list[str]:
    """The partitions with someone in the cohort, in name order: the batches scoring works through."""
    labels = pl.read_parquet(night.output(PARTITIONS_FILE))
    return labels.join(cohort, on="person_id", how="semi")["partition"].unique().sort().to_list()


def score_stage(night: Night) -> dict[str, Any]:
    """Score the cohort (known to no service) with the champion, or the rules score when
    none is registered; write scores.parquet and the night's review candidates with reasons.

    The cohort is scored partition by partition, as the Dask fan-out scores it, so the two
    runners make the very same calls: a model's arithmetic can depend on how many rows it
    is given at once (a linear model's sums in BLAS), which would otherwise make the last
    digit of a score, and so the order of two people who tie, depend on the runner. Every
    partition's drivers are measured from the whole cohort's typical person.
    """
    from models.scoring import linear_centre, score_cohort

    cohort = night_cohort(night)
    model = champion_model(night)
    features = pl.read_parquet(night.output(FEATURES_FILE))
    centre = linear_centre(features, cohort, model)
    labels = pl.read_parquet(night.output(PARTITIONS_FILE))
    parts = []
    for name in scoring_partitions(night, cohort):
        members = labels.filter(pl.col("partition") == name).select("person_id")
        parts.append(
            score_cohort(
                features.join(members, on="person_id", how="semi"),
                cohort.join(members, on="person_id", how="semi"),
                model,
                night.config,
                linear_centre=centre,
            )
        )
    scored = merge_scored(parts) if parts else score_cohort(features, cohort, model, night.config)
    return write_candidates(night, cohort.height, scored)


def merge_scored(parts: Sequence[ScoredCohort]) -> ScoredCohort:
    """The partitions' scores and drivers as one ``ScoredCohort``, in ``score_cohort``'s order."""
    from models.scoring import ScoredCohort

    models = {(p.model_name, p.model_version, p.drivers_source) for p in parts}
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
    )


def write_candidates(night: Night, cohort_size: int, scored: ScoredCohort) -> dict[str, Any]:
    """Write scores.parquet, then rank the whole cohort, apply each locality's capacity and
    write the night's review candidates with reasons (also used by the fan-out, which scores
    in parts: ranking and capacity are across the borough, so they happen once, here)."""
    from models.reasons import reasons_for
    from review_ui.routing import persons_already_in_queue

    persons = pl.read_parquet(night.run.persons)
    scored.scores.write_parquet(night.run.scores)

    engine = _queue_engine(night)
    try:
        held = persons_already_in_queue(as_of=night.as_of, config=night.config, engine=engine)
    finally:
        engine.dispose()
    ranked = (
        scored.scores.join(pl.read_parquet(night.output(LOCALITY_FILE)), on="person_id", how="left")
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
            pl.scan_parquet(night.run.canonical_dir / EVENTS_FILE),
            persons,
            night.as_of,
            night.config,
            drivers=scored.drivers,
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
    candidates.write_parquet(night.output(CANDIDATES_FILE))
    from models.registry import scorer_in_use

    scorer, scorer_why = scorer_in_use(night.home)
    return {
        "scorer": scorer,
        "scorer_why": scorer_why,
        "cohort": cohort_size,
        "scored": scored.scores.height,
        "candidates": candidates.height,
        "model_name": scored.model_name,
        "model_version": scored.model_version,
        "model_description": scored.model_description,
    }


CANDIDATES_FILE = "candidates.parquet"
_ROUTING_CHANGES = ("new", "same", "merged", "split")


def routing_lineage(lineage: pl.DataFrame) -> pl.DataFrame:
    """Linkage's lineage (one row per person, a list of previous ids) as the queue
    needs it (one row per previous id); ids that vanished have no one to move to."""
    return (
        lineage.filter(pl.col("change").is_in(_ROUTING_CHANGES))
        .explode("previous_person_ids")
        .rename({"previous_person_ids": "previous_person_id"})
        .select("person_id", "previous_person_id", "change")
    )


def case_files_for(night: Night, person_ids: pl.Series) -> pl.DataFrame:
    """The case files of the night's candidates, from the run's canonical frames and linkage outputs."""
    from features.case_files import build_case_files
    from features.linkage import EVIDENCE_FILE

    evidence = night.output(EVIDENCE_FILE)
    return build_case_files(
        person_ids,
        persons=pl.scan_parquet(night.run.persons),
        people=pl.scan_parquet(night.run.canonical_dir / PEOPLE_FILE),
        events=pl.scan_parquet(night.run.canonical_dir / EVENTS_FILE),
        gazetteer=night.canonical(GAZETTEER_FILE),
        evidence=pl.scan_parquet(evidence) if evidence.exists() else None,
        as_of=night.as_of,
        config=night.config,
    )


def route_stage(night: Night, model_version: str, case_files: pl.DataFrame | None = None) -> dict[str, Any]:
    """Put the night's candidates and their case files into the review queue (one
    transaction) and write surfaced.parquet. ``case_files`` are built here unless given
    (the fan-out builds them per locality first).

    The review queue is the only place a score goes: this is the product's
    single sink for scores, and it only ever creates or refreshes review items.
    Case files hold personal details: only their count is reported, never their content.
    """
    from features.linkage import LINEAGE_FILE
    from review_ui.migrations import upgrade_to_head
    from review_ui.routing import route_night, surfaced_frame
    from review_ui.store import make_engine, queue_database_url

    candidates = pl.read_parquet(night.output(CANDIDATES_FILE))
    started = time.perf_counter()
    if case_files is None:
        case_files = case_files_for(night, candidates["person_id"])
    case_file_seconds = round(time.perf_counter() - started, 2)
    url = queue_database_url(night.home)
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        summary = route_night(
            as_of=night.as_of,
            candidates=candidates,
            config=night.config,
            model_version=model_version,
            lineage=routing_lineage(pl.read_parquet(night.output(LINEAGE_FILE))),
            case_files=case_files,
            engine=engine,
        )
        surfaced_frame(as_of=night.as_of, engine=engine).write_parquet(night.run.surfaced)
        clerical = route_clerical_sample(night, engine, url)
    finally:
        engine.dispose()
    return {
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
    from features.linkage.clerical import SAMPLE_FILE, STRATA_FILE, estimate_accuracy
    from review_ui.store import make_session_factory, write_transaction
    from review_ui.store.clerical import (
        delete_expired_clerical_values,
        read_latest_clerical_labels,
        write_clerical_sample,
    )

    sample_path, strata_path = night.output(SAMPLE_FILE), night.output(STRATA_FILE)
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
