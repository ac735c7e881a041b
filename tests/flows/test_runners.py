"""Choosing the task runner: Dask only when asked for, and the flow fans out exactly then."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import runners


@pytest.fixture(scope="module")
def prefect_server() -> str:
    """No flow runs here: stands in for the session's Prefect server (about 20 s to start)."""
    return ""


def test_no_setting_means_prefects_default_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runners.DASK_ADDRESS_ENV, raising=False)
    monkeypatch.delenv(runners.DASK_LOCAL_ENV, raising=False)
    assert runners.runner_from_environment() is None
    default = runners.describe(None)
    assert not default.fans_out
    assert "one task per stage" in default.description


def test_a_scheduler_address_in_the_environment_fans_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runners.DASK_ADDRESS_ENV, "tcp://10.0.0.5:8786")
    monkeypatch.delenv(runners.DASK_LOCAL_ENV, raising=False)
    runner = runners.runner_from_environment()
    assert runner.address == "tcp://10.0.0.5:8786"
    described = runners.describe(runner)
    assert described.fans_out
    assert described.description == "the Dask scheduler at tcp://10.0.0.5:8786"


def test_a_local_cluster_uses_worker_processes_with_one_thread_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runners.DASK_ADDRESS_ENV, raising=False)
    monkeypatch.setenv(runners.DASK_LOCAL_ENV, "3")
    runner = runners.runner_from_environment()
    assert runner.cluster_kwargs == {
        "n_workers": 3,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",
    }
    assert runners.describe(runner).description == "a temporary local Dask cluster (3 workers, processes)"


@pytest.mark.parametrize(
    ("address", "local"), [("tcp://a:8786", "2"), (None, "none"), (None, "0"), (None, "-1")]
)
def test_unusable_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, address: str | None, local: str
) -> None:
    if address:
        monkeypatch.setenv(runners.DASK_ADDRESS_ENV, address)
    else:
        monkeypatch.delenv(runners.DASK_ADDRESS_ENV, raising=False)
    monkeypatch.setenv(runners.DASK_LOCAL_ENV, local)
    with pytest.raises(ValueError, match=runners.DASK_LOCAL_ENV):
        runners.runner_from_environment()


def test_exactly_one_kind_of_cluster() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        runners.dask_runner(address="tcp://a:8786", local_workers=2)
    with pytest.raises(ValueError, match="exactly one"):
        runners.dask_runner()


def test_a_thread_pool_does_not_fan_out() -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    assert not runners.describe(ThreadPoolTaskRunner(max_workers=4)).fans_out


def test_a_remote_cluster_needs_a_prefect_server(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    remote = runners.dask_runner(address="tcp://10.0.0.5:8786")
    with (
        temporary_settings(restore_defaults={PREFECT_API_URL}),
        pytest.raises(runners.NoPrefectServer, match="PREFECT_API_URL"),
        runners.prefect_api_for(remote, tmp_path),
    ):
        pass
    server = "http://prefect.council.internal:4200/api"
    with temporary_settings({PREFECT_API_URL: server}), runners.prefect_api_for(remote, tmp_path):
        assert PREFECT_API_URL.value() == server


def test_the_command_line_offers_one_way_to_fan_out() -> None:
    from early_warning.cli import build_parser

    parser = build_parser()
    base = ["nightly", "--extracts", "x", "--as-of", "2026-06-30"]
    args = parser.parse_args([*base, "--dask-local", "4"])
    assert (args.dask_local, args.dask_address) == (4, None)
    args = parser.parse_args([*base, "--dask-address", "tcp://h:8786"])
    assert (args.dask_local, args.dask_address) == (None, "tcp://h:8786")
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--dask-local", "2", "--dask-address", "tcp://h:8786"])
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--dask-local", "0"])
