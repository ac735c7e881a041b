"""Per-person features read off the person-household-service graph.

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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import networkx as nx
import polars as pl

from early_warning.paths import RunPaths, write_frame
from features.graph.addresses import UNKNOWN_LOCALITY, person_addresses
from features.graph.build import graphs_by_partition, partitions, person_contacts


@dataclass(frozen=True)
class _Contact:
    """What one person's service edges say: which services, and whether any is an ASB report."""

    services: frozenset[str]
    asb: bool

    @classmethod
    def of(cls, graph: nx.Graph, person: tuple[str, str]) -> _Contact:
        edges = [(other[1], d) for other, d in graph[person].items() if d["kind"] == "contacted"]
        return cls(frozenset(s for s, _ in edges), any(d["asb_reports"] > 0 for _, d in edges))


@dataclass
class _Household:
    """A household's members counted once: contacted any service, reported ASB, per service."""

    any: int = 0
    asb: int = 0
    services: dict[str, int] = field(default_factory=dict)

    def add(self, contact: _Contact) -> None:
        self.any += bool(contact.services)
        self.asb += contact.asb
        for service in contact.services:
            self.services[service] = self.services.get(service, 0) + 1


_NO_HOUSEHOLD = _Household()


def _person_rows(
    graph: nx.Graph, services: Sequence[str], locality_of: dict[str, str]
) -> list[dict[str, object]]:
    """One row per person node. Household figures count the *other* members, so each
    household is summed once and each member's own part taken off (linear in the
    graph's size, where asking every member about every other member is quadratic)."""
    people = [node for node, kind in graph.nodes(data="kind") if kind == "person"]
    contacts = {person: _Contact.of(graph, person) for person in people}
    households: dict[tuple[str, str], _Household] = {}
    for node in graph:
        if node[0] == "household":
            households[node] = total = _Household()
            for member in graph[node]:
                total.add(contacts[member])
    rows = []
    for node in people:
        neighbours = graph[node]
        household = next((other for other, d in neighbours.items() if d["kind"] == "member_of"), None)
        total = households[household] if household is not None else _NO_HOUSEHOLD
        own = contacts[node]
        in_household = household is not None
        row: dict[str, object] = {
            "person_id": node[1],
            "locality": locality_of.get(node[1], UNKNOWN_LOCALITY),
            "household_size": len(graph[household]) if in_household else 1,
            "household_contacts_any": total.any - (in_household and bool(own.services)),
            "household_asb_reporters": total.asb - (in_household and own.asb),
        }
        for service in services:
            mine = in_household and service in own.services
            row[f"household_contacts_{service}"] = total.services.get(service, 0) - mine
        addresses = sum(1 for d in neighbours.values() if d["kind"] == "lives_at" and d["recent"])
        row["addresses_last_year"] = addresses
        row["moves_last_year"] = max(addresses - 1, 0)
        row["component_persons"] = graph.nodes[node]["component_persons"]
        rows.append(row)
    return rows


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
    whole person-address components), one graph per partition, sorted by ``person_id``."""
    locality_of = dict(addresses.filter(pl.col("current")).select("person_id", "locality").iter_rows())
    rows: list[dict[str, object]] = []
    for _, graph in graphs_by_partition(parts, addresses, contacts):
        rows.extend(_person_rows(graph, services, locality_of))
    schema = feature_schema(services)
    return pl.DataFrame(rows, schema=schema).sort("person_id") if rows else pl.DataFrame(schema=schema)


def write_graph_features(features: pl.DataFrame, run: RunPaths) -> Path:
    """Write ``graph_features.parquet`` in the night's folder (replacing the night's file atomically)."""
    return write_frame(features, run.graph_features)
