"""Which task runner the nightly flow uses, and whether it fans out by locality.

The flow runs one task per stage in its own process unless it is given a
Dask task runner (prefect-dask); then the per-locality stages fan out, one
task per locality partition, over that Dask cluster. The task runner is the
only switch, so "fanned out" and "running on Dask" can never disagree:

- the command line: ``early-warning nightly --dask-address tcp://host:8786``
  (a running cluster) or ``--dask-local N`` (a temporary cluster of N worker
  processes on this machine);
- a deployment: ``EARLY_WARNING_DASK_ADDRESS`` or ``EARLY_WARNING_DASK_LOCAL``
  in the worker's environment, read when :mod:`flows.nightly` is imported;
- Python: ``nightly.with_options(task_runner=dask_runner(...))``.

``prefect_dask`` (and so ``distributed``) is imported only when a Dask runner
is asked for, so the default run pays nothing for it. A Dask runner needs a
Prefect server its workers can reach (``PREFECT_API_URL``): without one each
worker process starts a temporary server of its own (NOTES.md).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASK_ADDRESS_ENV = "EARLY_WARNING_DASK_ADDRESS"
DASK_LOCAL_ENV = "EARLY_WARNING_DASK_LOCAL"


def dask_runner(
    *, address: str | None = None, local_workers: int | None = None, processes: bool = True
) -> Any:
    """A prefect-dask ``DaskTaskRunner``: on the scheduler at ``address``, or on a temporary
    local cluster of ``local_workers`` workers (processes, one thread each, by default; in
    tests ``processes=False`` starts in seconds). The local scheduler's web server takes a
    free port, so two runs on one machine never clash over Dask's usual 8787."""
    from prefect_dask import DaskTaskRunner

    if (address is None) == (local_workers is None):
        raise ValueError("give exactly one of a Dask scheduler address or a number of local workers")
    if address is not None:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": local_workers,
            "threads_per_worker": 1,
            "processes": processes,
            "dashboard_address": ":0",
        }
    )


def runner_from_environment() -> Any:
    """The Dask runner ``EARLY_WARNING_DASK_ADDRESS``/``EARLY_WARNING_DASK_LOCAL`` ask for, else None
    (Prefect's default: the flow's tasks run in its own process)."""
    address = os.environ.get(DASK_ADDRESS_ENV) or None
    local = os.environ.get(DASK_LOCAL_ENV) or None
    if address and local:
        raise ValueError(f"set {DASK_ADDRESS_ENV} or {DASK_LOCAL_ENV}, not both")
    if address:
        return dask_runner(address=address)
    if local:
        if not local.isdigit() or int(local) < 1:
            raise ValueError(f"{DASK_LOCAL_ENV} must be a number of workers (1 or more), not {local!r}")
        return dask_runner(local_workers=int(local))
    return None


class NoPrefectServer(RuntimeError):
    """A remote Dask cluster was asked for, but there is no Prefect server its workers can reach."""


@contextmanager
def prefect_api_for(task_runner: Any, home: Path) -> Iterator[None]:
    """Make sure the flow, and a Dask runner's workers, have a Prefect API to report to.

    With ``PREFECT_API_URL`` set, nothing to do. Without a Dask runner the API is
    served inside this process for the length of the run (:mod:`flows.local_api`:
    seconds, where Prefect's own temporary server process took half a minute). A
    local cluster gets a local Prefect server for the length of the run (as
    ``early-warning schedule`` does); a remote one cannot reach this machine's
    loopback address, so that is an error that says what to set.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    if not describe(task_runner).fans_out:
        from flows.local_api import in_process_prefect_api

        with in_process_prefect_api():
            yield
        return
    if task_runner.address or task_runner.cluster_class:
        raise NoPrefectServer(
            f"{describe(task_runner).description} needs a Prefect server its workers can reach: "
            "set PREFECT_API_URL (see docs/scale-out.md)"
        )
    from flows.schedule import local_prefect_server

    with local_prefect_server(home, free_port()) as api_url, temporary_settings({PREFECT_API_URL: api_url}):
        yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Runner:
    """What the run summary says about where the tasks ran."""

    fans_out: bool
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"fans_out": self.fans_out, "description": self.description}


def describe(task_runner: Any) -> Runner:
    """Whether ``task_runner`` fans the per-locality stages out, in words for the run summary.

    Only a Dask task runner fans out: Prefect's default thread pool would run the
    partitions in one process at once, holding several partitions in memory for
    no gain on a machine that the sequential run already keeps busy.
    """
    dask = sys.modules.get("prefect_dask")
    if dask is None or not isinstance(task_runner, dask.DaskTaskRunner):
        return Runner(False, "one task per stage, in the flow's own process")
    if task_runner.address:
        return Runner(True, f"the Dask scheduler at {task_runner.address}")
    if task_runner.cluster_class:
        return Runner(True, f"a temporary Dask cluster ({task_runner.cluster_class})")
    kwargs = task_runner.cluster_kwargs
    kind = "processes" if kwargs.get("processes", True) else "threads"
    workers = kwargs.get("n_workers", "default")
    return Runner(True, f"a temporary local Dask cluster ({workers} workers, {kind})")
