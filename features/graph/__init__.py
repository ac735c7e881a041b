"""The person-household-service graph and its per-person features.

A flow needs only::

    features = build_graph_features(persons, people, events, gazetteer, as_of)
    write_graph_features(features, run)

The features are joins and group-bys in polars (``features``); the graph as
a networkx object (``build_graph``, one locality partition at a time) is for
whoever wants to walk it, such as the data team. See ``build`` for the
locality partitions and why they give a whole-borough build's results,
``addresses`` for what "current address" and "moves" can and cannot mean,
``gazetteer_match`` for how a record's address is placed on the gazetteer,
``best_record`` for which record a person's address (and, on a case file,
name) is taken from, and ``features`` for each column.
"""

from features.graph.build import build_graph
from features.graph.features import build_graph_features, write_graph_features

__all__ = ["build_graph", "build_graph_features", "write_graph_features"]
