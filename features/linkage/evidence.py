"""Why we think these records are the same person, in words a reviewer can check.

For each person, the evidence lists the pairs of source records that hold the
person together (the strongest spanning tree of the cluster, so n records
give n - 1 pairs) and, for each pair, the comparisons that weighed most, as
"<comparison>: <level> (<match weight>)", e.g. "date of birth: exact match
(+7.2)". Match weights are Splink's log2 Bayes factors, term-frequency
adjustment included: +7 means the agreement is about 2^7 = 128 times more
likely between records of one person than between two different people.

The text is built only from comparison and level labels (see
:mod:`features.linkage.model`) and numbers; it never holds a name, date or
identifier. A person with a single source record has no pair and no row.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from features.linkage.model import DESCRIPTIONS

EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.String(),
    "source_l": pl.String(),
    "source_person_id_l": pl.String(),
    "source_r": pl.String(),
    "source_person_id_r": pl.String(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "reasons": pl.List(pl.String()),
}


def level_labels(model: dict[str, Any]) -> dict[str, tuple[str, dict[int, str]]]:
    """Per comparison: (description, {comparison level value: label}).

    Splink numbers a comparison's levels from the strongest (n - 1) down to
    the "else" level (0), skipping the null level (-1).
    """
    labels: dict[str, tuple[str, dict[int, str]]] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        value = sum(1 for level in levels if not level.get("is_null_level")) - 1
        by_value: dict[int, str] = {}
        for level in levels:
            if level.get("is_null_level"):
                by_value[-1] = level["label_for_charts"]
            else:
                by_value[value] = level["label_for_charts"]
                value -= 1
        name = comparison["output_column_name"]
        labels[name] = (DESCRIPTIONS.get(name, name), by_value)
    return labels


def _reason_rows(pairs: pl.DataFrame, model: dict[str, Any]) -> pl.LazyFrame:
    parts = []
    for name, (description, by_value) in level_labels(model).items():
        gamma = f"gamma_{name}"
        if gamma not in pairs.columns:
            continue
        weight = pl.col(f"mw_{name}")
        if f"mw_tf_adj_{name}" in pairs.columns:
            weight = weight + pl.col(f"mw_tf_adj_{name}").fill_null(0.0)
        parts.append(
            pairs.lazy().select(
                "_pair",
                pl.col(gamma).alias("level"),
                pl.lit(description).alias("comparison"),
                pl.col(gamma).replace_strict(by_value, return_dtype=pl.String, default="").alias("label"),
                weight.alias("weight"),
            )
        )
    return pl.concat(parts).filter(pl.col("level") >= 0)


def match_evidence(
    joining_pairs: pl.DataFrame,
    records: pl.DataFrame,
    model: dict[str, Any],
    *,
    top: int,
) -> pl.DataFrame:
    """The evidence table: one row per joining pair, keyed by ``person_id``.

    Args:
        joining_pairs: ``Clustering.joining_pairs`` (scored pairs with levels).
        records: ``unique_id``, ``source``, ``source_person_id``, ``person_id``.
        model: the trained Splink model dictionary (for level labels).
        top: how many reasons to keep per pair, strongest (by size of weight) first.
    """
    if joining_pairs.is_empty():
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    pairs = joining_pairs.with_row_index("_pair")
    reasons = (
        _reason_rows(pairs, model)
        .with_columns(
            (
                pl.col("comparison")
                + pl.lit(": ")
                + pl.col("label")
                + pl.lit(" (")
                + pl.when(pl.col("weight") >= 0).then(pl.lit("+")).otherwise(pl.lit(""))
                + pl.col("weight").round(1).cast(pl.String)
                + pl.lit(")")
            ).alias("reason"),
            pl.col("weight").abs().alias("_size"),
        )
        .sort(["_pair", "_size", "comparison"], descending=[False, True, False])
        .group_by("_pair", maintain_order=True)
        .agg(pl.col("reason").head(top).alias("reasons"))
    )
    side = records.select("unique_id", "source", "source_person_id", "person_id")
    out = (
        pairs.lazy()
        .select("_pair", "unique_id_l", "unique_id_r", "match_probability", "match_weight")
        .join(reasons, on="_pair", how="left")
        .join(side.lazy().rename(lambda c: f"{c}_l"), on="unique_id_l")
        .join(side.lazy().drop("person_id").rename(lambda c: f"{c}_r"), on="unique_id_r")
        .rename({"person_id_l": "person_id"})
        .select(list(EVIDENCE_SCHEMA))
        .sort("person_id", "source_l", "source_person_id_l", "source_r", "source_person_id_r")
        .collect()
    )
    return out.cast(EVIDENCE_SCHEMA)  # type: ignore[arg-type]
