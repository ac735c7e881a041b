"""Pairwise precision, recall and F1 of a clustering against the truth.

Counted over pairs of source records: a pair is predicted when both records
got the same ``person_id``, and true when both belong to the same real
person. Counting from cluster sizes (n records make n(n-1)/2 pairs) keeps
this exact and cheap at any scale. Used by tests and the benchmark only.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


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


def _pairs(frame: pl.DataFrame, *keys: str) -> int:
    sizes = frame.group_by(*keys).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(persons: pl.DataFrame, truth: pl.DataFrame) -> PairwiseScores:
    """Compare ``persons`` (person_id, source, source_person_id) with ``truth``.

    ``truth`` has ``true_person_id``, ``source``, ``source_person_id``; only
    records present in both frames are counted.
    """
    both = persons.select("person_id", "source", "source_person_id").join(
        truth.select("true_person_id", "source", "source_person_id"), on=["source", "source_person_id"]
    )
    return PairwiseScores(
        true_pairs=_pairs(both, "true_person_id"),
        predicted_pairs=_pairs(both, "person_id"),
        correct_pairs=_pairs(both, "person_id", "true_person_id"),
    )
