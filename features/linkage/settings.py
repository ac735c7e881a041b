"""Linkage settings a council may tune, read from ``linkage.yaml``.

The defaults live beside the rest of the product's configuration
(``early_warning/config/defaults/linkage.yaml``); a council's own folder may
hold a ``linkage.yaml`` that overrides any of its keys. Values are validated
on load and a mistake names the file and the key, like the rest of the
configuration (``early_warning.config``).

Example:
    >>> s = load_linkage_settings()
    >>> 0 < s.match_threshold < 1
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from early_warning.config import load_file

LINKAGE_FILE = "linkage.yaml"

#: A blocking rule: a list of prepared columns that must all be equal, or a
#: Splink SQL condition over ``l.`` and ``r.`` columns.
BlockingRuleSpec = list[str] | str

#: Where Splink runs: DuckDB inside the nightly process, or a Spark cluster.
Backend = Literal["duckdb", "spark"]


class LinkageSettings(BaseModel):
    """Everything about linkage that is a choice rather than a fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match_threshold: float = Field(0.9, gt=0, lt=1)
    match_weight_threshold: float | None = Field(None, ge=-20, le=40)
    bridge_min_probability: float = Field(0.99, gt=0, le=1)
    blocking_rules: list[BlockingRuleSpec] = Field(min_length=1)
    em_training_blocks: list[BlockingRuleSpec] = Field(min_length=1)
    prior_rules: list[BlockingRuleSpec] = Field(min_length=1)
    prior_recall: float = Field(0.7, gt=0, le=1)
    u_max_pairs: int = Field(3_000_000, gt=0)
    u_min_count_per_level: int | None = Field(100, gt=0)
    u_num_chunks: int = Field(10, ge=1)
    random_seed: int = 42
    first_name_else_m_probability: float = Field(0.02, gt=0, lt=1)
    address_else_m_probability: float | None = Field(0.15, gt=0, lt=1)
    hard_rule_max_m: float = Field(0.01, gt=0, lt=1)
    generic_contact_min_holders: int = Field(5, ge=2)
    evidence_top_reasons: int = Field(4, ge=1)
    person_id_salt: str = Field("early-warning-person-v1", min_length=1)
    duckdb_threads: int = Field(2, ge=1)
    duckdb_memory_limit: str = "4GB"
    retrain_after_days: int = Field(7, ge=1)
    retrain_when_records_change: float = Field(0.05, ge=0)
    backend: Backend = "duckdb"
    spark_master: str = Field("local[2]", min_length=1)
    spark_shuffle_partitions: int = Field(4, ge=1)
    spark_driver_memory: str = Field("2g", min_length=1)
    spark_temp_dir: str | None = Field(None, min_length=1)
    spark_break_lineage: Literal["parquet", "persist"] = "parquet"
    spark_config: dict[str, str | int | float | bool] = Field(default_factory=dict)
    one_record_per_person: list[str] = Field(default_factory=list)
    clerical_review_per_band: int = Field(10, ge=0)
    clerical_review_band_edges: list[float] = Field(
        default_factory=lambda: [-4.0, 0.0, 6.0, 10.0, 15.0], min_length=1
    )
    train_m_from_clerical_labels: bool = False

    def is_match(self) -> pl.Expr:
        """Over scored pairs: is this pair a match? By match weight when ``match_weight_threshold``
        is set, else by probability.

        Probabilities saturate: above a weight of about 50 every pair's probability is 1.0 in
        floating point, so "0.9999999" cannot tell strong evidence from overwhelming evidence;
        a weight (bits of evidence) can.
        """
        if self.match_weight_threshold is not None:
            return pl.col("match_weight") >= self.match_weight_threshold
        return pl.col("match_probability") >= self.match_threshold

    @property
    def threshold_probability(self) -> float:
        """The match threshold as a probability (from the weight when one is set; exact below weight 40)."""
        if self.match_weight_threshold is None:
            return self.match_threshold
        return 1.0 / (1.0 + 2.0 ** (-self.match_weight_threshold))

    @property
    def clerical_floor(self) -> float | None:
        """The lowest match weight scored pairs are kept at for clerical review (None: review is off)."""
        return min(self.clerical_review_band_edges) if self.clerical_review_per_band else None


def load_linkage_settings(config_dir: str | Path | None = None) -> LinkageSettings:
    """The defaults, overridden key by key by ``config_dir/linkage.yaml`` if present
    (:func:`early_warning.config.load_file`, the one loader every file goes through).

    Raises:
        ConfigError: naming the file and the key that is wrong.
    """
    return load_file(LINKAGE_FILE, LinkageSettings, config_dir)
