"""Per-person features of the person-household-service graph, computed as joins.

Every column below is a join or a group-by over the person-address rows and
the service contacts (polars, no Python object per node); only
``component_persons`` needs connectivity, found by vectorised label propagation
(:func:`features.graph.build.component_labels`). The networkx graph itself
(:func:`features.graph.build.build_graph`) is built only for whoever wants
to walk it. The frame equals what reading each column off the networkx graph
gave (``tests/features/graph/test_graph_features_equivalence.py``).

For each person (``person_id``; no other identifier):

- ``locality``: of the current address (taken from the person's most reliable
  record, :mod:`features.graph.best_record`), or "unknown" when no record
  places them;
- ``household_size``: people whose current address is the person's (1 when
  the person has no known address);
- ``household_contacts_<service>``: *other* household members with events
  in that service in the window, and ``household_contacts_any`` across all;
- ``household_asb_reporters``: other household members with anti-social
  behaviour reports (victim, alleged, noise) in the window;
- ``addresses_last_year``: distinct addresses on the person's records that
  were active in the window, and ``moves_last_year`` = that minus one (at
  least 0) - an upper bound on moves, see :mod:`features.graph.addresses`;
- ``component_persons``: people in the person's connected component of the
  person-address-household graph (services excluded: every service would
  connect everyone) - a family spread over several addresses shows up here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import polars as pl

from early_warning.paths import RunPaths, write_frame
from features.graph.addresses import UNKNOWN_LOCALITY, person_addresses
from features.graph.build import component_labels, partitions, person_contacts


def feature_schema(services: Sequence[str]) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {
        "person_id": pl.String(),
        "locality": pl.String(),
        "household_size": pl.Int64(),
        "household_contacts_any": pl.Int64(),
        "household_asb_reporters": pl.Int64(),
    }
    schema |= {f"household_contacts_{s}": pl.Int64() for s in services}
    schema |= {
        "addresses_last_year": pl.Int64(),
        "moves_last_year": pl.Int64(),
        "component_persons": pl.Int64(),
    }
    return schema


def build_graph_features(
    persons: pl.DataFrame,
    people: pl.DataFrame,
    events: pl.DataFrame,
    gazetteer: pl.DataFrame,
    as_of: date,
    *,
    services: Sequence[str] | None = None,
    window_days: int = 365,
    by_partition: bool = True,
    reliability: Mapping[str, int] | None = None,
) -> pl.DataFrame:
    """Graph features for every person, one row each, sorted by ``person_id``.

    Args:
        persons: ``person_id``, ``source``, ``source_person_id`` (linkage output).
        people, events, gazetteer: the night's canonical frames (``features.schema``).
        as_of: the night; no event after it is read.
        services: the services to count household contacts for (column
            names follow); default: every source in ``people``, sorted.
        window_days: how far back "in contact" and "recent" look.
        by_partition: build one graph per locality partition (the default) or
            one graph for the whole borough; the features are the same.
        reliability: each source's reliability rank, which decides the current
            address (:mod:`features.graph.best_record`); default: the default
            configuration's ``sources.yaml``.

    Example:
        >>> build_graph_features(persons, people, events, gazetteer, date(2026, 11, 22))  # doctest: +SKIP
    """
    services = sorted(people["source"].unique().to_list()) if services is None else list(services)
    addresses = person_addresses(
        persons, people, events, gazetteer, as_of, window_days, reliability=reliability
    )
    contacts = person_contacts(persons, events, as_of, window_days)
    person_ids = persons["person_id"].unique()
    if by_partition:
        parts = partitions(person_ids, addresses)
    else:
        parts = pl.DataFrame({"person_id": person_ids, "partition": "all"})
    return features_of_partitions(parts, addresses, contacts, services)


def features_of_partitions(
    parts: pl.DataFrame, addresses: pl.DataFrame, contacts: pl.DataFrame, services: Sequence[str]
) -> pl.DataFrame:
    """Graph features of the people in ``parts`` (``person_id``, ``partition``; each partition
    whole person-address components), sorted by ``person_id``.

    Every column is a join or a group-by: a household is the people of one partition
    whose current address is the same key, so its figures are sums over that group
    less the person's own part. Only ``component_persons`` needs the graph's
    connectivity, and that is labelling components of the person-address edges
    (:func:`_component_persons`). A partition is read as its own graph, as the
    networkx build read it (``tests/support/graph_reference.py`` keeps that build,
    and a test holds the two equal on generated boroughs).
    """
    schema = feature_schema(services)
    people = parts.select("person_id", "partition")
    held = addresses.join(people, on="person_id")
    flags = ["_any", "_asb", *(f"_service_{i}" for i in range(len(services)))]
    contacted = (
        contacts.join(people, on="person_id", how="semi")
        .group_by("person_id")
        .agg(
            pl.len().gt(0).alias("_any"),
            pl.col("asb_reports").gt(0).any().alias("_asb"),
            *(pl.col("service").eq(s).any().alias(f"_service_{i}") for i, s in enumerate(services)),
        )
    )
    recent = held.group_by("person_id").agg(pl.col("recent").sum().alias("addresses_last_year"))
    current = held.filter(pl.col("current")).select("person_id", "address_key", "locality")
    in_household = pl.col("address_key").is_not_null()
    household = ["partition", "address_key"]

    def others(flag: str) -> pl.Expr:
        """Members of the person's household, the person excluded, for whom ``flag`` holds."""
        flag_count = pl.col(flag).cast(pl.Int64)
        return pl.when(in_household).then(flag_count.sum().over(household) - flag_count).otherwise(0)

    table = (
        people.join(contacted, on="person_id", how="left")
        .with_columns(pl.col(flags).fill_null(False))
        .join(current, on="person_id", how="left")
        .join(recent, on="person_id", how="left")
        .join(_component_persons(people, held), on="person_id", how="left")
        .with_columns(pl.col("addresses_last_year").fill_null(0).cast(pl.Int64))
        .select(
            "person_id",
            pl.col("locality").fill_null(UNKNOWN_LOCALITY),
            pl.when(in_household).then(pl.len().over(household)).otherwise(1).alias("household_size"),
            others("_any").alias("household_contacts_any"),
            others("_asb").alias("household_asb_reporters"),
            *(others(f"_service_{i}").alias(f"household_contacts_{s}") for i, s in enumerate(services)),
            "addresses_last_year",
            (pl.col("addresses_last_year") - 1).clip(lower_bound=0).alias("moves_last_year"),
            "component_persons",
        )
    )
    return table.select(pl.col(name).cast(dtype) for name, dtype in schema.items()).sort("person_id")


def _component_persons(people: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """``person_id``, ``component_persons``: the people in the person's connected component
    of the person-address graph of their partition (1 for a person holding no address).

    Households add no edges of their own (a household's members all hold its
    address), and services are left out (every service would connect everyone).
    An address is a node per partition, as in a graph built per partition.
    """
    person_index = people.select("person_id").with_row_index("_person")
    address_index = (
        held.select("partition", "address_key").unique().with_row_index("_address", offset=people.height)
    )
    ends = held.join(person_index, on="person_id").join(address_index, on=["partition", "address_key"])
    labels = component_labels(
        people.height + address_index.height, ends["_person"].to_numpy(), ends["_address"].to_numpy()
    )
    return person_index.with_columns(pl.Series("_component", labels[: people.height])).select(
        "person_id", pl.len().over("_component").alias("component_persons")
    )


def write_graph_features(features: pl.DataFrame, run: RunPaths) -> Path:
    """Write ``graph_features.parquet`` in the night's folder (replacing the night's file atomically)."""
    return write_frame(features, run.graph_features)
