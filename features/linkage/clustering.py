"""Turn scored pairs into clusters of records, one cluster per person.

Thresholded connected components alone has two known failure modes in
council data, and each gets an explicit, documented guard:

1. **Households** (same surname and address, different person). A pair is
   never joined when the first names are *different* (not a typo, nickname,
   initial or swap; a similar name with another first letter, Karen and
   Darren, is different: measured on six tuning boroughs, no such pair above
   the threshold was one person and twelve were two), or the dates of birth are *different* (not a typo, a
   day/month swap or within a year), unless the two records share an NI or
   NHS number exactly. The model's weights already push such pairs down; this rule
   makes sure a shared phone, e-mail and address cannot outvote them.
2. **Conflicting identifiers.** A pair is never joined when both hold NI (or
   NHS) numbers differing by more than a one-character typo. Likewise two
   records of one source whose person ids the council trusts
   (``one_record_per_person`` in ``linkage.yaml``: a system that keeps one
   record per person, such as a social care case system) are never one
   person: their own system already says they are two.
3. **Chaining** (A joins B, B joins C, but A and C are clearly two people).
   After components are found, a cluster is re-clustered when
   (a) two of its records *conflict* in one of the senses above (different
   first names, different dates of birth - each unless they share an NI or
   NHS number - conflicting identifiers, or two records of one trusted
   source); or
   (b) it has four or more records and contains a pair weaker than
   ``bridge_min_probability``: any such pair that is a *bridge* (the only
   link between two groups of at least two records each) is cut.
   Re-clustering adds the cluster's pairs strongest first and skips any pair
   that would put two conflicting records in one cluster (Kruskal with
   cannot-link constraints), so the strongest evidence wins.

Dates of birth, NI and NHS numbers take part in rules 1-3 only when they are
*reliable* on the night: when the trained model says records of one person
disagree on them ("different" level m probability) less often than
``hard_rule_max_m`` (see :func:`reliable_comparisons`). A source that
re-keys or scrambles an identifier then weakens the model's weight for it
instead of splitting true persons. First names always take part: their
"different" m probability is fixed low on purpose (``features.linkage.model``).

4. **People's word** (:mod:`features.linkage.constraints`). A reviewer's
   cannot-link pair is a conflict like those in rule 3: a cluster holding
   both records is re-clustered, so they end up in different persons even
   when a third record chains them. A must-link pair is an edge stronger
   than any scored pair (never cut as a weak bridge, never vetoed), so it
   is joined first, unless a cannot-link forbids it.

Everything is deterministic: pairs are ordered by weight then ids, and a
cluster is labelled by its smallest record id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import networkx as nx
import numpy as np
import polars as pl

from features.linkage.components import UnionFind, components
from features.linkage.constraints import WHY_JOINED, WHY_KEPT_APART, RecordConstraints
from features.linkage.settings import LinkageSettings

_HARD_RULE_COMPARISONS = ("dob", "ni_number", "nhs_number")
_DIFFERENT = 0  # Splink's lowest comparison level: "else"
_EXACT_ID = 2  # NI/NHS: exact (2) > one character different (1) > different (0)


@dataclass
class Clustering:
    """Which cluster each record is in, and the pairs that hold clusters together.

    ``clusters``: ``unique_id``, ``cluster`` (the smallest ``unique_id`` in it).
    ``joining_pairs``: the scored pairs forming each cluster's strongest
    spanning tree (what the match evidence explains).
    ``stats``: counts of what the guards did.
    ``why``: ``unique_id``, ``why`` for each record a reviewer's constraint acted on.
    """

    clusters: pl.DataFrame
    joining_pairs: pl.DataFrame
    stats: dict[str, int] = field(default_factory=dict)
    why: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"unique_id": pl.Int64, "why": pl.String})
    )


def _level(column: str, pairs: pl.DataFrame) -> pl.Expr:
    return pl.col(column) if column in pairs.columns else pl.lit(None, dtype=pl.Int64)


def reliable_comparisons(model: dict[str, Any], max_m: float) -> frozenset[str]:
    """Comparisons whose "different" level has an m probability below ``max_m``.

    The m probability of "different" is the share of one person's record
    pairs that disagree on the value: below ``max_m`` a disagreement is
    strong enough to keep two records apart outright.
    """
    reliable = {"first_name"}
    for comparison in model.get("comparisons", []):
        name = comparison["output_column_name"]
        different = comparison["comparison_levels"][-1]
        m = different.get("m_probability")
        if name in _HARD_RULE_COMPARISONS and isinstance(m, float) and m < max_m:
            reliable.add(name)
    return frozenset(reliable)


def veto_expressions(pairs: pl.DataFrame, reliable: frozenset[str]) -> tuple[pl.Expr, pl.Expr]:
    """(household veto, conflicting identifier veto) as boolean expressions over pairs."""

    def is_level(name: str, value: int, *, only_if_reliable: bool = True) -> pl.Expr:
        if only_if_reliable and name not in reliable:
            return pl.lit(False)
        return (_level(f"gamma_{name}", pairs) == value).fill_null(False)

    shares_id = is_level("ni_number", _EXACT_ID, only_if_reliable=False) | is_level(
        "nhs_number", _EXACT_ID, only_if_reliable=False
    )
    different_person = is_level("first_name", _DIFFERENT) | is_level("dob", _DIFFERENT)
    conflicting_ids = is_level("ni_number", _DIFFERENT) | is_level("nhs_number", _DIFFERENT)
    return different_person & ~shares_id, conflicting_ids


_ID_CONFLICT_SQL = "(l.{c} <> r.{c} AND damerau_levenshtein(l.{c}, r.{c}) > 1)"
_CONFLICT_SQL = """
SELECT l.unique_id AS a, r.unique_id AS b
FROM members l JOIN members r ON l.cluster = r.cluster AND l.unique_id < r.unique_id
WHERE (
    (l.source = r.source AND l.source_trusted)
    OR {ni_conflict}
    OR {nhs_conflict}
    OR (
        NOT coalesce(l.ni_std = r.ni_std OR l.nhs_std = r.nhs_std, false)
        AND (
            ({dob_reliable} AND l.dob <> r.dob
             AND NOT (l.dob_y = r.dob_y AND l.dob_m = r.dob_d AND l.dob_d = r.dob_m)
             AND (CASE WHEN l.dob_y = r.dob_y THEN 1 ELSE 0 END + CASE WHEN l.dob_m = r.dob_m THEN 1 ELSE 0 END
                  + CASE WHEN l.dob_d = r.dob_d THEN 1 ELSE 0 END) < 2
             AND abs(l.dob_y - r.dob_y) > 1)
            OR (l.first_name_std <> r.first_name_std
                AND l.first_name_canon <> r.first_name_canon
                AND length(l.first_name_std) > 1 AND length(r.first_name_std) > 1
                AND l.first_name_std <> coalesce(r.last_name_std, '')
                AND r.first_name_std <> coalesce(l.last_name_std, '')
                AND (jaro_winkler_similarity(l.first_name_std, r.first_name_std) < 0.80
                     OR (l.first_initial <> r.first_initial
                         AND jaro_winkler_similarity(l.first_name_std, r.first_name_std) < 0.92)))
        )
    )
)
"""

_CONFLICT_COLUMNS = (
    "unique_id",
    "source",
    "ni_std",
    "nhs_std",
    "dob",
    "dob_y",
    "dob_m",
    "dob_d",
    "first_name_std",
    "first_name_canon",
    "first_initial",
    "last_name_std",
)


def _conflict_sql(reliable: frozenset[str]) -> str:
    return _CONFLICT_SQL.format(
        ni_conflict=_ID_CONFLICT_SQL.format(c="ni_std") if "ni_number" in reliable else "false",
        nhs_conflict=_ID_CONFLICT_SQL.format(c="nhs_std") if "nhs_number" in reliable else "false",
        dob_reliable="true" if "dob" in reliable else "false",
    )


def conflicting_members(
    prepared: pl.DataFrame,
    labels: np.ndarray,
    reliable: frozenset[str],
    threads: int,
    trusted_sources: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """Pairs of records (a < b) in one cluster of 3+ that must not be one person."""
    members = (
        prepared.select(_CONFLICT_COLUMNS)
        .with_columns(
            cluster=pl.Series(labels), source_trusted=pl.col("source").is_in(sorted(trusted_sources))
        )
        .filter(pl.len().over("cluster") >= 3)
    )
    if members.is_empty():
        return pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {int(threads)}")
        con.register("members", members.to_arrow())
        found = pl.from_arrow(con.sql(_conflict_sql(reliable)).to_arrow_table())
    finally:
        con.close()
    assert isinstance(found, pl.DataFrame)
    return found.cast({"a": pl.Int64, "b": pl.Int64})


def _weak_bridges(edges: list[tuple[int, int, int, float]], bridge_min: float) -> set[int]:
    """Edge indices of weak bridges joining two groups of 2+ records each."""
    graph = nx.Graph()
    for index, u, v, probability in edges:
        graph.add_edge(u, v, index=index, probability=probability)
    cut: set[int] = set()
    for u, v in nx.bridges(graph):
        data = graph.edges[u, v]
        if data["probability"] >= bridge_min:
            continue
        graph.remove_edge(u, v)
        smaller = min(len(nx.node_connected_component(graph, u)), len(nx.node_connected_component(graph, v)))
        graph.add_edge(u, v, **data)
        if smaller >= 2:
            cut.add(data["index"])
    return cut


def _recluster(
    nodes: list[int],
    edges: list[tuple[int, int, int, float]],
    cannot_link: dict[int, set[int]],
    cut: set[int],
) -> tuple[dict[int, int], list[int]]:
    """Kruskal with cannot-link constraints over edges already sorted strongest first."""
    local = {node: i for i, node in enumerate(nodes)}
    uf = UnionFind(len(nodes))
    members: dict[int, list[int]] = {i: [node] for i, node in enumerate(nodes)}
    tree: list[int] = []
    for index, u, v, _ in edges:
        if index in cut:
            continue
        ru, rv = uf.find(local[u]), uf.find(local[v])
        if ru == rv:
            continue
        if any(b in cannot_link.get(a, ()) for a in members[ru] for b in members[rv]):
            continue
        uf.union(ru, rv)
        root = uf.find(ru)
        merged = members.pop(ru if root == rv else rv)
        members[root].extend(merged)
        tree.append(index)
    labels = {}
    for group in members.values():
        smallest = min(group)
        labels.update(dict.fromkeys(group, smallest))
    return labels, tree


def _by_cluster(rows: Iterable[tuple[int, ...]], labels: np.ndarray) -> dict[int, list[tuple[int, ...]]]:
    grouped: dict[int, list[tuple[int, ...]]] = {}
    for row in rows:
        grouped.setdefault(int(labels[row[1]]), []).append(row)
    return grouped


def _reviewer_cannot_link(
    cannot_link: dict[int, set[int]], pairs: tuple[tuple[int, int], ...], labels: np.ndarray
) -> list[tuple[int, int]]:
    """Add the reviewers' cannot-link pairs that scoring put in one cluster; return those pairs."""
    applied = [(a, b) for a, b in pairs if labels[a] == labels[b]]
    for a, b in applied:
        cannot_link.setdefault(a, set()).add(b)
        cannot_link.setdefault(b, set()).add(a)
    return applied


def _constraint_outcome(
    applied: list[tuple[int, int]], must: tuple[tuple[int, int], ...], labels: np.ndarray
) -> tuple[dict[str, int], pl.DataFrame]:
    """Counts of what the reviewers' constraints did, and the ``why`` of each record they acted on."""
    joined = [(a, b) for a, b in must if labels[a] == labels[b]]
    why = {node: WHY_KEPT_APART for pair in applied for node in pair}
    for pair in joined:
        why.update(dict.fromkeys(pair, WHY_JOINED))
    stats = {
        "constraints_kept_apart": len(applied),
        "constraints_joined": len(joined),
        "constraints_must_link_blocked": len(must) - len(joined),
    }
    frame = pl.DataFrame(
        {"unique_id": list(why), "why": list(why.values())}, schema={"unique_id": pl.Int64, "why": pl.String}
    )
    return stats, frame.sort("unique_id")


def _same_trusted_source(edges: pl.DataFrame, prepared: pl.DataFrame, trusted: frozenset[str]) -> pl.Series:
    """Per pair: are both records from one source the council trusts to hold one record per person?

    ``unique_id`` is ``0..n-1`` (``prepare_people``), so each side's source is a positional look-up.
    """
    if not trusted or edges.is_empty():
        return pl.Series("_same_source", [False] * edges.height, dtype=pl.Boolean)
    sources = prepared["source"]
    left = sources.gather(edges["unique_id_l"])
    right = sources.gather(edges["unique_id_r"])
    return ((left == right) & left.is_in(sorted(trusted))).alias("_same_source")


def cluster_records(
    pairs: pl.DataFrame,
    prepared: pl.DataFrame,
    settings: LinkageSettings,
    reliable: frozenset[str] = frozenset({"first_name"}),
    constraints: RecordConstraints | None = None,
) -> Clustering:
    """Cluster records from pairs scored at or above the match threshold.

    Args:
        pairs: from :func:`features.linkage.splink_runner.score_pairs`.
        prepared: from :func:`features.linkage.prep.prepare_people` (``unique_id`` is ``0..n-1``).
        settings: the match threshold and bridge rule.
        reliable: comparisons that take part in the hard rules (:func:`reliable_comparisons`).
        constraints: reviewers' cannot-link and must-link pairs
            (:func:`features.linkage.constraints.constraints_on_records`).
    """
    constraints = constraints or RecordConstraints()
    must = constraints.must_link
    n = prepared.height
    household, conflicting = veto_expressions(pairs, reliable)
    trusted = frozenset(settings.one_record_per_person)
    edges = (
        pairs.filter(settings.is_match())
        .with_columns(household.alias("_household"), conflicting.alias("_conflict"))
        .sort(["match_weight", "unique_id_l", "unique_id_r"], descending=[True, False, False])
    )
    edges = edges.with_columns(_same_trusted_source(edges, prepared, trusted))
    stats = {
        "pairs_above_threshold": edges.height,
        "pairs_vetoed_household": int(edges["_household"].sum()),
        "pairs_vetoed_conflicting_ids": int((edges["_conflict"] & ~edges["_household"]).sum()),
        "pairs_vetoed_same_trusted_source": int(
            (edges["_same_source"] & ~edges["_household"] & ~edges["_conflict"]).sum()
        ),
    }
    edges = edges.filter(~pl.col("_household") & ~pl.col("_conflict") & ~pl.col("_same_source")).drop(
        "_household", "_conflict", "_same_source"
    )
    # Must-link pairs come first (stronger than any score), numbered 0..len(must)-1.
    edges = edges.with_row_index("_edge", offset=len(must))
    left = [a for a, _ in must] + edges["unique_id_l"].to_list()
    right = [b for _, b in must] + edges["unique_id_r"].to_list()
    labels, joined = components(n, left, right)

    conflicts = conflicting_members(prepared, labels, reliable, settings.duckdb_threads, trusted)
    cannot_link: dict[int, set[int]] = {}
    must_pairs = set(must)
    for a, b in conflicts.iter_rows():
        if (a, b) in must_pairs:  # a reviewer's must-link outweighs the automatic guards
            continue
        cannot_link.setdefault(a, set()).add(b)
        cannot_link.setdefault(b, set()).add(a)
    guarded = set(cannot_link)
    applied = _reviewer_cannot_link(cannot_link, constraints.cannot_link, labels)
    probabilities = [1.0] * len(must) + edges["match_probability"].to_list()
    edge_rows = list(zip(range(len(left)), left, right, probabilities, strict=True))
    sizes = np.bincount(labels, minlength=n)
    weak = {
        int(labels[u])
        for _, u, _, p in edge_rows
        if p < settings.bridge_min_probability and sizes[labels[u]] >= 4
    }
    suspicious = {int(labels[a]) for a in cannot_link} | weak

    in_tree = joined.copy()
    split_for_conflicts = bridges_cut = 0
    by_cluster = _by_cluster((row for row in edge_rows if int(labels[row[1]]) in suspicious), labels)
    for cluster, rows in sorted(by_cluster.items()):
        typed = [(int(i), int(u), int(v), float(p)) for i, u, v, p in rows]
        cut = _weak_bridges(typed, settings.bridge_min_probability) if cluster in weak else set()
        cut -= set(range(len(must)))
        nodes = sorted({node for _, u, v, _ in typed for node in (u, v)})
        new_labels, tree = _recluster(nodes, typed, cannot_link, cut)
        for i, *_ in typed:
            in_tree[i] = False
        in_tree[tree] = True
        for node, label in new_labels.items():
            labels[node] = label
        if len(set(new_labels.values())) > 1:
            bridges_cut += len(cut)
            split_for_conflicts += int(any(node in guarded for node in nodes))
    stats |= {"clusters_split_for_conflicts": split_for_conflicts, "weak_bridges_cut": bridges_cut}
    constraint_stats, why = _constraint_outcome(applied, must, labels)

    clusters = pl.DataFrame(
        {"unique_id": prepared["unique_id"], "cluster": pl.Series(labels, dtype=pl.Int64)}
    )
    joining = edges.filter(pl.Series(in_tree[len(must) :])).drop("_edge")
    return Clustering(clusters=clusters, joining_pairs=joining, stats=stats | constraint_stats, why=why)
