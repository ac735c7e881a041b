"""Incremental nights: reusing last night's features gives exactly tonight's fresh features.

A borough is generated once; "last night" is the same extracts read a few
days earlier (later events are not yet visible), with some people's
addresses different (they moved since) and some old events missing (they
arrived late). Tonight's incremental graph and person features must equal a
fresh computation, row for row, and must actually have reused most people.
If a feature gains a window that :func:`catalogue.age_cuts` does not
declare, the person-features comparison fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from early_warning.config import Config, load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.graph.incremental import graph_night, graph_window_cut
from features.incremental import night_changes, record_fingerprints
from features.ingest import ingest_extracts
from features.linkage import resolve_persons
from features.person_features import build_person_features
from features.person_features import catalogue as cat
from features.person_features.incremental import incremental_person_features, sample_matches

AS_OF = date(2026, 3, 31)
WINDOW = 365


@dataclass
class Night:
    as_of: date
    people: pl.DataFrame
    events: pl.DataFrame
    persons: pl.DataFrame


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    out = tmp_path_factory.mktemp("incremental_borough")
    generate_borough(out, residents=3_000, years=2, as_of=AS_OF, seed=11)
    run = RunPaths(home=out / "home", as_of=AS_OF)
    ingest_extracts(out / "extracts", AS_OF, run, load_config())
    return (
        pl.read_parquet(run.canonical_people),
        pl.read_parquet(run.canonical_events),
        pl.read_parquet(run.canonical_gazetteer),
    )


def _last_night(
    people: pl.DataFrame, events: pl.DataFrame, before: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The extracts as they stood ``before``: later events unseen, some people elsewhere, some events late."""
    with_address = people.filter(pl.col("address").is_not_null())
    movers = with_address.select("source", "source_person_id").head(40)
    earlier_people = people.join(
        movers.with_columns(moved=pl.lit(True)), on=["source", "source_person_id"], how="left"
    )
    earlier_people = earlier_people.with_columns(
        address=pl.when(pl.col("moved")).then(pl.lit("1 Old Lodge Lane")).otherwise(pl.col("address"))
    ).drop("moved")
    visible = events.filter(pl.col("event_date") <= before)
    late = visible.filter(pl.col("event_date") < before - timedelta(days=200)).sample(n=30, seed=5)
    return earlier_people, visible.join(late, on=list(events.columns), how="anti")


def _night(people: pl.DataFrame, events: pl.DataFrame, as_of: date, previous: Night | None) -> Night:
    persons = resolve_persons(people, previous=previous.persons if previous else None, as_of=as_of).persons
    return Night(as_of, people, events, persons)


@pytest.fixture(scope="module", params=[1, 3], ids=["a day later", "three days later"])
def two_nights(request: pytest.FixtureRequest, canonical: tuple[pl.DataFrame, ...]) -> tuple[Night, Night]:
    people, events, _ = canonical
    before = AS_OF - timedelta(days=request.param)
    old_people, old_events = _last_night(people, events, before)
    last = _night(old_people, old_events, before, None)
    return last, _night(people, events, AS_OF, last)


def _changes(last: Night, tonight: Night, cuts: tuple[int, ...]):  # type: ignore[no-untyped-def]
    return night_changes(
        fingerprints=record_fingerprints(tonight.people.lazy(), tonight.events.lazy()),
        previous_fingerprints=record_fingerprints(last.people.lazy(), last.events.lazy()),
        persons=tonight.persons,
        previous_persons=last.persons,
        events=tonight.events.lazy(),
        cuts=cuts,
        before=last.as_of,
        now=tonight.as_of,
    )


def _features(night: Night, config: Config, graph: pl.DataFrame) -> pl.DataFrame:
    return build_person_features(
        night.events.lazy(),
        night.persons.lazy(),
        night.as_of,
        config,
        graph_features=graph.drop("locality").lazy(),
    ).collect()


def test_incremental_graph_and_person_features_equal_fresh(
    two_nights: tuple[Night, Night], canonical: tuple[pl.DataFrame, ...]
) -> None:
    last, tonight = two_nights
    gazetteer = canonical[2]
    config = load_config()
    services = sorted(tonight.people["source"].unique().to_list())

    graph_last = graph_night(last.persons, last.people, last.events, gazetteer, last.as_of, services=services)
    graph_fresh = graph_night(
        tonight.persons, tonight.people, tonight.events, gazetteer, AS_OF, services=services
    )
    graph_changes = _changes(last, tonight, (graph_window_cut(WINDOW),))
    graph_incremental = graph_night(
        tonight.persons,
        tonight.people,
        tonight.events,
        gazetteer,
        AS_OF,
        services=services,
        previous=graph_last.features,
        previous_addresses=graph_last.addresses,
        changed_now=graph_changes.now,
        changed_before=graph_changes.before,
    )
    assert_frame_equal(graph_incremental.features, graph_fresh.features)
    assert graph_incremental.reused > graph_incremental.recomputed > 0

    fresh = _features(tonight, config, graph_fresh.features)
    incremental = incremental_person_features(
        tonight.events.lazy(),
        tonight.persons,
        AS_OF,
        config,
        previous=_features(last, config, graph_last.features),
        previous_as_of=last.as_of,
        changed=_changes(last, tonight, cat.age_cuts()).now,
        graph_features=graph_incremental.features.drop("locality").lazy(),
    )
    assert_frame_equal(incremental.table, fresh)
    assert incremental.reused > incremental.recomputed > 0


def test_an_undeclared_window_is_caught(two_nights: tuple[Night, Night]) -> None:
    """Leaving a cut out of the declared list makes reused rows wrong, and the sample check sees it."""
    last, tonight = two_nights
    config = load_config()
    missing = tuple(c for c in cat.age_cuts() if c != 30)
    previous = build_person_features(last.events.lazy(), last.persons.lazy(), last.as_of, config).collect()
    wrong = incremental_person_features(
        tonight.events.lazy(),
        tonight.persons,
        AS_OF,
        config,
        previous=previous,
        previous_as_of=last.as_of,
        changed=_changes(last, tonight, missing).now,
    )
    fresh = build_person_features(tonight.events.lazy(), tonight.persons.lazy(), AS_OF, config).collect()
    assert not wrong.table.equals(fresh)
    everyone = tonight.persons["person_id"].unique()
    assert not sample_matches(wrong.table, tonight.events.lazy(), tonight.persons, AS_OF, config, everyone)
    assert sample_matches(fresh, tonight.events.lazy(), tonight.persons, AS_OF, config, everyone)


def test_fingerprints_ignore_row_positions(canonical: tuple[pl.DataFrame, ...]) -> None:
    people, events, _ = canonical
    shifted = events.with_columns(pl.col("row_number") + 7)
    assert_frame_equal(
        record_fingerprints(people.lazy(), events.lazy()), record_fingerprints(people.lazy(), shifted.lazy())
    )
    edited = events.with_columns(
        amount=pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("amount").fill_null(0) + 1)
        .otherwise(pl.col("amount"))
    )
    before = record_fingerprints(people.lazy(), events.lazy())
    after = record_fingerprints(people.lazy(), edited.lazy())
    assert (
        before.join(
            after,
            on=["source", "source_person_id", "people_hash", "events_hash"],
            how="anti",
            nulls_equal=True,
        ).height
        == 1
    )
