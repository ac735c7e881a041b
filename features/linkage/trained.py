"""Scoring with a model trained on an earlier night.

Training (the prior, the u sample and EM) is most of linkage's time, while
the m and u probabilities it learns move little from one night to the next.
So a night may score with a model saved earlier (the JSON that
:func:`features.linkage.splink_runner.score_pairs` writes); when to do so is the
flow's policy, not this module's.

Only the *numbers* are carried over. The comparisons themselves - their SQL
and their fixed m probabilities - are tonight's (:mod:`features.linkage.model`
and ``linkage.yaml``), so a model trained on DuckDB can score on Spark and
vice versa, and a changed setting takes effect at once. The numbers are
matched to tonight's levels by comparison name and level label, which is
why those must match exactly; :func:`model_problems` says where they do not.
"""

from __future__ import annotations

from typing import Any

#: Trained numbers a comparison level may carry.
_TRAINED_KEYS = ("m_probability", "u_probability")


class IncompatibleModelError(ValueError):
    """The saved model's comparisons are not tonight's; train afresh instead."""


def _labels(comparison: dict[str, Any]) -> list[str]:
    return [str(level.get("label_for_charts")) for level in comparison.get("comparison_levels", [])]


def model_problems(comparisons: list[dict[str, Any]], trained_model: dict[str, Any]) -> list[str]:
    """Why ``trained_model`` cannot score with ``comparisons`` (empty when it can).

    Names comparisons and level labels only (never a value from a record).
    """
    problems = []
    prior = trained_model.get("probability_two_random_records_match")
    if not isinstance(prior, (int, float)) or not 0 < prior < 1:
        problems.append("the saved model has no probability_two_random_records_match between 0 and 1")
    saved = {c.get("output_column_name"): c for c in trained_model.get("comparisons", [])}
    names = [c["output_column_name"] for c in comparisons]
    if sorted(saved, key=str) != sorted(names):
        problems.append(f"comparisons differ: saved {sorted(saved, key=str)}, tonight {sorted(names)}")
    for comparison in comparisons:
        name = comparison["output_column_name"]
        if name in saved and _labels(saved[name]) != _labels(comparison):
            problems.append(
                f"{name}: levels differ: saved {_labels(saved[name])}, tonight {_labels(comparison)}"
            )
    return problems


def with_trained_probabilities(
    comparisons: list[dict[str, Any]], trained_model: dict[str, Any]
) -> list[dict[str, Any]]:
    """Copies of ``comparisons`` whose levels carry the saved m and u probabilities.

    A level whose m probability is fixed tonight keeps tonight's value. A
    level the saved model never estimated (it never occurred in training)
    stays unestimated, as it would after training afresh.

    Raises:
        IncompatibleModelError: the comparisons or level labels differ.
    """
    problems = model_problems(comparisons, trained_model)
    if problems:
        raise IncompatibleModelError("; ".join(problems))
    saved = {c["output_column_name"]: c for c in trained_model["comparisons"]}
    out = []
    for comparison in comparisons:
        levels = []
        for level, old in zip(
            comparison["comparison_levels"],
            saved[comparison["output_column_name"]]["comparison_levels"],
            strict=True,
        ):
            keep = [key for key in _TRAINED_KEYS if key in old]
            if level.get("fix_m_probability"):
                keep = [key for key in keep if key != "m_probability"]
            levels.append({**level, **{key: old[key] for key in keep}})
        out.append({**comparison, "comparison_levels": levels})
    return out
