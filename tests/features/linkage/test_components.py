"""Union-find components checked against networkx on seeded random graphs."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from features.linkage.components import components


@pytest.mark.parametrize("seed", range(20))
def test_components_match_networkx_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 300)
    m = rng.randint(0, 2 * n)
    left = [rng.randrange(n) for _ in range(m)]
    right = [rng.randrange(n) for _ in range(m)]
    labels, joined = components(n, left, right)

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(left, right, strict=True))
    expected = np.empty(n, dtype=np.int64)
    for component in nx.connected_components(graph):
        expected[list(component)] = min(component)
    assert np.array_equal(labels, expected)
    # The joining edges form a spanning forest: n - (number of components) edges.
    assert joined.sum() == n - nx.number_connected_components(graph)


def test_labels_do_not_depend_on_edge_order() -> None:
    left, right = [3, 1, 4, 0], [1, 4, 2, 5]
    a, _ = components(6, left, right)
    b, _ = components(6, list(reversed(left)), list(reversed(right)))
    assert np.array_equal(a, b)
    assert a.tolist() == [0, 1, 1, 1, 1, 0]
