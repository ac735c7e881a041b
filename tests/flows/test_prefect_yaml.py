"""prefect.yaml (production deployment) stays in step with the flow it deploys."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]


def test_the_production_deployment_points_at_the_nightly_flow_with_its_parameters() -> None:
    from flows import nightly as module

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (deployment,) = spec["deployments"]
    path, name = deployment["entrypoint"].split(":")
    assert (ROOT / path).exists()
    flow = getattr(module, name)
    assert flow.name == "nightly"
    assert set(deployment["parameters"]) == set(inspect.signature(flow.fn).parameters)
    (schedule,) = deployment["schedules"]
    assert schedule == {"cron": "0 2 * * *", "timezone": "Europe/London", "active": True}
    assert deployment["work_pool"]["name"]
    # One night at a time (issue 21 item 4): a run due while another is going waits.
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
