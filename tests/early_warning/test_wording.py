"""Wording as data: one ``wording.yaml`` names things for reasons, case files and the review app.

A council's copy overrides the default word by word; a mistake in it is
reported by ``early-warning config-check`` naming the file and the key; and
the default wording says exactly what the code used to.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from early_warning.cli import main
from early_warning.config import DEFAULTS_DIR, ConfigError, load_config, load_wording
from features.schema import GAZETTEER_SCHEMA, PEOPLE_SCHEMA
from models.reasons import reasons_for
from review_ui.queue.case_files import build_case_files
from review_ui.store import CaseFile
from review_ui.web import create_app
from review_ui.web.templating import make_templates
from tests.review_ui.web.conftest import csrf_from, sign_in_client, web_settings
from tests.review_ui.web.test_queue_page import claim
from tests.support.canonical_events import AS_OF, event, events_frame, persons_frame
from tests.support.review_app import build_world

MISSED_TWICE = [
    event("council_tax", "CT-1", 60, "missed_instalment", amount=270.0),
    event("council_tax", "CT-1", 30, "missed_instalment", amount=405.0),
]


def council_folder(tmp_path: Path, wording: str, sources: str | None = None) -> Path:
    folder = tmp_path / "council"
    folder.mkdir()
    (folder / "wording.yaml").write_text(wording)
    if sources is not None:
        (folder / "sources.yaml").write_text(sources)
    return folder


def reasons_said(config_dir: Path | None) -> list[str]:
    frame = reasons_for(
        ["CT-1"], events_frame(MISSED_TWICE), persons_frame(MISSED_TWICE), AS_OF, load_config(config_dir)
    )
    return frame["reasons"].to_list()[0]


def test_the_default_wording_says_what_the_app_said_before_it_was_data() -> None:
    wording = load_wording()
    shown = make_templates(wording).env.globals  # what the app's pages name things
    assert shown["SERVICE_LABELS"] == {
        "council_tax": "Council tax",
        "housing_rent": "Housing rent",
        "benefits": "Benefits",
        "contact_centre": "Contact centre",
        "adult_social_care": "Adult social care",
        "childrens_services": "Children's services",
        "homelessness": "Homelessness",
        "asb": "Anti-social behaviour",
    }
    assert shown["OUTCOME_LABELS"] == {
        "help_offered": "Help offered",
        "already_supported": "Already supported",
        "no_help_needed": "No help needed",
        "could_not_reach": "Could not reach",
        "declined": "Declined",
    }
    assert {name: src.label for name, src in load_config().sources.items()} == wording.services
    assert wording.service_title("parking_fines") == "Parking fines"  # a source the wording does not name


def test_reasons_and_case_files_say_the_same_words_for_a_topic() -> None:
    # Two copies used to disagree on "other": a reason said "another matter", a case file nothing.
    wording = load_wording()
    assert load_config().wording.topics == wording.topics  # what the case files read
    assert wording.topic_words("other") == "another matter"


def test_a_councils_service_label_reaches_a_reason_and_the_review_app(tmp_path: Path) -> None:
    folder = council_folder(tmp_path, "services:\n  council_tax: Council Tax\n")
    default, ours = reasons_said(None), reasons_said(folder)
    assert any(s.startswith("Missed 2 council tax instalments since ") for s in default), default
    assert any(s.startswith("Missed 2 Council Tax instalments since ") for s in ours), ours
    assert not any("council tax" in s.lower() and "Council Tax" not in s for s in ours), ours

    app = create_app(
        web_settings(tmp_path, config=folder), database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}"
    )
    try:
        with app.state.session_factory() as db:
            build_world(db)
        page = sign_in_client(app, "casey").get("/queue").text
    finally:
        app.state.engine.dispose()
    assert "Council Tax" in page
    assert "Council tax" not in page
    assert "Contact centre" in page  # every other word keeps its default


def test_a_council_changes_one_word_and_keeps_every_other(tmp_path: Path) -> None:
    folder = council_folder(
        tmp_path,
        "reasons:\n  council_tax:\n    reminder:\n      one: A {label} reminder went out on {date}\n"
        "outcomes:\n  declined: Said no thanks\n",
    )
    ours, default = load_wording(folder), load_wording()
    assert ours.reasons["council_tax"]["reminder"].one == "A {label} reminder went out on {date}"
    assert (
        ours.reasons["council_tax"]["reminder"].several == default.reasons["council_tax"]["reminder"].several
    )
    assert (
        ours.reasons["council_tax"]["missed_instalment"]
        == default.reasons["council_tax"]["missed_instalment"]
    )
    assert ours.outcomes == {**default.outcomes, "declined": "Said no thanks"}
    assert ours.services == default.services
    page = make_templates(ours).env.from_string("{{ 'declined' | outcome_label }}").render()
    assert page == "Said no thanks"


COUNCIL_WORDS = (
    "events:\n  council_tax:\n    missed_instalment: Council tax instalment not paid\n"
    "topics:\n  benefits: money and benefits\n"
    "outcomes:\n  declined: Said no thanks\n"
)


def test_a_councils_event_topic_and_outcome_words_reach_the_case_file_person_page_and_outcome_form(
    tmp_path: Path,
) -> None:
    folder = council_folder(tmp_path, COUNCIL_WORDS)
    held = [
        event("council_tax", "CT-1", 60, "missed_instalment", amount=270.0),
        event("contact_centre", "CC-1", 30, "enquiry", topic="benefits"),
    ]
    built = build_case_files(
        ["N-1"],
        persons=persons_frame(held, {("council_tax", "CT-1"): "N-1", ("contact_centre", "CC-1"): "N-1"}),
        people=pl.DataFrame(schema=PEOPLE_SCHEMA),
        events=events_frame(held),
        gazetteer=pl.DataFrame(schema=GAZETTEER_SCHEMA),
        evidence=None,
        as_of=AS_OF,
        config=load_config(folder),
    )
    content = json.loads(built["content"][0])
    assert [entry["label"] for entry in content["timeline"]] == [
        "Enquiry to the contact centre about money and benefits",
        "Council tax instalment not paid",
    ]

    app = create_app(
        web_settings(tmp_path, config=folder), database_url=f"sqlite:///{tmp_path / 'q.sqlite3'}"
    )
    try:
        with app.state.session_factory() as db:
            world = build_world(db)
            item_id = world.items["Northgate"][0]
            stored = db.get(CaseFile, "N-1")
            assert stored is not None
            stored.content = content
            db.commit()
        casey = sign_in_client(app, "casey")
        claim(casey, item_id)
        page = casey.get(f"/items/{item_id}").text
        assert "Council tax instalment not paid" in page  # the case file's timeline
        assert "Enquiry to the contact centre about money and benefits" in page  # the council's topic words
        assert "Said no thanks" in page  # the outcome form
        assert "Declined" not in page
        assert "Help offered" in page  # every other word keeps its default
        recorded = casey.post(
            f"/items/{item_id}/outcome",
            data={"csrf_token": csrf_from(page), "outcome": "declined"},
            follow_redirects=False,
        )
        assert recorded.status_code == 303, recorded.text
        audit = sign_in_client(app, "ada").get("/audit", params={"action": "outcome_recorded"}).text
    finally:
        app.state.engine.dispose()
    assert "Recorded outcome: said no thanks" in audit


def test_a_label_written_in_an_older_sources_yaml_still_wins(tmp_path: Path) -> None:
    default = (DEFAULTS_DIR / "sources.yaml").read_text()
    older = default.replace("  council_tax:\n", "  council_tax:\n    label: local tax\n", 1)
    assert older != default
    folder = council_folder(tmp_path, "services:\n  council_tax: Council Tax\n", sources=older)
    assert load_wording(folder).service_label("council_tax") == "local tax"
    assert load_config(folder).sources["council_tax"].label == "local tax"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("services:\n  council_tax: [a, b]\n", "services.council_tax", "Input should be a valid string"),
        (
            "reasons:\n  benefits:\n    claim_new:\n      one: '{name} claimed on {date}'\n",
            "reasons.benefits.claim_new.one",
            "{name} is not a placeholder a reason may use",
        ),
        (
            "reasons:\n  benefits:\n    claim_new:\n      one: Claimed\n",
            "reasons.benefits.claim_new.one",
            "{date}",
        ),
        ("outcomes:\n  maybe: Perhaps\n", "outcomes", "'maybe' is not one of help_offered"),
        ("unlisted_topic: null\n", "unlisted_topic", "Input should be a valid string"),
        ("topic: {rent: rent}\n", "topic", "Extra inputs are not permitted"),
    ],
)
def test_config_check_names_the_file_and_key_of_a_wording_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, expected: str
) -> None:
    folder = council_folder(tmp_path, text)
    assert main(["config-check", "--config", str(folder)]) == 2
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith(f"{folder / 'wording.yaml'}: {key}:"))
    assert expected in line
    with pytest.raises(ConfigError):
        load_config(folder)


def test_config_check_reports_a_wording_file_that_is_not_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = council_folder(tmp_path, "services: [unclosed\n")
    assert main(["config-check", "--config", str(folder)]) == 2
    assert f"{folder / 'wording.yaml'}: not valid YAML" in capsys.readouterr().err
