"""Connected components by union-find, for linkage clusters and the graph.

networkx builds a Python object per node and per edge, which costs seconds
and gigabytes at a million records; linkage only needs the labels, so it uses
this small union-find over integer ids instead. It is checked against
networkx on seeded random graphs (``tests/features/linkage/test_components.py``),
the same way Splink checks its own connected components.

Edges are processed in the order given, and :func:`components` reports which
edges joined two components. Given edges sorted by weight, strongest first,
those edges are a maximum spanning forest (Kruskal): the strongest chain of
pairs that holds each cluster together, which is what the match evidence shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class UnionFind:
    """Disjoint sets over ``0..n-1`` with union by size and path halving."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Join the sets of ``a`` and ``b``; False if they were already one set."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return True


def components(n: int, left: Sequence[int], right: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Label nodes ``0..n-1`` by connected component.

    Args:
        n: number of nodes; every node gets a label, isolated ones their own.
        left, right: edge end points, processed in this order.

    Returns:
        ``(labels, joined)``: ``labels[i]`` is the smallest node id in node
        ``i``'s component (so labels do not depend on edge order), and
        ``joined[k]`` says whether edge ``k`` joined two components.
    """
    uf = UnionFind(n)
    joined = np.fromiter(
        (uf.union(a, b) for a, b in zip(left, right, strict=True)), dtype=bool, count=len(left)
    )
    roots = np.fromiter((uf.find(i) for i in range(n)), dtype=np.int64, count=n)
    smallest = np.full(n, n, dtype=np.int64)
    np.minimum.at(smallest, roots, np.arange(n, dtype=np.int64))
    return smallest[roots], joined
