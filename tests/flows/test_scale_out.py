"""The nightly flow fanned out by locality over Dask gives the sequential run's results.

One small borough, one night, run twice through the real command line: once
sequentially and once with ``--dask-address`` pointing at a Dask cluster
started here (threads, not processes: it starts in seconds and its workers
share the session's Prefect server, NOTES.md). Every file the later stages
read, the surfaced list and the queue must be the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from early_warning.paths import RunPaths
from flows.report import NightlyOutcome, markdown_summary
from tests.flows.test_nightly_flow import AS_OF, queue_dump, run_night, uncatalogued

SAME_FILES = (
    "partitions.parquet",
    "graph_features.parquet",
    "localities.parquet",
    "features.parquet",
    "known_to_services.parquet",
    "scores.parquet",
    "candidates.parquet",
    "surfaced.parquet",
)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A Dask cluster in this process (2 workers, 1 thread each, talking over TCP as a remote
    cluster would); yields its scheduler's address."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


@dataclass(frozen=True)
class Nights:
    sequential: Path
    fanned_out: Path
    sequential_queue: str
    fanned_out_queue: str

    def run(self, home: Path) -> Path:
        return home / "runs" / AS_OF


@pytest.fixture(scope="module")
def nights(small_borough: Path, dask_scheduler: str, tmp_path_factory: pytest.TempPathFactory) -> Nights:
    one, two = tmp_path_factory.mktemp("sequential"), tmp_path_factory.mktemp("fanned_out")
    found = Nights(one, two, f"sqlite:///{one / 'queue.sqlite3'}", f"sqlite:///{two / 'queue.sqlite3'}")
    extracts = small_borough / "extracts"
    assert run_night(extracts, one, queue=found.sequential_queue) == 0
    assert (
        run_night(extracts, two, queue=found.fanned_out_queue, options=("--dask-address", dask_scheduler))
        == 0
    )
    return found


@pytest.mark.parametrize("name", SAME_FILES)
def test_fanning_out_writes_the_same_files(nights: Nights, name: str) -> None:
    sequential = pl.read_parquet(nights.run(nights.sequential) / name)
    fanned_out = pl.read_parquet(nights.run(nights.fanned_out) / name)
    assert sequential.height > 0
    assert_frame_equal(fanned_out, sequential, check_exact=True)


def test_a_fanned_out_night_writes_only_catalogued_files(nights: Nights) -> None:
    run = RunPaths(home=nights.fanned_out, as_of=date.fromisoformat(AS_OF))
    assert run.parts_dir.is_dir()
    assert uncatalogued(run) == []


def test_the_surfaced_list_is_byte_for_byte_the_same(nights: Nights) -> None:
    sequential = (nights.run(nights.sequential) / "surfaced.parquet").read_bytes()
    assert (nights.run(nights.fanned_out) / "surfaced.parquet").read_bytes() == sequential


def test_fanning_out_fills_the_queue_the_same(nights: Nights) -> None:
    sequential = queue_dump(nights.sequential_queue)
    assert sequential["review_items"]
    assert sequential["case_files"]
    assert queue_dump(nights.fanned_out_queue) == sequential


def test_the_summary_says_where_the_night_ran(nights: Nights) -> None:
    sequential = json.loads((nights.run(nights.sequential) / "run_summary.json").read_text())
    fanned_out = json.loads((nights.run(nights.fanned_out) / "run_summary.json").read_text())
    assert sequential["runner"]["fans_out"] is False
    assert fanned_out["runner"] == {
        "fans_out": True,
        "description": fanned_out["runner"]["description"],
    }
    assert fanned_out["runner"]["description"].startswith("the Dask scheduler at tcp://")
    partitions = fanned_out["partition"]["partitions"]
    assert len(partitions) > 2
    assert sum(fanned_out["partition"]["persons"].values()) == fanned_out["graph"]["persons"]
    assert fanned_out["graph"]["partitions"] == fanned_out["features"]["partitions"] == len(partitions)
    assert fanned_out["score"]["partitions"] >= 1
    assert fanned_out["route"]["case_file_localities"] == len(fanned_out["route"]["new_by_locality"])
    for stage in ("graph", "features", "thresholds", "score", "route"):
        shared = set(sequential[stage]) & set(fanned_out[stage]) - {"case_file_seconds"}
        assert {k: fanned_out[stage][k] for k in shared} == {k: sequential[stage][k] for k in shared}, stage
    markdown = markdown_summary(NightlyOutcome.from_dict(fanned_out))
    assert "Fanned out by locality over the Dask scheduler at tcp://" in markdown
    assert f"{len(partitions)} partition(s)" in markdown
    assert "one task per stage" in NightlyOutcome.from_dict(sequential).summary()


def test_each_partition_was_its_own_prefect_task(nights: Nights) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    fanned_out = json.loads((nights.run(nights.fanned_out) / "run_summary.json").read_text())
    partitions = fanned_out["partition"]["partitions"]
    with get_client(sync_client=True) as client:
        names = {
            run.name
            for run in client.read_task_runs(
                task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="graph[")), limit=200
            )
        }
    assert {f"graph[{name}]" for name in partitions} <= names


def test_a_remote_cluster_without_a_prefect_server_is_refused(small_borough: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    night = subprocess.run(
        [
            sys.executable,
            "-m",
            "early_warning.cli",
            "nightly",
            "--extracts",
            str(small_borough / "extracts"),
            "--as-of",
            AS_OF,
            "--home",
            str(tmp_path),
            "--dask-address",
            "tcp://127.0.0.1:1",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert night.returncode == 2, night.stderr[-2000:]
    assert "PREFECT_API_URL" in night.stderr
    assert not (tmp_path / "runs").exists(), "nothing ran"
