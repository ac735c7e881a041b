"""Vectorised component labels checked against networkx and the linkage's union-find."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from features.graph.build import component_labels
from features.linkage.components import components


def _networkx_labels(n: int, left: list[int], right: list[int]) -> np.ndarray:
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(left, right, strict=True))
    expected = np.empty(n, dtype=np.int64)
    for component in nx.connected_components(graph):
        expected[list(component)] = min(component)
    return expected


@pytest.mark.parametrize("seed", range(30))
def test_labels_match_networkx_and_union_find_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 400)
    m = rng.randint(0, 2 * n)
    left = [rng.randrange(n) for _ in range(m)]
    right = [rng.randrange(n) for _ in range(m)]
    labels = component_labels(n, np.array(left, dtype=np.int64), np.array(right, dtype=np.int64))
    assert labels.dtype == np.int64
    assert np.array_equal(labels, _networkx_labels(n, left, right))
    assert np.array_equal(labels, components(n, left, right)[0])


@pytest.mark.parametrize("seed", range(5))
def test_long_chains_in_shuffled_order_are_one_component(seed: int) -> None:
    """A path through every node, numbered at random: the worst case for label propagation."""
    rng = random.Random(seed)
    n = 5_000
    order = list(range(n))
    rng.shuffle(order)
    left, right = order[:-1], order[1:]
    labels = component_labels(n, np.array(left), np.array(right))
    assert (labels == 0).all()
    # and two chains stay apart
    half = n // 2
    cut = [i for i in range(n - 1) if i != half]
    labels = component_labels(n, np.array([left[i] for i in cut]), np.array([right[i] for i in cut]))
    assert np.array_equal(labels, _networkx_labels(n, [left[i] for i in cut], [right[i] for i in cut]))
    assert len(set(labels.tolist())) == 2


def test_no_edges_and_no_nodes() -> None:
    empty = np.array([], dtype=np.int64)
    assert component_labels(4, empty, empty).tolist() == [0, 1, 2, 3]
    assert component_labels(0, empty, empty).tolist() == []
