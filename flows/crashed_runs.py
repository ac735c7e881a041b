"""Nights left RUNNING in Prefect by a process that died are marked Crashed by the next night.

A night killed with SIGKILL (or by the out-of-memory killer, or a power cut)
never tells Prefect it ended, so its run stays RUNNING in the UI for good and
an automation waiting for "Failed or Crashed" never fires. The next night on
the same home holds the home's lock (:mod:`flows.night_lock`), so no other
night of that home can be running: every other run of this flow still
RUNNING (or PENDING) for the same home is a dead one, and is set to Crashed
with a message that says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

log = logging.getLogger("flows.crashed_runs")

FLOW_NAME = "nightly"


def mark_abandoned_runs(home: Path, current: UUID | None) -> list[str]:
    """Set to Crashed every run of the nightly flow for ``home`` left RUNNING or PENDING
    (other than ``current``); returns the names of the runs marked. Bookkeeping only: if
    Prefect cannot be asked, the night goes on and says so."""
    try:
        return _mark(home, current)
    except Exception as exc:
        log.warning("could not look for runs a killed night left RUNNING: %s", exc)
        return []


def _mark(home: Path, current: UUID | None) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    wanted = str(Path(home).resolve())
    marked: list[str] = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
                )
            ),
        )
        for run in runs:
            if run.id == current or str(Path(str(run.parameters.get("home"))).resolve()) != wanted:
                continue
            client.set_flow_run_state(
                run.id,
                Crashed(
                    message="The process running this night stopped without finishing (killed or lost); "
                    "marked crashed by the next night on the same home."
                ),
                force=True,
            )
            marked.append(run.name)
            log.warning("flow run %s was left running by a process that died: marked Crashed", run.name)
    return marked
