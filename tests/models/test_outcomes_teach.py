"""Outcomes teach: a queue filled by simulated reviews of earlier nights, with outcomes from the truth.

Two earlier nights run through the real stages into a real review queue; a
simulated caseworker reviews every item, recording what the world's ground
truth says (in need that night: help offered; not: no help needed; every
fifth: could not reach). Training then reads the queue through the one
read-only function and must label, leave out and censor exactly as
``models.labels`` says.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from early_warning.config import load_config
from early_warning.synthetic import generate_borough
from features.linkage.settings import load_linkage_settings
from flows import route, stages
from models.labels import LABEL, SNAPSHOT
from models.training_data import prepare_training_data
from models.training_settings import load_training_settings
from review_ui.store import (
    ReviewItem,
    claim_item,
    create_user,
    make_engine,
    queue_database_url,
    record_outcome,
)
from review_ui.store.training_outcomes import read_review_outcomes

AS_OF = date(2026, 3, 31)
NIGHTS = (date(2025, 3, 31), date(2025, 6, 30))
HORIZON = 180
CONFIG = load_config()
SETTINGS = load_training_settings()


def _run_night(home: Path, extracts: Path, night: date) -> None:
    n = stages.Night.load(home, night)
    stages.ingest_stage(n, extracts)
    stages.link_stage(n)
    stages.graph_stage(n)
    stages.features_stage(n)
    stages.thresholds_stage(n)
    scored = stages.score_stage(n)
    route.route_stage(n, scored["model_version"])


def _in_need(borough: Path, persons: pl.DataFrame, night: date) -> set[str]:
    records = pl.read_parquet(borough / "truth" / "person_records.parquet")
    episodes = pl.read_parquet(borough / "truth" / "episodes.parquet").filter(
        (pl.col("onset") <= night) & (pl.col("resolved_date").is_null() | (pl.col("resolved_date") > night))
    )
    return set(
        persons.join(records, on=["source", "source_person_id"])
        .join(episodes, on="true_person_id", how="semi")["person_id"]
        .to_list()
    )


def _review_everything(borough: Path, home: Path, night: date) -> None:
    persons = pl.read_parquet(home / "runs" / night.isoformat() / "persons.parquet")
    need = _in_need(borough, persons, night)
    engine = make_engine(queue_database_url(home))
    with Session(engine) as session:
        users = {}
        items = list(
            session.scalars(select(ReviewItem).where(ReviewItem.status == "new").order_by(ReviewItem.id))
        )
        for i, item in enumerate(items):
            if item.locality not in users:
                users[item.locality] = create_user(
                    session=session, username=f"sim-{len(users)}-{night:%m}", display_name="Simulated reviewer",
                    role="team_lead" if item.locality == "unknown" else "caseworker",
                    locality=next(iter(CONFIG.localities.localities)) if item.locality == "unknown" else item.locality,
                    password_hash="$argon2id$v=19$m=65536,t=3,p=4$not-a-real-hash",
                )  # fmt: skip
            user = users[item.locality]
            claim_item(session=session, item_id=item.id, user=user)
            word = (
                "could_not_reach"
                if i % 5 == 4
                else ("help_offered" if item.person_id in need else "no_help_needed")
            )
            record_outcome(session=session, item_id=item.id, user=user, outcome=word, note="simulated")
    engine.dispose()


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pl.DataFrame]:
    borough = tmp_path_factory.mktemp("borough")
    generate_borough(borough, residents=3_000, years=3, as_of=AS_OF, seed=5)
    home = tmp_path_factory.mktemp("home")
    for night in NIGHTS:
        _run_night(home, borough / "extracts", night)
        _review_everything(borough, home, night)
    return borough, home, read_review_outcomes(queue_database_url(home))


def test_the_simulated_queue_holds_every_kind_of_outcome(reviewed: tuple) -> None:
    _, _, reviews = reviewed
    words = set(reviews["outcome"])
    assert {"help_offered", "no_help_needed", "could_not_reach"} <= words
    assert set(reviews["reviewed_on"]) <= set(NIGHTS)
    assert "note" not in reviews.columns


def test_training_labels_leaves_out_and_censors_as_the_outcomes_say(reviewed: tuple) -> None:
    borough, home, reviews = reviewed
    newest = pl.read_parquet(home / "runs" / NIGHTS[-1].isoformat() / "persons.parquet")
    data = prepare_training_data(
        borough / "extracts",
        AS_OF,
        home,
        CONFIG,
        SETTINGS,
        reviews=reviews,
        previous_persons=newest,
        linkage_settings=load_linkage_settings(),
    )
    table = data.table
    assert data.reviews["reviews_help_offered"] > 0
    # Training ids carry the night's ids: nearly every reviewed person is found.
    assert data.reviews["reviews_person_not_found"] <= 0.05 * reviews.height

    def rows_of(person: str) -> pl.DataFrame:
        return table.filter(pl.col("person_id") == person)

    checked = {"help_offered": 0, "could_not_reach": 0}
    for person, reviewed_on, word in reviews.select("person_id", "reviewed_on", "outcome").iter_rows():
        mine = rows_of(person)
        before = mine.filter(
            (pl.col(SNAPSHOT) < reviewed_on) & (pl.col(SNAPSHOT) >= reviewed_on - timedelta(days=HORIZON))
        )
        after = mine.filter(
            (pl.col(SNAPSHOT) >= reviewed_on) & (pl.col(SNAPSHOT) < reviewed_on + timedelta(days=HORIZON))
        )
        if word == "help_offered":
            assert before[LABEL].to_list() == [1] * before.height, person  # need found: positive before
            assert after.is_empty(), person  # censored after help was offered
            checked[word] += before.height
        elif word == "could_not_reach":
            assert before[LABEL].to_list() == [1] * before.height, person  # left out unless positive anyway
            checked[word] += 1
    assert checked["help_offered"] > 0
    assert checked["could_not_reach"] > 0


def test_without_outcomes_the_same_rows_are_counted_as_negatives(reviewed: tuple) -> None:
    borough, home, reviews = reviewed
    persons = pl.read_parquet(home / "training" / "runs" / AS_OF.isoformat() / "persons.parquet")
    off = SETTINGS.model_copy(
        update={"labels": SETTINGS.labels.model_copy(update={"use_review_outcomes": False})}
    )
    plain = prepare_training_data(
        borough / "extracts", AS_OF, home, CONFIG, off, persons, reviews=reviews
    ).table
    taught = prepare_training_data(
        borough / "extracts", AS_OF, home, CONFIG, SETTINGS, persons, reviews=reviews
    ).table
    assert plain.height > taught.height  # censored and unlabelled rows are back
    assert (
        taught[LABEL].sum()
        > plain.filter(pl.col("person_id").is_in(taught["person_id"].implode()))[LABEL].sum() - 1
    )
    helped = reviews.filter(pl.col("outcome") == "help_offered")["person_id"]
    assert (
        plain.filter(pl.col("person_id").is_in(helped.implode()))[LABEL].sum()
        < taught.filter(pl.col("person_id").is_in(helped.implode()))[LABEL].sum()
    )
