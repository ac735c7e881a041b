"""Linkage settings are data a council edits, validated on load."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from early_warning.config import ConfigError
from features.linkage import load_linkage_settings


def test_defaults_load() -> None:
    settings = load_linkage_settings()
    assert 0 < settings.match_threshold < 1
    assert ["first_name_std", "last_name_std"] in settings.em_training_blocks
    assert all("postcode" not in str(block) for block in settings.em_training_blocks)


def test_a_council_file_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    (tmp_path / "linkage.yaml").write_text("match_threshold: 0.97\n", encoding="utf-8")
    settings = load_linkage_settings(tmp_path)
    assert settings.match_threshold == 0.97
    assert settings.blocking_rules == load_linkage_settings().blocking_rules


def test_a_folder_without_linkage_yaml_uses_the_defaults(tmp_path: Path) -> None:
    assert load_linkage_settings(tmp_path) == load_linkage_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [("match_threshold: 1.5\n", "match_threshold"), ("threshold: 0.9\n", "threshold"), ("- a\n", "mapping")],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "linkage.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as error:
        load_linkage_settings(tmp_path)
    assert "linkage.yaml" in str(error.value)


def test_a_bad_backend_name_is_a_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "linkage.yaml").write_text("backend: sparkk\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_linkage_settings(tmp_path)
    message = str(error.value)
    assert "linkage.yaml: backend:" in message
    assert "'duckdb' or 'spark'" in message


def test_the_spark_settings_load_from_a_council_file(tmp_path: Path) -> None:
    (tmp_path / "linkage.yaml").write_text(
        "backend: spark\n"
        "spark_master: spark://linkage.council.internal:7077\n"
        "spark_temp_dir: hdfs:///council/linkage-tmp\n"
        "spark_config:\n  spark.executor.memory: 8g\n  spark.dynamicAllocation.enabled: true\n",
        encoding="utf-8",
    )
    settings = load_linkage_settings(tmp_path)
    assert settings.backend == "spark"
    assert settings.spark_master.startswith("spark://")
    assert settings.spark_config == {"spark.executor.memory": "8g", "spark.dynamicAllocation.enabled": True}
    assert load_linkage_settings().backend == "duckdb"


def test_the_m_of_an_agreeing_initial_comes_from_the_share_of_initials() -> None:
    from features.linkage.model import comparisons, initial_only_m_probability

    # 2 of 10 first names are an initial: two records of one person hold
    # exactly one initial with probability 2 * 0.2 * 0.8.
    prepared = pl.DataFrame({"first_name_std": ["j", "k", *["anna"] * 8, None]})
    assert initial_only_m_probability(prepared) == pytest.approx(0.32)
    assert initial_only_m_probability(pl.DataFrame({"first_name_std": ["anna", None]})) == 0.001
    first_name = comparisons(load_linkage_settings(), initial_only_m=0.32)[0]
    level = next(
        x for x in first_name["comparison_levels"] if x["label_for_charts"] == "initial only, agrees"
    )
    assert (level["m_probability"], level["fix_m_probability"]) == (0.32, True)


def test_the_package_loads_splink_only_when_linkage_runs() -> None:
    # The review app reads the clerical estimate and the settings; neither needs Splink or DuckDB.
    import subprocess
    import sys

    code = (
        "import sys, features.linkage, features.linkage.clerical, features.linkage.settings\n"
        "assert 'splink' not in sys.modules and 'duckdb' not in sys.modules, 'loaded too early'\n"
        "from features.linkage import resolve_persons, __all__ as names\n"
        "assert 'splink' in sys.modules\n"
        "assert all(hasattr(features.linkage, name) for name in names)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
