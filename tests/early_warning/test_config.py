"""The configuration a council edits: defaults match the data contract, and
mistakes are reported with the file, the key and what was expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from early_warning.config import DEFAULTS_DIR, ConfigError, load_config

# DATA_CONTRACT.md section 2, transcribed independently of the YAML files.
CONTRACT_VOCABULARY = {
    "council_tax": {
        "routine": {"bill_issued", "payment", "arrangement_made"},
        "signal": {
            "missed_instalment",
            "reminder",
            "final_notice",
            "arrangement_broken",
            "discount_removed",
            "ctr_claim",
        },
        "enforcement": {"summons", "liability_order", "enforcement_agent_referral"},
    },
    "housing_rent": {
        "routine": {"tenancy_start", "payment"},
        "signal": {"missed_payment", "arrears_letter", "repair_request", "damp_mould_report", "tenancy_end"},
        "enforcement": {"nosp_served", "possession_order", "eviction"},
    },
    "benefits": {
        "signal": {
            "claim_new",
            "change_of_circumstances",
            "claim_suspended",
            "claim_cancelled",
            "overpayment",
            "dhp_application",
            "welfare_assistance_application",
        },
    },
    "contact_centre": {"signal": {"enquiry", "complaint"}},
    "adult_social_care": {
        "signal": {"contact", "referral"},
        "service": {"assessment", "care_package_start"},
        "crisis": {"safeguarding_concern"},
    },
    "childrens_services": {
        "signal": {"early_help_contact", "school_absence_concern"},
        "crisis": {"referral_accepted", "child_protection_plan"},
    },
    "homelessness": {
        "service": {"prevention_duty", "relief_duty", "temporary_accommodation"},
        "crisis": {"approach"},
    },
    "asb": {
        "signal": {"report_as_victim", "report_as_alleged", "noise_complaint"},
        "service": {"case_opened"},
    },
}


@pytest.fixture
def council_dir(tmp_path: Path) -> Path:
    """A council's own configuration folder, starting as a copy of the defaults."""
    folder = tmp_path / "council"
    shutil.copytree(DEFAULTS_DIR, folder)
    return folder


def test_default_vocabulary_is_exactly_the_data_contract() -> None:
    config = load_config()
    assert set(config.sources) == set(CONTRACT_VOCABULARY)
    for source, roles in CONTRACT_VOCABULARY.items():
        for role in ("routine", "signal", "service", "enforcement", "crisis"):
            assert set(getattr(config.sources[source].events, role)) == roles.get(role, set()), (source, role)


def test_default_contact_centre_topics_and_channels_are_the_contracts() -> None:
    config = load_config()
    assert set(config.sources["contact_centre"].topics) == {
        "council_tax",
        "rent",
        "benefits",
        "repairs",
        "asb",
        "waste",
        "parking",
        "social_care",
        "housing_options",
        "other",
    }
    assert set(config.channels) == {"phone", "email", "web", "face_to_face", "letter", "visit"}


def test_default_thresholds_are_the_contracts_rules() -> None:
    services = load_config().thresholds.services
    ct = [(r.kind, r.spec.model_dump()) for r in services["council_tax"].rules]
    assert ("arrears_at_least", {"pounds": 1000, "within_days": None}) in ct
    assert ("events_of_role", {"role": "enforcement", "within_days": None}) in ct
    rent = [(r.kind, r.spec.model_dump()) for r in services["housing_rent"].rules]
    assert ("arrears_at_least", {"pounds": 1500, "within_days": None}) in rent
    asb = {r.kind: r.spec.model_dump() for r in services["asb"].rules}
    assert asb["repeated_events"]["count"] == 3
    assert asb["repeated_events"]["within_days"] == 90
    assert services["benefits"].rules == []
    assert services["contact_centre"].rules == []
    assert load_config().thresholds.window_days == 365


def test_role_lookup_and_unknown_event_type() -> None:
    config = load_config()
    assert config.role_of("housing_rent", "nosp_served") == "enforcement"
    assert config.role_of("housing_rent", "summons") is None


def test_locality_capacity_falls_back_to_the_default(council_dir: Path) -> None:
    (council_dir / "localities.yaml").write_text(
        "default_capacity: 7\nlocalities:\n  Harbour: {capacity: 2}\n"
    )
    config = load_config(council_dir)
    assert config.capacity_of("Harbour") == 2
    assert config.capacity_of("Nowhere") == 7


def test_a_council_folder_may_hold_only_some_files(tmp_path: Path) -> None:
    (tmp_path / "localities.yaml").write_text("default_capacity: 3\n")
    config = load_config(tmp_path)
    assert config.capacity_of("Anywhere") == 3
    assert "council_tax" in config.sources  # from the defaults


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (
            "localities.yaml",
            "default_capacity: -1\n",
            ["localities.yaml", "default_capacity", "greater than or equal to 0"],
        ),
        (
            "localities.yaml",
            "default_capacity: 3\nlocalities:\n  North: {capacity: lots}\n",
            ["localities.North.capacity", "'lots'"],
        ),
        ("localities.yaml", "default_capacity: [\n", ["localities.yaml", "not valid YAML"]),
        ("localities.yaml", "- a\n- b\n", ["localities.yaml", "mapping"]),
        (
            "thresholds.yaml",
            "window_days: 365\nservices:\n  tax:\n    label: t\n    sources: [council_tax]\n    rules:\n      - arrears_at_least: {pounds: 1000}\n        any_event: {}\n",
            ["thresholds.yaml", "services.tax.rules.0", "exactly one of"],
        ),
        (
            "thresholds.yaml",
            "window_days: 365\nservices:\n  tax:\n    label: t\n    sources: [parking]\n",
            ["services.tax.sources", "'parking'"],
        ),
        (
            "thresholds.yaml",
            "window_days: 365\nservices:\n  tax:\n    label: t\n    sources: [council_tax]\n    rules:\n      - events_of_type: {types: [eviction]}\n",
            ["services.tax.rules.0.events_of_type.types", "'eviction'", "council_tax"],
        ),
        (
            "mappings.yaml",
            "mappings:\n  parking:\n    date_format: dd/mm/yyyy\n",
            ["mappings.parking", "no source called 'parking'"],
        ),
        (
            "mappings.yaml",
            "mappings:\n  council_tax:\n    date_format: 31st of the month\n",
            ["mappings.council_tax.date_format", "dd/mm/yyyy"],
        ),
        (
            "mappings.yaml",
            "mappings:\n  council_tax:\n    people: {shoe_size: size}\n",
            ["mappings.council_tax", "shoe_size", "first_name"],
        ),
        (
            "sources.yaml",
            "channels: [phone]\nsources:\n  council_tax:\n    label: ct\n    events: {signal: [a], routine: [a]}\n",
            ["sources.council_tax", "'a'", "one role"],
        ),
        (
            "sources.yaml",
            "channels: [phone]\nsources:\n  council_tax:\n    label: ct\n    events: {signals: [a]}\n",
            ["sources.council_tax.events.signals", "Extra inputs"],
        ),
    ],
)
def test_a_mistake_names_the_file_the_key_and_what_was_expected(
    council_dir: Path, file: str, text: str, expected: list[str]
) -> None:
    (council_dir / file).write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(council_dir)
    for fragment in expected:
        assert fragment in str(raised.value)


def test_a_missing_config_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not-there"):
        load_config(tmp_path / "not-there")
