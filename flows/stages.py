"""The nightly stages as plain functions: read the run's files, call one
``features``/``models`` function, write the run's files. None of them opens
the review queue: that is :mod:`flows.route`'s alone.

They take and return small things (paths, counts) so the Prefect flow in
:mod:`flows.nightly` can pass them between tasks cheaply, and they can be
called and tested without Prefect. Every write is keyed by the night
(``<home>/runs/<as_of>/``), so running a stage again replaces its output.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
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
    from flows.route import clerical_same_person, read_link_constraints

    people = night.canonical(PEOPLE_FILE)
    constraints = read_link_constraints(night)
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
    return write_scores(night, cohort.height, scored)


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


DRIVERS_FILE = "drivers.parquet"


def write_scores(night: Night, cohort_size: int, scored: ScoredCohort) -> dict[str, Any]:
    """Write scores.parquet and drivers.parquet (what moved each score, for the reasons).

    The score stage ends here: who is sent for review - ranking, the evidence floor, each
    locality's capacity, people already in the queue - is decided by the route stage
    (:func:`flows.route.choose_candidates`, by the rules in :mod:`review_ui.queue.plan`),
    the only part of the night that opens the review queue. Also used by the fan-out,
    which scores in parts.
    """
    from models.registry import scorer_in_use

    scored.scores.write_parquet(night.run.scores)
    scored.drivers.write_parquet(night.output(DRIVERS_FILE))
    scorer, scorer_why = scorer_in_use(night.home)
    return {
        "scorer": scorer,
        "scorer_why": scorer_why,
        "cohort": cohort_size,
        "scored": scored.scores.height,
        "model_name": scored.model_name,
        "model_version": scored.model_version,
        "model_description": scored.model_description,
    }
