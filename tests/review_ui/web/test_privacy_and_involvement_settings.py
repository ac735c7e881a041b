"""The privacy page and the person page's involvement periods come from configuration
(review_app.yaml, routing.yaml, wording.yaml), and config-check names what is wrong (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from early_warning.all_settings import load_all
from early_warning.cli import main
from early_warning.config import ConfigError, load_wording
from review_ui.web import create_app
from tests.review_ui.web.conftest import Web, assert_page_keeps_the_rules, web_settings


def test_the_privacy_page_says_the_lawful_basis_retention_contact_and_dpia_from_configuration(
    web: Web,
) -> None:
    html = web.anonymous().get("/privacy").text
    assert_page_keeps_the_rules(html)
    privacy = load_all().review_app.privacy
    for text in (privacy.lawful_basis, privacy.data_protection_contact, privacy.dpia_location):
        assert text.replace("'", "&#39;") in html
    assert "365 days after the last night they were on a review list" in html
    assert "14 days after the night that read them" in html


def test_a_councils_privacy_words_and_retention_reach_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "review_app.yaml").write_text(
        "privacy:\n"
        "  lawful_basis: Public task, as our DPIA says.\n"
        "  special_category_condition: Substantial public interest.\n"
        "  data_protection_contact: dpo@borough.example\n"
        "  dpia_location: The Information Governance SharePoint, 'Early warning DPIA v3'.\n"
        "  audit_retention: Seven years.\n"
    )
    (folder / "routing.yaml").write_text("case_file_retention_days: 200\n")
    app = create_app(
        web_settings(tmp_path, config=folder), database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}"
    )
    try:
        html = TestClient(app).get("/privacy").text
    finally:
        app.state.engine.dispose()
    assert "dpo@borough.example" in html
    assert "Early warning DPIA v3" in html
    assert "200 days after the last night" in html
    assert "Seven years." in html


def test_config_check_refuses_an_involvement_period_for_an_event_type_sources_do_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "review_app.yaml").write_text(
        "involvement_open_days:\n  adult_social_care:\n    assesment: 90\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"review_app.yaml: involvement_open_days.adult_social_care: no event type 'assesment'",
    ):
        load_all(tmp_path)
    assert main(["config-check", "--config", str(tmp_path)]) == 2
    (tmp_path / "review_app.yaml").write_text("involvement_open_days:\n  social_care:\n    assessment: 90\n")
    with pytest.raises(ConfigError, match="no source called 'social_care'"):
        load_all(tmp_path)
    (tmp_path / "review_app.yaml").write_text(
        "involvement_open_days:\n  adult_social_care:\n    assessment: 0\n"
    )
    with pytest.raises(ConfigError, match="review_app.yaml"):
        load_all(tmp_path)


def test_a_person_page_sentence_may_use_only_its_own_placeholders(tmp_path: Path) -> None:
    (tmp_path / "wording.yaml").write_text('person_page:\n  involvement_open: "{what} for {name}"\n')
    with pytest.raises(ConfigError, match=r"person_page.involvement_open: \{name\} is not a placeholder"):
        load_wording(tmp_path)
    (tmp_path / "wording.yaml").write_text("person_page:\n  match_likely: Probably them\n")
    assert load_wording(tmp_path).page_words("match_likely") == "Probably them"
