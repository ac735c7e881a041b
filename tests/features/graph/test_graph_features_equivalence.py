"""On generated boroughs: the polars graph features equal the networkx build they replaced.

The oracle is the networkx path as it was (``tests/support/graph_reference.py``).
Boroughs differ in seed and size; persons come from the generator's truth
(every household as generated) or from Splink (with its mis-links, which join
households the truth keeps apart), and some people have every address struck
off their records. Each borough is checked to hold what the features are
about - households, moves, household members reporting anti-social
behaviour, people with no address, components spanning several addresses -
so the comparison cannot pass on a borough where every column is trivial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.graph import build_graph_features
from features.graph.addresses import UNKNOWN_LOCALITY, person_addresses
from features.graph.build import partitions, person_components, person_contacts
from features.graph.features import features_of_partitions
from features.ingest import ingest_extracts
from features.linkage import resolve_persons
from tests.support.graph_reference import reference_features_of_partitions

AS_OF = date(2026, 3, 31)
RECORD = ["source", "source_person_id"]
WINDOW_DAYS = 365


@dataclass(frozen=True)
class Night:
    persons: pl.DataFrame
    people: pl.DataFrame
    events: pl.DataFrame
    gazetteer: pl.DataFrame
    services: list[str]
    addresses: pl.DataFrame
    contacts: pl.DataFrame


def _night(root: Path, *, residents: int, seed: int, linked: bool) -> Night:
    generate_borough(root, residents=residents, years=2, as_of=AS_OF, seed=seed)
    run = RunPaths(home=root / "home", as_of=AS_OF)
    ingest_extracts(root / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    events = pl.read_parquet(run.canonical_events)
    gazetteer = pl.read_parquet(run.canonical_gazetteer)
    if linked:
        persons = resolve_persons(people, previous=None, as_of=AS_OF).persons
    else:
        truth = pl.read_parquet(root / "truth" / "person_records.parquet").filter("in_extract")
        persons = truth.select(
            (pl.lit("T") + pl.col("true_person_id").cast(pl.String)).alias("person_id"), *RECORD
        ).join(people.select(RECORD), on=RECORD, how="semi")
    # Strike every address off the records of about one person in twenty.
    homeless = persons.filter(pl.col("person_id").hash(seed) % 20 == 0).select(RECORD)
    struck = people.join(homeless.with_columns(_struck=pl.lit(True)), on=RECORD, how="left")
    people = struck.with_columns(
        pl.when(pl.col("_struck")).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("address", "postcode", "uprn")
    ).drop("_struck")
    addresses = person_addresses(persons, people, events, gazetteer, AS_OF, WINDOW_DAYS)
    return Night(
        persons=persons,
        people=people,
        events=events,
        gazetteer=gazetteer,
        services=sorted(people["source"].unique().to_list()),
        addresses=addresses,
        contacts=person_contacts(persons, events, AS_OF, WINDOW_DAYS),
    )


@pytest.fixture(
    scope="module",
    params=[(1_500, 11, False), (4_000, 5, False), (2_000, 3, True)],
    ids=["1500-seed11-truth", "4000-seed5-truth", "2000-seed3-splink"],
)
def night(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Night:
    residents, seed, linked = request.param
    return _night(tmp_path_factory.mktemp("graph_equivalence"), residents=residents, seed=seed, linked=linked)


def _both(night: Night, parts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    new = features_of_partitions(parts, night.addresses, night.contacts, night.services)
    old = reference_features_of_partitions(parts, night.addresses, night.contacts, night.services)
    return new, old


def test_the_borough_holds_every_case_the_features_count(night: Night) -> None:
    parts = partitions(night.persons["person_id"].unique(), night.addresses)
    features, _ = _both(night, parts)
    assert (features["household_size"] > 1).sum() > 100
    assert (features["moves_last_year"] > 0).sum() > 10
    assert (features["household_asb_reporters"] > 0).sum() > 0
    assert (features["household_contacts_any"] > 0).sum() > 100
    assert (features["component_persons"] > features["household_size"]).sum() > 0
    no_address = night.persons.join(night.addresses, on="person_id", how="anti")["person_id"].unique()
    assert no_address.len() > 10
    without = features.filter(pl.col("person_id").is_in(no_address.implode()))
    assert without["locality"].unique().to_list() == [UNKNOWN_LOCALITY]
    assert (without["household_size"] == 1).all()
    assert (without["component_persons"] == 1).all()


def test_per_locality_partitions_give_the_reference_frame(night: Night) -> None:
    parts = partitions(night.persons["person_id"].unique(), night.addresses)
    assert parts["partition"].n_unique() > 1
    new, old = _both(night, parts)
    assert_frame_equal(new, old)
    assert new.height == night.persons["person_id"].n_unique()


def test_one_partition_for_the_whole_borough_gives_the_reference_frame(night: Night) -> None:
    parts = pl.DataFrame({"person_id": night.persons["person_id"].unique(), "partition": "all"})
    assert_frame_equal(*_both(night, parts))


def test_a_rebuild_of_some_components_gives_the_reference_frame(night: Night) -> None:
    """As an incremental night rebuilds them: whole components, the rest of the borough left out."""
    person_ids = night.persons["person_id"].unique()
    labels = person_components(person_ids, night.addresses)
    chosen = labels["component"].unique().sort().gather_every(3)
    rebuild = labels.filter(pl.col("component").is_in(chosen.implode()))["person_id"]
    parts = partitions(rebuild, night.addresses.filter(pl.col("person_id").is_in(rebuild.implode())))
    new, old = _both(night, parts)
    assert 0 < new.height < person_ids.len()
    assert_frame_equal(new, old)


def test_partitions_that_cut_through_households_give_the_reference_frame(night: Night) -> None:
    """Each partition is read as its own graph, whatever it holds, as the networkx build read it."""
    person_ids = night.persons["person_id"].unique().sort()
    parts = pl.DataFrame({"person_id": person_ids, "partition": (pl.Series(range(person_ids.len())) % 7)})
    parts = parts.with_columns(pl.col("partition").cast(pl.String))
    assert_frame_equal(*_both(night, parts))


def test_build_graph_features_gives_the_reference_frame(night: Night) -> None:
    built = build_graph_features(night.persons, night.people, night.events, night.gazetteer, AS_OF)
    parts = partitions(night.persons["person_id"].unique(), night.addresses)
    reference = reference_features_of_partitions(parts, night.addresses, night.contacts, night.services)
    assert_frame_equal(built, reference)


def test_no_people_give_the_reference_frame(night: Night) -> None:
    parts = pl.DataFrame(schema={"person_id": pl.String(), "partition": pl.String()})
    new, old = _both(night, parts)
    assert new.is_empty()
    assert_frame_equal(new, old)
