"""The person-household-service graph (networkx) and the features read off it.

A flow needs only::

    features = build_graph_features(persons, people, events, gazetteer, as_of)
    write_graph_features(features, run)

The graph is built per locality partition so a borough of a million people
fits in memory; see ``build`` for how partitions keep results identical to a
whole-borough build, ``addresses`` for what "current address" and "moves"
can and cannot mean, ``gazetteer_match`` for how a record's address is
placed on the gazetteer, ``best_record`` for which record a person's address
(and, on a case file, name) is taken from, and ``features`` for each column.
"""

from features.graph.build import build_graph
from features.graph.features import build_graph_features, write_graph_features

__all__ = ["build_graph", "build_graph_features", "write_graph_features"]
