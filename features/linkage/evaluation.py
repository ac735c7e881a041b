"""Pairwise precision, recall and F1 of a clustering against the truth.

Counted over pairs of source records: a pair is predicted when both records
got the same ``person_id``, and true when both belong to the same real
person. Counting from cluster sizes (n records make n(n-1)/2 pairs) keeps
this exact and cheap at any scale. Used by tests and the benchmark only.

:func:`scores_by_class` splits the same counts by a class of record (the
synthetic truth's ``richness``: what a record holds, from ``full`` down to
``contact_only``). One overall figure hides the records linkage finds
hardest: a change that joins a few more sparse contact-centre records at
the price of a few wrong joins can leave overall F1 unchanged. A pair
belongs to the class of its *poorer* record, because that record is what
limits the evidence the pair can have; so a regression for thin records
shows in their class even when it is paired with a rich one.

:func:`missed_pair_stages` says where each missed pair was lost (never
compared, below the threshold, vetoed by a guard, or split by clustering);
``benchmarks/linkage_misses.py`` prints it (docs/linkage-misses.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from features.linkage.components import components


@dataclass(frozen=True)
class PairwiseScores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Counts and rounded scores, for a benchmark's JSON."""
        return {
            "true_pairs": self.true_pairs,
            "predicted_pairs": self.predicted_pairs,
            "correct_pairs": self.correct_pairs,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _pairs(frame: pl.DataFrame, *keys: str) -> int:
    sizes = frame.group_by(*keys).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def _joined(persons: pl.DataFrame, truth: pl.DataFrame, *extra: str) -> pl.DataFrame:
    return persons.select("person_id", "source", "source_person_id").join(
        truth.select("true_person_id", "source", "source_person_id", *extra),
        on=["source", "source_person_id"],
    )


def pairwise_scores(persons: pl.DataFrame, truth: pl.DataFrame) -> PairwiseScores:
    """Compare ``persons`` (person_id, source, source_person_id) with ``truth``.

    ``truth`` has ``true_person_id``, ``source``, ``source_person_id``; only
    records present in both frames are counted.
    """
    both = _joined(persons, truth)
    return PairwiseScores(
        true_pairs=_pairs(both, "true_person_id"),
        predicted_pairs=_pairs(both, "person_id"),
        correct_pairs=_pairs(both, "person_id", "true_person_id"),
    )


def _pairs_by_rank(frame: pl.DataFrame, keys: list[str], classes: int) -> list[int]:
    """Pairs within each group of ``keys``, counted by the poorer record's rank.

    In a group holding ``n_k`` records of rank ``k`` (0 richest), the pairs
    whose poorer record has rank ``k`` are the pairs inside rank ``k`` plus
    those between rank ``k`` and every richer rank:
    ``n_k (n_k - 1) / 2 + n_k * (n_0 + ... + n_{k-1})``.
    """
    counts = (
        frame.group_by([*keys, "_rank"])
        .len()
        .sort([*keys, "_rank"])
        .with_columns(richer=(pl.col("len").cum_sum().over(keys) - pl.col("len")))
        .with_columns(pairs=pl.col("len") * (pl.col("len") - 1) // 2 + pl.col("len") * pl.col("richer"))
        .group_by("_rank")
        .agg(pl.col("pairs").sum())
    )
    out = [0] * classes
    for rank, pairs in counts.iter_rows():
        out[int(rank)] = int(pairs)
    return out


def scores_by_class(
    persons: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    class_column: str,
    classes: Sequence[str],
) -> dict[str, PairwiseScores]:
    """Pairwise scores per record class, each pair in the class of its poorer record.

    Args:
        persons: ``person_id``, ``source``, ``source_person_id``.
        truth: ``true_person_id``, ``source``, ``source_person_id`` and ``class_column``.
        class_column: the truth column naming each record's class.
        classes: every class, richest first (e.g. the synthetic generator's
            ``RICHNESS``); a class's position decides which record of a pair
            is the poorer.

    Returns:
        One entry per class in ``classes`` order (a class with no pairs
        scores 1.0 precision and recall on zero counts). The counts of all
        classes add up to :func:`pairwise_scores`'s.

    Raises:
        ValueError: a record's class is not in ``classes``.
    """
    rank = {name: i for i, name in enumerate(classes)}
    both = _joined(persons, truth, class_column)
    unknown = sorted(set(both[class_column].drop_nulls().unique().to_list()) - set(rank))
    if unknown or both[class_column].null_count():
        raise ValueError(f"records with a {class_column} not in classes: {unknown or ['null']}")
    both = both.with_columns(_rank=pl.col(class_column).replace_strict(rank, return_dtype=pl.Int32))
    true = _pairs_by_rank(both, ["true_person_id"], len(classes))
    predicted = _pairs_by_rank(both, ["person_id"], len(classes))
    correct = _pairs_by_rank(both, ["person_id", "true_person_id"], len(classes))
    return {
        name: PairwiseScores(true_pairs=true[i], predicted_pairs=predicted[i], correct_pairs=correct[i])
        for i, name in enumerate(classes)
    }


def format_class_table(overall: PairwiseScores, by_class: dict[str, PairwiseScores]) -> str:
    """A plain-text table of pairs, precision, recall and F1: overall, then per class."""
    rows = [("overall", overall), *by_class.items()]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'class':<{width}}  true pairs  predicted  precision  recall      F1"]
    for name, s in rows:
        lines.append(
            f"{name:<{width}}  {s.true_pairs:>10,}  {s.predicted_pairs:>9,}  "
            f"{s.precision:>9.4f}  {s.recall:>6.4f}  {s.f1:>6.4f}"
        )
    return "\n".join(lines)


#: Where a missed true pair was lost, in the order linkage could lose it.
MISS_STAGES: tuple[str, ...] = ("never compared", "below threshold", "vetoed", "split by clustering")


def _same_component(n: int, edges: pl.DataFrame, a: pl.Series, b: pl.Series) -> pl.Series:
    labels, _ = components(n, edges["unique_id_l"].to_list(), edges["unique_id_r"].to_list())
    return pl.Series(labels[a.to_numpy()] == labels[b.to_numpy()])


def missed_pair_stages(
    records: pl.DataFrame,
    compared: pl.DataFrame,
    above: pl.DataFrame,
    accepted: pl.DataFrame,
) -> pl.DataFrame:
    """Every true pair that linkage split, and the first stage that lost it.

    A stage is judged over the person's *own* records, since two records are
    joined through a third as well as directly: a pair is ``never compared``
    when no chain of compared pairs between records of that person joins
    them; ``below threshold`` when one does but no chain of pairs at or above
    the threshold; ``vetoed`` when only pairs a guard refused (household,
    conflicting identifiers) complete such a chain; ``split by clustering``
    when a chain of accepted pairs joins them yet they ended in two clusters
    (the chaining guard or a reviewer's cannot-link).

    Args:
        records: ``unique_id`` (``0..n-1``), ``true_person_id``, ``cluster``.
        compared: ``unique_id_l``, ``unique_id_r`` of every pair blocking compared.
        above: the compared pairs at or above the threshold.
        accepted: the pairs of ``above`` no guard refused.

    Returns:
        ``a``, ``b`` (record ids, a < b), ``true_person_id`` and ``stage`` (one of :data:`MISS_STAGES`).
    """
    person = records.select("unique_id", "true_person_id")

    def own(pairs: pl.DataFrame) -> pl.DataFrame:
        return (
            pairs.select("unique_id_l", "unique_id_r")
            .join(person, left_on="unique_id_l", right_on="unique_id")
            .join(person, left_on="unique_id_r", right_on="unique_id", suffix="_r")
            .filter(pl.col("true_person_id") == pl.col("true_person_id_r"))
        )

    missed = (
        records.join(records, on="true_person_id", suffix="_r")
        .filter((pl.col("unique_id") < pl.col("unique_id_r")) & (pl.col("cluster") != pl.col("cluster_r")))
        .select(a="unique_id", b="unique_id_r", true_person_id="true_person_id")
        .sort("a", "b")
    )
    n = records.height
    joined = [_same_component(n, own(p), missed["a"], missed["b"]) for p in (compared, above, accepted)]
    stage = (
        pl.when(~joined[0])
        .then(pl.lit(MISS_STAGES[0]))
        .when(~joined[1])
        .then(pl.lit(MISS_STAGES[1]))
        .when(~joined[2])
        .then(pl.lit(MISS_STAGES[2]))
        .otherwise(pl.lit(MISS_STAGES[3]))
    )
    return missed.with_columns(stage=stage)
