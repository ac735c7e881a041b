"""Per-person features read off the person-household-service graph.

For each person (``person_id``; no other identifier):

- ``locality``: of the current address, or "unknown";
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

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl

from features.graph.addresses import UNKNOWN_LOCALITY, person_addresses
from features.graph.build import graphs_by_partition, partitions, person_contacts


def _person_rows(
    graph: nx.Graph, services: Sequence[str], locality_of: dict[str, str]
) -> list[dict[str, object]]:
    without_services = nx.subgraph_view(graph, filter_node=lambda node: node[0] != "service")
    persons_in: dict[tuple[str, str], int] = {}
    for component in nx.connected_components(without_services):
        count = sum(1 for node in component if node[0] == "person")
        persons_in.update(dict.fromkeys(component, count))

    def contacted(person: tuple[str, str]) -> dict[str, dict[str, Any]]:
        return {other[1]: data for other, data in graph[person].items() if data["kind"] == "contacted"}

    rows = []
    for node, kind in graph.nodes(data="kind"):
        if kind != "person":
            continue
        neighbours = graph[node]
        household = next((other for other, d in neighbours.items() if d["kind"] == "member_of"), None)
        members = [m for m in graph[household] if m != node] if household is not None else []
        member_contacts = [contacted(m) for m in members]
        row: dict[str, object] = {
            "person_id": node[1],
            "locality": locality_of.get(node[1], UNKNOWN_LOCALITY),
            "household_size": len(members) + 1,
            "household_contacts_any": sum(1 for c in member_contacts if c),
            "household_asb_reporters": sum(
                1 for c in member_contacts if any(d["asb_reports"] > 0 for d in c.values())
            ),
        }
        for service in services:
            row[f"household_contacts_{service}"] = sum(1 for c in member_contacts if service in c)
        addresses = sum(1 for d in neighbours.values() if d["kind"] == "lives_at" and d["recent"])
        row["addresses_last_year"] = addresses
        row["moves_last_year"] = max(addresses - 1, 0)
        row["component_persons"] = persons_in[node]
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

    Example:
        >>> build_graph_features(persons, people, events, gazetteer, date(2026, 11, 22))  # doctest: +SKIP
    """
    services = sorted(people["source"].unique().to_list()) if services is None else list(services)
    addresses = person_addresses(persons, people, events, gazetteer, as_of, window_days)
    contacts = person_contacts(persons, events, as_of, window_days)
    person_ids = persons["person_id"].unique()
    locality_of = dict(addresses.filter(pl.col("current")).select("person_id", "locality").iter_rows())
    if by_partition:
        parts = partitions(person_ids, addresses)
    else:
        parts = pl.DataFrame({"person_id": person_ids, "partition": "all"})
    rows: list[dict[str, object]] = []
    for _, graph in graphs_by_partition(parts, addresses, contacts):
        rows.extend(_person_rows(graph, services, locality_of))
    schema = feature_schema(services)
    return pl.DataFrame(rows, schema=schema).sort("person_id") if rows else pl.DataFrame(schema=schema)


GRAPH_FEATURES_FILE = "graph_features.parquet"


def write_graph_features(features: pl.DataFrame, run_root: str | Path) -> Path:
    """Write ``graph_features.parquet`` under the run's folder (replacing the night's file)."""
    path = Path(run_root) / GRAPH_FEATURES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    features.write_parquet(tmp)
    tmp.replace(path)
    return path
