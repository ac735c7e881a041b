"""The person-household-service graph: its locality partitions, and the graph itself.

The nightly features (:mod:`features.graph.features`) are computed from the
same rows with joins, without building this graph; :func:`build_graph` is
for whoever wants to walk it (the data team, an analysis), one partition at
a time. Nodes are tuples ``(kind, key)``: ``("person", person_id)``,
``("address", address_key)``, ``("household", address_key)`` and
``("service", source)``. Edges carry a ``kind``:

- ``lives_at`` person -> address, for every address the person's records
  hold (``current`` and ``recent`` flags, see :mod:`features.graph.addresses`);
- ``member_of`` person -> household, for the current address only: a
  household is the people whose current address is the same;
- ``contacted`` person -> service, for a service with events for the person
  in the window (``events``, ``asb_reports`` counts, ``last_event``).

Scale: networkx holds every node as a Python object, so a graph is built
per partition. A partition is a set of whole person-address components (found
cheaply in numpy, :func:`component_labels`) labelled with the
locality most of its people currently live in (``unknown`` if none), so a
per-partition build gives exactly the features of a whole-borough build and
partitions can run in parallel (the fan-out, and scoring, work through them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import networkx as nx
import numpy as np
import polars as pl

from features.graph.addresses import UNKNOWN_LOCALITY

#: Event types that are anti-social behaviour reports.
ASB_REPORT_TYPES: tuple[str, ...] = ("report_as_victim", "report_as_alleged", "noise_complaint")


def person_contacts(
    persons: pl.DataFrame, events: pl.DataFrame, as_of: date, window_days: int
) -> pl.DataFrame:
    """``person_id``, ``service``, ``events``, ``asb_reports``, ``last_event`` within the window."""
    since = as_of - timedelta(days=window_days)
    return (
        events.lazy()
        .filter((pl.col("event_date") <= as_of) & (pl.col("event_date") > since))
        .join(persons.lazy(), on=["source", "source_person_id"])
        .group_by("person_id", pl.col("source").alias("service"))
        .agg(
            pl.len().alias("events"),
            pl.col("event_type").is_in(ASB_REPORT_TYPES).sum().alias("asb_reports"),
            pl.col("event_date").max().alias("last_event"),
        )
        .sort("person_id", "service")
        .collect()
    )


def person_components(person_ids: pl.Series, addresses: pl.DataFrame) -> pl.DataFrame:
    """``person_id``, ``component``: a label shared by people linked through addresses they hold."""
    people = person_ids.unique().sort()
    keys = addresses["address_key"].unique().sort()
    node = pl.concat([people, keys]).to_frame("node").with_row_index("i")
    n_people = people.len()
    ends = (
        addresses.select("person_id", "address_key")
        .join(node.rename({"node": "person_id", "i": "a"}), on="person_id")
        .join(node.rename({"node": "address_key", "i": "b"}), on="address_key")
    )
    labels = component_labels(node.height, ends["a"].to_numpy(), ends["b"].to_numpy())
    return pl.DataFrame({"person_id": people, "component": labels[:n_people]})


def component_labels(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label nodes ``0..n-1`` by connected component: the smallest node id in each node's component.

    The labels of :func:`features.linkage.components.components`, without its
    Python loop over edges (about a second per 300,000 edges, paid on every
    partitioning): each round hooks every edge's larger label onto its smaller
    (min-label propagation, also through the labels' own nodes) and then
    shortens every chain of labels by pointer jumping, all in numpy. A label
    only ever falls to a smaller node of the same component, and the rounds
    stop when every edge joins equal labels and every label is its own, so
    each component ends labelled by its smallest node; the rounds needed grow
    with the logarithm of a component's size, not its length.
    """
    labels = np.arange(n, dtype=np.int64)
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while True:
        lowest = np.minimum(labels[left], labels[right])
        hooked = labels.copy()
        for ends in (left, right, labels[left], labels[right]):
            np.minimum.at(hooked, ends, lowest)
        while not np.array_equal(jumped := hooked[hooked], hooked):
            hooked = jumped
        if np.array_equal(hooked, labels):
            return labels
        labels = hooked


def partitions(person_ids: pl.Series, addresses: pl.DataFrame) -> pl.DataFrame:
    """``person_id``, ``partition``: whole person-address components grouped by locality."""
    person_component = person_components(person_ids, addresses)
    current = addresses.filter(pl.col("current") & (pl.col("locality") != UNKNOWN_LOCALITY))
    votes = (
        person_component.join(current.select("person_id", "locality"), on="person_id")
        .group_by("component", "locality")
        .len()
        .sort(["component", "len", "locality"], descending=[False, True, False])
        .group_by("component", maintain_order=True)
        .first()
        .select("component", pl.col("locality").alias("partition"))
    )
    return (
        person_component.join(votes, on="component", how="left")
        .with_columns(pl.col("partition").fill_null(UNKNOWN_LOCALITY))
        .select("person_id", "partition")
    )


def build_graph(person_ids: list[str], addresses: pl.DataFrame, contacts: pl.DataFrame) -> nx.Graph:
    """The graph of the given people (their addresses and contacts already filtered to them).

    Person nodes carry ``component_persons`` (see :func:`_count_component_persons`).
    """
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
    _count_component_persons(graph)
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


def _count_component_persons(graph: nx.Graph) -> None:
    """Give each person node ``component_persons``: the people in its person-address-household component.

    Counted before the service nodes are added (every service would connect
    everyone), on the graph itself rather than a filtered view of it, which
    networkx walks several times more slowly.
    """
    for component in nx.connected_components(graph):
        people = [node for node in component if node[0] == "person"]
        for node in people:
            graph.nodes[node]["component_persons"] = len(people)


def graphs_by_partition(
    parts: pl.DataFrame, addresses: pl.DataFrame, contacts: pl.DataFrame
) -> Iterator[tuple[str, nx.Graph]]:
    """Yield ``(partition, graph)`` for each partition, in name order."""
    for (partition,), members in parts.sort("partition", "person_id").group_by(
        "partition", maintain_order=True
    ):
        ids = members["person_id"]
        yield (
            str(partition),
            build_graph(
                ids.to_list(),
                addresses.filter(pl.col("person_id").is_in(ids.implode())),
                contacts.filter(pl.col("person_id").is_in(ids.implode())),
            ),
        )
