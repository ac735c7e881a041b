"""The graph features as they were computed before polars took over: the trusted oracle.

Until issue 18, ``features.graph.features`` built a networkx graph per
partition and read every column off it, one Python row per person. The
polars version (joins and group-bys) must give exactly the same frame, so
this frozen copy of the networkx path stays here, used only by
``tests/features/graph/test_graph_features_equivalence.py``. It is a copy
rather than an import of ``features.graph.build`` so that a later change to
the production graph cannot move the oracle with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import networkx as nx
import polars as pl

from features.graph.addresses import UNKNOWN_LOCALITY
from features.graph.features import feature_schema


def _build_graph(person_ids: list[str], addresses: pl.DataFrame, contacts: pl.DataFrame) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from((("person", p) for p in person_ids), kind="person")
    for person_id, key, recent, current in addresses.select(
        "person_id", "address_key", "recent", "current"
    ).iter_rows():
        graph.add_edge(
            ("person", person_id), ("address", key), kind="lives_at", recent=recent, current=current
        )
        if current:
            graph.add_edge(("person", person_id), ("household", key), kind="member_of")
    for component in nx.connected_components(graph):
        people = [node for node in component if node[0] == "person"]
        for node in people:
            graph.nodes[node]["component_persons"] = len(people)
    for person_id, service, n_events, asb, last in contacts.select(
        "person_id", "service", "events", "asb_reports", "last_event"
    ).iter_rows():
        graph.add_edge(
            ("person", person_id),
            ("service", service),
            kind="contacted",
            events=n_events,
            asb_reports=asb,
            last_event=last,
        )
    return graph


def _graphs_by_partition(
    parts: pl.DataFrame, addresses: pl.DataFrame, contacts: pl.DataFrame
) -> Iterator[nx.Graph]:
    for _, members in parts.sort("partition", "person_id").group_by("partition", maintain_order=True):
        ids = members["person_id"]
        yield _build_graph(
            ids.to_list(),
            addresses.filter(pl.col("person_id").is_in(ids.implode())),
            contacts.filter(pl.col("person_id").is_in(ids.implode())),
        )


@dataclass(frozen=True)
class _Contact:
    services: frozenset[str]
    asb: bool

    @classmethod
    def of(cls, graph: nx.Graph, person: tuple[str, str]) -> _Contact:
        edges = [(other[1], d) for other, d in graph[person].items() if d["kind"] == "contacted"]
        return cls(frozenset(s for s, _ in edges), any(d["asb_reports"] > 0 for _, d in edges))


@dataclass
class _Household:
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


def reference_features_of_partitions(
    parts: pl.DataFrame, addresses: pl.DataFrame, contacts: pl.DataFrame, services: Sequence[str]
) -> pl.DataFrame:
    """What ``features.graph.features.features_of_partitions`` returned before issue 18."""
    locality_of = dict(addresses.filter(pl.col("current")).select("person_id", "locality").iter_rows())
    rows: list[dict[str, object]] = []
    for graph in _graphs_by_partition(parts, addresses, contacts):
        rows.extend(_person_rows(graph, services, locality_of))
    schema = feature_schema(services)
    return pl.DataFrame(rows, schema=schema).sort("person_id") if rows else pl.DataFrame(schema=schema)
