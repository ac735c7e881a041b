"""The truth folder agrees with the extracts, so evaluation can rely on it."""

from __future__ import annotations

from datetime import date

import polars as pl

from early_warning.config import Config
from early_warning.synthetic import GenerationSummary

AS_OF = date(2026, 3, 31)  # as in conftest.py


def test_truth_has_every_promised_file_and_column(truth: dict[str, pl.DataFrame]) -> None:
    expected = {
        "person_records": {"true_person_id", "source", "source_person_id"},
        "residents": {
            "true_person_id",
            "household_id",
            "uprn",
            "sex",
            "ethnicity",
            "birth_year",
            "tenure",
            "locality",
            "ward",
            "persona",
        },
        "episodes": {
            "episode_id",
            "true_person_id",
            "need_type",
            "onset",
            "crisis_date",
            "crisis_kind",
            "resolved_date",
            "severity",
        },
        "events_all": {
            "source",
            "event_id",
            "source_person_id",
            "true_person_id",
            "event_date",
            "event_type",
            "amount",
            "topic",
            "channel",
            "episode_id",
        },
        "moves": {"true_person_id", "from_uprn", "to_uprn", "move_date"},
    }
    for name, columns in expected.items():
        assert columns <= set(truth[name].columns), name


def test_every_people_row_of_every_source_appears_exactly_once_in_person_records(
    truth: dict[str, pl.DataFrame], extracts: dict[str, dict[str, pl.DataFrame]]
) -> None:
    in_extract = truth["person_records"].filter("in_extract")
    assert in_extract.select("source", "source_person_id").is_duplicated().sum() == 0
    rows = pl.concat(
        [f["people"].select(pl.lit(s).alias("source"), "source_person_id") for s, f in extracts.items()]
    )
    assert sorted(rows.iter_rows()) == sorted(in_extract.select("source", "source_person_id").iter_rows())


def test_extract_events_are_exactly_events_all_up_to_the_night(
    truth: dict[str, pl.DataFrame], extracts: dict[str, dict[str, pl.DataFrame]]
) -> None:
    columns = [
        "source",
        "event_id",
        "source_person_id",
        "event_date",
        "event_type",
        "amount",
        "topic",
        "channel",
    ]
    expected = (
        truth["events_all"].filter(pl.col("event_date") <= AS_OF).select(columns).sort("source", "event_id")
    )
    got = pl.concat(
        [f["events"].with_columns(source=pl.lit(s)).select(columns) for s, f in extracts.items()],
        how="vertical_relaxed",
    ).sort("source", "event_id")
    assert got.height == expected.height
    assert got.with_columns(pl.col("amount").round(2)).equals(
        expected.with_columns(pl.col("amount").round(2))
    )


def test_the_horizon_reaches_at_least_a_year_after_the_night(truth: dict[str, pl.DataFrame]) -> None:
    last = truth["events_all"]["event_date"].max()
    assert isinstance(last, date)
    assert (last - AS_OF).days >= 365


def test_every_crisis_date_is_a_crisis_or_enforcement_event_of_that_person(
    truth: dict[str, pl.DataFrame], config: Config
) -> None:
    crises = truth["episodes"].filter(pl.col("crisis_date").is_not_null())
    assert crises.height > 10
    matched = crises.join(
        truth["events_all"].select(
            "true_person_id", crisis_date="event_date", crisis_kind="event_type", episode_id="episode_id"
        ),
        on=["true_person_id", "crisis_date", "crisis_kind", "episode_id"],
        how="semi",
    )
    assert matched.height == crises.height
    roles = {
        config.role_of(s, t)
        for s, t in truth["events_all"]
        .join(crises.select(event_type="crisis_kind").unique(), on="event_type")
        .select("source", "event_type")
        .unique()
        .iter_rows()
    }
    assert roles <= {"crisis", "enforcement", "service"}


def test_each_source_record_belongs_to_one_real_resident(truth: dict[str, pl.DataFrame]) -> None:
    records = truth["person_records"]
    assert set(records["true_person_id"]) <= set(truth["residents"]["true_person_id"])
    events = truth["events_all"].join(
        records.select("source", "source_person_id", owner="true_person_id"),
        on=["source", "source_person_id"],
    )
    assert events.height == truth["events_all"].height
    assert (events["owner"] == events["true_person_id"]).all()


def test_residents_live_in_the_gazetteer_and_moves_change_address(
    truth: dict[str, pl.DataFrame], borough: GenerationSummary
) -> None:
    gaz = pl.read_csv(borough.out_dir / "extracts" / "gazetteer.csv", infer_schema=False)
    assert set(truth["residents"]["uprn"].drop_nulls()) <= set(gaz["uprn"])
    moves = truth["moves"]
    assert moves.height > 0
    assert (moves["from_uprn"] != moves["to_uprn"]).all()
