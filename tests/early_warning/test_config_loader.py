"""One loader for every configuration file: key-by-key merge over the defaults, one error format."""

from __future__ import annotations

from pathlib import Path

import pytest

from early_warning.all_settings import load_all
from early_warning.config import ConfigError, RoutingFile, load_config, load_file, read_yaml
from features.linkage.settings import load_linkage_settings
from models.rules_score import load_rules_table
from models.training_settings import load_training_settings


def test_a_council_file_overrides_only_the_keys_it_writes(tmp_path: Path) -> None:
    (tmp_path / "routing.yaml").write_text("cooldown_days: 7\n")
    routing = load_file("routing.yaml", RoutingFile, tmp_path)
    default = load_file("routing.yaml", RoutingFile)
    assert routing.cooldown_days == 7 != default.cooldown_days
    assert routing.resurface_if_score_rises_by == default.resurface_if_score_rises_by


def test_sources_keep_the_default_channels_when_a_council_writes_only_its_sources(tmp_path: Path) -> None:
    default = read_yaml(Path(__file__).parents[2] / "early_warning/config/defaults/sources.yaml")
    (tmp_path / "sources.yaml").write_text("channels: [phone, web]\n")
    config = load_config(tmp_path)
    assert list(config.channels) == ["phone", "web"]
    assert set(config.sources) == set(default["sources"])


@pytest.mark.parametrize(
    ("name", "text", "load", "expected"),
    [
        ("training.yaml", "horizon_days: 90\n", load_training_settings, 90),
        ("linkage.yaml", "match_threshold: 0.95\n", load_linkage_settings, 0.95),
    ],
)
def test_every_settings_file_merges_key_by_key(tmp_path: Path, name: str, text: str, load, expected) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / name).write_text(text)
    ours, default = load(tmp_path), load(None)
    changed = [k for k in type(ours).model_fields if getattr(ours, k) != getattr(default, k)]
    assert len(changed) == 1
    assert getattr(ours, changed[0]) == expected


def test_the_rules_table_keeps_the_default_scale_when_a_council_writes_only_rules(tmp_path: Path) -> None:
    (tmp_path / "rules_score.yaml").write_text(
        "rules:\n  - feature: distinct_services_90d\n    per_unit: {points_each: 1, cap: 3}\n"
    )
    table = load_rules_table(tmp_path)
    assert [rule.feature for rule in table.rules] == ["distinct_services_90d"]
    assert table.scale == load_rules_table().scale


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "linkage.yaml",
            "duckdb_threads: -3\n",
            "linkage.yaml: duckdb_threads: Input should be greater than",
        ),
        (
            "training.yaml",
            "gate: {min_win_share: 2}\n",
            "training.yaml: gate.min_win_share: Input should be less",
        ),
        ("routing.yaml", "cooldown_days: -1\n", "routing.yaml: cooldown_days: Input should be greater than"),
        ("rules_score.yaml", "scale: {midpoint: x}\n", "rules_score.yaml: scale.midpoint: Input should be"),
    ],
)
def test_every_file_reports_mistakes_the_same_way(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_all(tmp_path)
    message = str(raised.value)
    assert f"{tmp_path}/{expected}" in message
    assert "(got " in message


def test_an_empty_council_file_means_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "training.yaml").write_text("")
    assert load_training_settings(tmp_path) == load_training_settings()


def test_a_trusted_source_must_be_a_source_of_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "linkage.yaml").write_text("one_record_per_person: [adult_social_care, social_care]\n")
    with pytest.raises(ConfigError, match="one_record_per_person: no source called 'social_care'"):
        load_all(tmp_path)
    (tmp_path / "linkage.yaml").write_text("one_record_per_person: [adult_social_care]\n")
    assert load_all(tmp_path).linkage.one_record_per_person == ["adult_social_care"]
