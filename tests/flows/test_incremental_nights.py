"""Incremental nights through the stages: a night after a night gives what a fresh night gives.

Two homes run the same night on the same extracts; one ran the night two
days before first and so reuses graph and person features. Every output the
later stages read must be the same frame. If the reused rows are wrong (here:
last night's file tampered with), the sample check notices and the stage
recomputes everyone, saying so in ``reuse.json``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows import stages
from flows.reuse import read_reuse
from tests.flows.conftest import AS_OF

NIGHT = date.fromisoformat(AS_OF)
BEFORE = NIGHT - timedelta(days=2)
OUTPUTS = ("graph_features.parquet", "localities.parquet", "partitions.parquet", "features.parquet")


def _run(extracts: Path, home: Path, as_of: date, config_dir: Path | None = None) -> stages.Night:
    night = stages.Night.load(home, as_of, config_dir)
    stages.ingest_stage(night, extracts)
    stages.link_stage(night)
    stages.graph_stage(night)
    stages.features_stage(night)
    return night


@pytest.fixture(scope="module")
def fresh(small_borough: Path, tmp_path_factory: pytest.TempPathFactory) -> stages.Night:
    return _run(small_borough / "extracts", tmp_path_factory.mktemp("fresh"), NIGHT)


def test_a_night_after_a_night_reuses_and_matches_a_fresh_night(
    small_borough: Path, fresh: stages.Night, tmp_path: Path
) -> None:
    _run(small_borough / "extracts", tmp_path, BEFORE)
    night = _run(small_borough / "extracts", tmp_path, NIGHT)
    reuse = read_reuse(night.run)
    for stage in ("graph", "features"):
        assert reuse[stage]["from"] == BEFORE.isoformat()
        assert reuse[stage]["reused"] > reuse[stage]["recomputed"] > 0
    assert read_reuse(fresh.run)["features"]["from"] is None
    assert reuse["link"]["model"] == "reused"
    assert reuse["link"]["trained_on"] == BEFORE.isoformat()
    assert read_reuse(fresh.run)["link"]["model"] == "trained tonight"
    for name in OUTPUTS:
        assert_frame_equal(pl.read_parquet(night.run.root / name), pl.read_parquet(fresh.run.root / name))


def test_wrong_reused_rows_are_caught_and_everyone_recomputed(
    small_borough: Path, fresh: stages.Night, tmp_path: Path
) -> None:
    before = _run(small_borough / "extracts", tmp_path, BEFORE)
    path = before.run.root / "features.parquet"
    tampered = pl.read_parquet(path).with_columns(pl.col("signals_365d_total") + 1)
    tampered.write_parquet(path)
    night = _run(small_borough / "extracts", tmp_path, NIGHT)
    reuse = read_reuse(night.run)["features"]
    assert reuse["fell_back_from"] == BEFORE.isoformat()
    assert reuse["reused"] == 0
    assert_frame_equal(
        pl.read_parquet(night.run.root / "features.parquet"),
        pl.read_parquet(fresh.run.root / "features.parquet"),
    )


def test_a_changed_configuration_means_nothing_is_reused(small_borough: Path, tmp_path: Path) -> None:
    _run(small_borough / "extracts", tmp_path, BEFORE)
    (tmp_path / "runs" / BEFORE.isoformat() / "reuse.json").write_text('{"config": "another"}')
    night = _run(small_borough / "extracts", tmp_path, NIGHT)
    reuse = read_reuse(night.run)
    assert reuse["graph"]["from"] is None
    assert reuse["features"]["from"] is None


def test_the_linkage_model_is_retrained_when_too_old(small_borough: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "linkage.yaml").write_text("retrain_after_days: 2\n")
    _run(small_borough / "extracts", tmp_path / "home", BEFORE - timedelta(days=1), config)
    a_day_later = _run(small_borough / "extracts", tmp_path / "home", BEFORE, config)
    assert read_reuse(a_day_later.run)["link"]["model"] == "reused"
    two_days_later = _run(small_borough / "extracts", tmp_path / "home", NIGHT, config)
    link = read_reuse(two_days_later.run)["link"]
    assert link["model"] == "trained tonight"
    assert "days ago" in link["reason"]


def test_the_run_summary_says_what_was_reused() -> None:
    from flows.report import NightlyOutcome

    outcome = NightlyOutcome.from_dict(
        {
            "link": {"model": "reused"},
            "graph": {"reuse": {"from": "2026-06-28", "reused": 1200, "recomputed": 30}},
            "features": {
                "reuse": {"from": None, "fell_back_from": "2026-06-28", "reused": 0, "recomputed": 9}
            },
        }
    )
    assert outcome.reused == (
        "Reused: linkage model reused; graph: 1,200 people reused from 2026-06-28, 30 recomputed; "
        "features: reuse from 2026-06-28 failed its check; all recomputed."
    )
