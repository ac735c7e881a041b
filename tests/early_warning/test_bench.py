"""`early-warning bench`: every stage timed, the floor measured, figures stored, reuse shown,
and real `early-warning nightly` processes timed from start to exit."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from early_warning.bench import STAGES, borough
from early_warning.cli import main


def test_bench_times_every_stage_and_an_incremental_night(tmp_path: Path) -> None:
    results = tmp_path / "nightly.json"
    argv = ["bench", "--residents", "1500", "--years", "1", "--home", str(tmp_path / "home")]
    assert main([*argv, "--results", str(results), "--incremental"]) == 0

    (record,) = json.loads(results.read_text())
    assert [s["stage"] for s in record["stages"]] == list(STAGES)
    assert all(s["seconds"] > 0 and s["peak_mib"] > 0 for s in record["stages"])
    assert record["total_seconds"] == round(sum(s["seconds"] for s in record["stages"]), 2)
    floor = record["floor"]
    assert floor["rows"] == record["extract_rows"] > 0
    assert record["ratio_to_floor"] == round(record["total_seconds"] / floor["parse_seconds"], 1)
    again = record["incremental"]
    assert [s["stage"] for s in again["stages"]] == list(STAGES)
    for stage in ("graph", "features"):
        assert again["reused"][stage]["from"] == "2026-03-30"
        assert again["reused"][stage]["reused"] > 0

    # What a user waits for: real `early-warning nightly` processes, start to exit.
    processes = record["nightly_process"]
    for name in ("first_night_new_home", "one_off", "with_running_server"):
        run = processes[name]
        assert run["wall_seconds"] > run["stage_seconds"] > 0
        assert run["overhead_seconds"] == round(run["wall_seconds"] - run["stage_seconds"], 2)

    # A second run reuses the generated borough and appends to the results.
    assert main([*argv, "--results", str(results), "--no-nightly-process"]) == 0
    history = json.loads(results.read_text())
    assert len(history) == 2
    assert history[1]["nightly_process"] is None
    cached = list((tmp_path / "home" / "bench").glob("borough-1500-*"))
    assert len(cached) == 1


def test_a_borough_is_generated_once(tmp_path: Path) -> None:
    messages: list[str] = []
    first = borough(
        tmp_path,
        residents=300,
        years=1,
        seed=2,
        as_of=date(2026, 3, 31),
        log=messages.append,
    )
    again = borough(tmp_path, residents=300, years=1, seed=2, as_of=first.as_of, log=messages.append)
    assert first.rows == again.rows > 0
    assert messages[0].startswith("Generating")
    assert messages[1].startswith("Reusing")
