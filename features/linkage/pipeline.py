"""One call for the nightly run: canonical people in, persons out.

``resolve_persons`` chains the steps - prepare, train (or reuse an earlier
night's model) and score (Splink on DuckDB or Spark), cluster with the
household and chaining guards, assign stable ids, explain - and returns
plain polars frames. ``write_linkage_outputs`` is the
only function here that touches disk: besides persons, evidence and
lineage it writes ``linkage_summary.json``, the night's counts (records,
persons, pairs, guard actions, generic phone numbers and e-mails) and
seconds per phase - counts only, so the data team can see what linkage did
without seeing anyone's data.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.paths import RunPaths, write_frame, write_text
from features.linkage.clerical import ClericalSample, night_sample, same_person_ids, write_night_sample
from features.linkage.clustering import cluster_records, reliable_comparisons
from features.linkage.constraints import constraints_on_records, detached_keys, with_why
from features.linkage.contacts import generic_contact_stats
from features.linkage.evidence import EVIDENCE_SCHEMA, match_evidence
from features.linkage.ids import LINEAGE_SCHEMA, PERSONS_SCHEMA, assign_person_ids
from features.linkage.prep import prepare_people
from features.linkage.settings import LinkageSettings, load_linkage_settings
from features.linkage.splink_runner import score_pairs

logger = logging.getLogger(__name__)

_NO_PAIRS: dict[str, pl.DataType] = {
    "unique_id_l": pl.Int64(),
    "unique_id_r": pl.Int64(),
    "match_weight": pl.Float64(),
    "match_probability": pl.Float64(),
}


@dataclass
class LinkageResult:
    """The night's resolution of source records to persons.

    Attributes:
        persons: ``person_id``, ``source``, ``source_person_id`` - one row per
            accepted source record (DATA_CONTRACT.md section 5).
        evidence: why records were joined (:mod:`features.linkage.evidence`).
        lineage: what happened to each person id tonight (:mod:`features.linkage.ids`).
        stats: counts (records, persons, pairs, guard actions, ``model_reused``
            0 or 1, generic phone numbers and e-mails and the records holding
            them - :func:`features.linkage.contacts.generic_contact_stats`);
            no personal data.
        timings: seconds per phase (prep, engine, train, predict, cluster, ids,
            evidence); ``train`` is about 0 when the model was reused.
        model: the Splink model scored with (comparisons and m/u probabilities).
        model_reused: True when ``model`` is an earlier night's, passed in as
            ``trained_model``, rather than trained tonight.
    """

    persons: pl.DataFrame
    evidence: pl.DataFrame
    lineage: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    model_reused: bool = False
    #: tonight's sample of candidate pairs for the data team (:mod:`features.linkage.clerical`).
    clerical: ClericalSample | None = None


def _empty_result(as_of: date, previous: pl.DataFrame | None) -> LinkageResult:
    lineage = pl.DataFrame(schema=LINEAGE_SCHEMA)
    if previous is not None and not previous.is_empty():
        gone = sorted(previous["person_id"].unique().to_list())
        lineage = pl.DataFrame(
            {"as_of": [as_of] * len(gone), "person_id": gone, "previous_person_ids": [[g] for g in gone]}
        ).with_columns(change=pl.lit("removed"), why=pl.lit(None, dtype=pl.String))
    return LinkageResult(
        persons=pl.DataFrame(schema=PERSONS_SCHEMA),
        evidence=pl.DataFrame(schema=EVIDENCE_SCHEMA),
        lineage=lineage.cast(LINEAGE_SCHEMA),  # type: ignore[arg-type]
    )


def resolve_persons(
    people: pl.DataFrame,
    *,
    previous: pl.DataFrame | None,
    as_of: date,
    settings: LinkageSettings | None = None,
    save_model_to: str | Path | None = None,
    trained_model: dict[str, Any] | None = None,
    work_dir: str | Path | None = None,
    constraints: pl.DataFrame | None = None,
    clerical_same_person: pl.DataFrame | None = None,
) -> LinkageResult:
    """Resolve every accepted source person record to a person.

    Args:
        people: the canonical people frame (``features.schema.PEOPLE_SCHEMA``),
            all sources together; ``(source, source_person_id)`` must be unique.
        previous: the previous night's ``persons.parquet``, or None.
        as_of: the night being run.
        settings: linkage settings; the defaults when None.
        save_model_to: where to write the model JSON (no personal data).
        trained_model: an earlier night's model JSON dictionary to score with
            instead of training tonight (:mod:`features.linkage.trained`);
            raises ``IncompatibleModelError`` if its comparisons are not
            tonight's.
        work_dir: a folder for the Spark backend's temporary data when
            ``spark_temp_dir`` is not set (e.g. the run's folder).
        constraints: reviewers' statements that records are not, or are, the
            same person (``features.linkage.constraints.CONSTRAINT_SCHEMA``);
            a cannot-link always wins, pairs naming absent records are
            ignored and counted, and lineage's ``why`` says where they acted.
        clerical_same_person: record pairs the data team labelled "same
            person" (``features.linkage.clerical.SAME_PERSON_SCHEMA``); they
            inform m when ``train_m_from_clerical_labels`` is on and the model
            is trained tonight.

    Example:
        >>> result = resolve_persons(people, previous=None, as_of=date(2026, 11, 22))  # doctest: +SKIP
        >>> result.persons.columns
        ['person_id', 'source', 'source_person_id']
    """
    settings = settings or load_linkage_settings()
    if people.select(pl.struct("source", "source_person_id").is_duplicated().any()).item():
        raise ValueError(
            "people has duplicate (source, source_person_id) keys; ingest should have quarantined them"
        )
    if people.is_empty():
        return _empty_result(as_of, previous)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    prepared = prepare_people(people)
    timings["prep"] = time.perf_counter() - started

    if prepared.height >= 2:
        scored = score_pairs(
            prepared,
            settings,
            save_model_to=save_model_to,
            trained_model=trained_model,
            work_dir=work_dir,
            same_person_pairs=same_person_ids(clerical_same_person, prepared)
            if settings.train_m_from_clerical_labels
            else None,
        )
        timings |= scored.timings
        pairs, model, reused = scored.pairs, scored.model, scored.model_reused
        candidates = scored.candidates
    else:
        pairs, model, reused = pl.DataFrame(schema=_NO_PAIRS), {}, False
        candidates = None

    started = time.perf_counter()
    reliable = reliable_comparisons(model, settings.hard_rule_max_m)
    on_records = constraints_on_records(constraints, prepared)
    clustering = cluster_records(pairs, prepared, settings, reliable, on_records)
    timings["cluster"] = time.perf_counter() - started

    started = time.perf_counter()
    records = prepared.select("unique_id", "source", "source_person_id").join(
        clustering.clusters, on="unique_id"
    )
    assigned = assign_person_ids(
        records,
        previous=previous,
        salt=settings.person_id_salt,
        as_of=as_of,
        detached=detached_keys(on_records.detach, records, previous),
    )
    records = records.join(assigned.cluster_person, on="cluster")
    lineage = with_why(
        assigned.lineage, records.join(clustering.why, on="unique_id").select("person_id", "why")
    )
    timings["ids"] = time.perf_counter() - started

    started = time.perf_counter()
    evidence = (
        match_evidence(clustering.joining_pairs, records, model, top=settings.evidence_top_reasons)
        if model
        else pl.DataFrame(schema=EVIDENCE_SCHEMA)
    )
    timings["evidence"] = time.perf_counter() - started

    started = time.perf_counter()
    clerical = night_sample(
        candidates,
        clustering.clusters,
        people,
        threshold=settings.threshold_probability,
        edges=settings.clerical_review_band_edges,
        per_band=settings.clerical_review_per_band,
        night_seed=as_of.toordinal(),
    )
    timings["clerical"] = time.perf_counter() - started

    stats = {
        "records": prepared.height,
        "model_reused": int(reused),
        **generic_contact_stats(prepared, settings.generic_contact_min_holders),
        **{f"hard_rules_use_{name}": 1 for name in sorted(reliable)},
        "persons": assigned.cluster_person.height,
        **clustering.stats,
        **on_records.stats,
        **{f"lineage_{k}": v for k, v in lineage["change"].value_counts().iter_rows()},
    }
    logger.info("linkage: %s", stats)
    return LinkageResult(
        persons=assigned.persons,
        evidence=evidence,
        lineage=lineage,
        stats=stats,
        timings=timings,
        model=model,
        model_reused=reused,
        clerical=clerical,
    )


def write_linkage_outputs(result: LinkageResult, run: RunPaths) -> dict[str, Path]:
    """Write persons, match evidence and lineage as Parquet, and the summary as JSON, in the night's folder.

    Each write replaces the night's file atomically (runs are keyed by night;
    see ``early_warning.paths``). Returns the paths written, by file name.
    """
    written = [
        write_frame(result.persons, run.persons),
        write_frame(result.evidence, run.match_evidence),
        write_frame(result.lineage, run.lineage),
    ]
    summary = {
        "stats": dict(sorted(result.stats.items())),
        "seconds": {k: round(v, 3) for k, v in result.timings.items()},
    }
    written.append(write_text(json.dumps(summary, indent=2) + "\n", run.linkage_summary))
    write_night_sample(result.clerical, run)
    return {path.name: path for path in written}
