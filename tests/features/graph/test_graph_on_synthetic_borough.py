"""On a generated borough: the per-locality build gives the whole build's features."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.graph import build_graph_features, write_graph_features
from features.ingest import ingest_extracts
from features.linkage import resolve_persons

AS_OF = date(2026, 3, 31)


def test_per_locality_and_whole_builds_agree_on_a_borough(tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("graph_borough")
    generate_borough(out, residents=2_000, years=2, as_of=AS_OF, seed=3)
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    events = pl.read_parquet(run.canonical_events)
    gazetteer = pl.read_parquet(run.canonical_gazetteer)
    persons = resolve_persons(people, previous=None, as_of=AS_OF).persons

    by_locality = build_graph_features(persons, people, events, gazetteer, AS_OF)
    whole = build_graph_features(persons, people, events, gazetteer, AS_OF, by_partition=False)
    assert_frame_equal(by_locality, whole)
    assert by_locality.height == persons["person_id"].n_unique()
    assert by_locality["locality"].n_unique() > 1
    assert (by_locality["household_size"] > 1).any()
    path = write_graph_features(by_locality, run)
    assert_frame_equal(pl.read_parquet(path), by_locality)
