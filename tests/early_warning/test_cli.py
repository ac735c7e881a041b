"""The ``early-warning`` command: help everywhere, clear errors, right exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from early_warning.cli import build_parser, main

SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"generate", "nightly", "config-check", "demo"} <= set(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: early-warning {name}")
        assert "--" in out  # documents its options


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "early-warning"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "never to enforcement" in result.stdout.lower()


def test_a_bad_date_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["nightly", "--extracts", "x", "--as-of", "30/06/2026"])
    assert exited.value.code == 2
    assert "'30/06/2026' is not a date in the form YYYY-MM-DD" in capsys.readouterr().err


def test_a_non_positive_resident_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--residents", "0", "--as-of", "2026-06-30", "--out", "x"])
    assert "must be more than 0" in capsys.readouterr().err


def test_config_check_reports_a_broken_file_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "localities.yaml").write_text("default_capacity: none\n")
    assert main(["config-check", "--config", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "localities.yaml: default_capacity" in err


def test_config_check_accepts_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-check"]) == 0
    out = capsys.readouterr().out
    assert "is valid: all 10 files" in out
    assert "8 sources" in out


def test_config_check_reads_every_file_and_reports_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 15's first bug: these three files were never read, and the folder was called valid.
    (tmp_path / "linkage.yaml").write_text("duckdb_threads: -3\nnot_a_setting: 1\n")
    (tmp_path / "rules_score.yaml").write_text("rules: [unclosed\n")
    (tmp_path / "training.yaml").write_text("horizon_days: soon\n")
    assert main(["config-check", "--config", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'linkage.yaml'}: duckdb_threads:" in err
    assert f"{tmp_path / 'linkage.yaml'}: not_a_setting: Extra inputs are not permitted" in err
    assert f"{tmp_path / 'rules_score.yaml'}: not valid YAML" in err
    assert f"{tmp_path / 'training.yaml'}: horizon_days:" in err
    assert "is valid" not in err


def test_config_check_names_the_councils_own_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "training.yaml").write_text("horizon_days: 90\n")
    assert main(["config-check", "--config", str(tmp_path)]) == 0
    assert "(training.yaml from the folder, the rest from the defaults)" in capsys.readouterr().out


def _sources_with_checks(folder: Path, source: str, checks: dict[str, object]) -> None:
    import yaml

    from early_warning.config import DEFAULTS_DIR

    values = yaml.safe_load((DEFAULTS_DIR / "sources.yaml").read_text())
    values["sources"][source]["checks"] = checks
    (folder / "sources.yaml").write_text(yaml.safe_dump(values))


@pytest.mark.parametrize(
    ("checks", "key"),
    [
        ({"max_quarantined_share": 2}, "max_quarantined_share"),
        ({"rows_may_fall_percent": 100}, "rows_may_fall_percent"),
        ({"max_age_days": -1}, "max_age_days"),
        ({"warn_only": "perhaps"}, "warn_only"),
        ({"max_age": 7}, "max_age"),
    ],
)
def test_config_check_reads_the_checks_that_hold_a_night(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checks: dict[str, object], key: str
) -> None:
    _sources_with_checks(tmp_path, "benefits", checks)
    assert main(["config-check", "--config", str(tmp_path)]) == 2
    assert f"{tmp_path / 'sources.yaml'}: sources.benefits.checks.{key}" in capsys.readouterr().err


def test_a_councils_checks_reach_the_configuration(tmp_path: Path) -> None:
    from early_warning.config import load_config

    _sources_with_checks(
        tmp_path, "asb", {"warn_only": True, "max_age_days": None, "rows_may_rise_percent": 200}
    )
    checks = load_config(tmp_path).sources["asb"].checks
    assert (checks.warn_only, checks.max_age_days, checks.rows_may_rise_percent) == (True, None, 200)
    assert checks.rows_may_fall_percent == 30  # a key the council leaves out keeps its default
    assert load_config().sources["council_tax"].checks.max_age_days == 7


def test_nightly_help_says_what_each_exit_code_means(capsys: pytest.CaptureFixture[str]) -> None:
    from early_warning import exit_codes

    with pytest.raises(SystemExit):
        main(["nightly", "--help"])
    out = capsys.readouterr().out
    for name in ("ROUTED", "FAILED", "UNUSABLE", "HELD", "ALREADY_RUNNING"):
        assert f"  {getattr(exit_codes, name)}  {name}" in out
