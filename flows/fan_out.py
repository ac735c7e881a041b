"""The per-locality stages fanned out over the flow's task runner: one task per partition per stage.

Each helper maps one task over tonight's partitions (Prefect hands them to
the Dask cluster), waits for all of them, then runs one combine task that
writes the same files the sequential stage writes, so everything after it
is unchanged. A task run costs Prefect ~10 ms and more (NOTES.md), so tasks
are per partition, never per person. Tasks get the night and a partition's
name and find their inputs on disk (``flows.partitioned``): on a cluster the
home folder must be on storage every worker can read and write.

What does not fan out, and why: ingest (one pass over the extracts, bounded
by reading them), linkage (one model over every record: Splink's Spark
backend is the way to scale it), the service thresholds (cheap, and they
need every service's events), ranking and capacity (across the borough),
and the queue write (one transaction, so a night is all or nothing and a
merged person's items move across localities safely). Case files are built
per candidate locality before that write.
"""

from __future__ import annotations

from typing import Any

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE

from flows import partitioned
from flows.stages import Night, RegisteredModel


@task(name="partition")
def partition(night: Night) -> dict[str, Any]:
    return partitioned.partition_stage(night)


@task(name="graph-partition", task_run_name="graph[{partition}]")
def _graph_part(night: Night, partition: str) -> dict[str, Any]:
    return partitioned.graph_part(night, partition)


@task(name="graph")
def _combine_graph(night: Night, partitions: list[str]) -> dict[str, Any]:
    return partitioned.combine_graph(night, partitions)


@task(name="features-partition", task_run_name="features[{partition}]")
def _features_part(night: Night, partition: str) -> dict[str, Any]:
    return partitioned.features_part(night, partition)


@task(name="features")
def _combine_features(night: Night, partitions: list[str]) -> dict[str, Any]:
    return partitioned.combine_features(night, partitions)


@task(name="score-plan", cache_policy=NO_CACHE)
def _score_plan(night: Night) -> dict[str, Any]:
    return partitioned.score_plan(night)


# The model travels to the workers with the task, over Dask's own connection (no model
# file on shared storage to trust); nothing is cached, so Prefect need not hash it.
@task(name="score-partition", task_run_name="score[{partition}]", cache_policy=NO_CACHE)
def _score_part(
    night: Night, partition: str, model: RegisteredModel | None, centre: list[list[float]] | None
) -> dict[str, Any]:
    return partitioned.score_part(night, partition, model, centre)


@task(name="score")
def _combine_scores(night: Night, cohort_size: int, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return partitioned.combine_scores(night, cohort_size, parts)


@task(name="choose-candidates")
def _choose(night: Night) -> dict[str, Any]:
    return partitioned.choose_candidates(night)


@task(name="case-files-locality", task_run_name="case-files[{locality}]")
def _case_files_part(night: Night, locality: str) -> dict[str, Any]:
    return partitioned.case_files_part(night, locality)


@task(name="route", retries=2, retry_delay_seconds=30)
def _route(night: Night, model_version: str, localities: list[str]) -> dict[str, Any]:
    return partitioned.route_combined(night, model_version, localities)


def graph(night: Night, partitions: list[str]) -> dict[str, Any]:
    """Graph features per partition, then ``graph_features.parquet`` and ``localities.parquet``."""
    if partitions:
        _graph_part.map(unmapped(night), partitions).result()
    return {**_combine_graph(night, partitions), "partitions": len(partitions)}


def person_features(night: Night, partitions: list[str]) -> dict[str, Any]:
    """Person features per partition, then ``features.parquet``."""
    if partitions:
        _features_part.map(unmapped(night), partitions).result()
    return {**_combine_features(night, partitions), "partitions": len(partitions)}


def score(night: Night) -> dict[str, Any]:
    """Scores per partition with one model and one typical person, written as one file."""
    plan = _score_plan(night)
    parts: list[dict[str, Any]] = []
    if plan["partitions"]:
        parts = _score_part.map(
            unmapped(night), plan["partitions"], unmapped(plan["model"]), unmapped(plan["linear_centre"])
        ).result()
    return {**_combine_scores(night, plan["cohort"], parts), "partitions": len(parts)}


def route(night: Night, model_version: str) -> dict[str, Any]:
    """Who is sent for review, case files per candidate locality, then the queue written in
    one transaction."""
    chosen = _choose(night)
    localities = partitioned.candidate_localities(night)
    if localities:
        _case_files_part.map(unmapped(night), localities).result()
    return {**chosen, **_route(night, model_version, localities), "case_file_localities": len(localities)}
