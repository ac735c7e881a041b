"""The extracts are exactly in the data contract's shape (DATA_CONTRACT.md s.1)."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest

from early_warning.config import EVENT_COLUMNS, GAZETTEER_COLUMNS, PEOPLE_COLUMNS, Config
from early_warning.synthetic import GenerationSummary

AS_OF = date(2026, 3, 31)  # as in conftest.py
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DMY = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def test_the_folder_holds_a_gazetteer_and_people_and_events_for_every_configured_source(
    borough: GenerationSummary, config: Config
) -> None:
    root = borough.out_dir / "extracts"
    assert (root / "gazetteer.csv").is_file()
    for source in config.sources:
        suffix = "parquet" if source == "benefits" else "csv"
        assert (root / source / f"people.{suffix}").is_file()
        assert (root / source / f"events.{suffix}").is_file()
    assert {p.name for p in root.iterdir() if p.is_dir()} == set(config.sources)


def test_every_file_has_exactly_the_contract_columns_or_the_mapped_names(
    borough: GenerationSummary, config: Config
) -> None:
    root = borough.out_dir / "extracts"
    assert pl.read_csv(root / "gazetteer.csv", n_rows=1).columns == list(GAZETTEER_COLUMNS)
    for source in config.sources:
        mapping = config.mapping_for(source)
        for kind, columns, renames in (
            ("people", PEOPLE_COLUMNS, mapping.people),
            ("events", EVENT_COLUMNS, mapping.events),
        ):
            folder = root / source
            path = folder / f"{kind}.parquet" if source == "benefits" else folder / f"{kind}.csv"
            header = (
                pl.read_parquet_schema(path)
                if path.suffix == ".parquet"
                else pl.read_csv(path, n_rows=1).schema
            )
            assert list(header) == [renames.get(c, c) for c in columns], f"{source}/{kind}"


def test_the_two_mapped_sources_really_use_renamed_columns_and_dd_mm_yyyy_dates(
    borough: GenerationSummary, config: Config
) -> None:
    mapped = [s for s in config.sources if config.mapping_for(s).date_format == "dd/mm/yyyy"]
    assert sorted(mapped) == ["adult_social_care", "housing_rent"]
    for source in config.sources:
        mapping = config.mapping_for(source)
        if source == "benefits":
            events = pl.read_parquet(borough.out_dir / "extracts" / source / "events.parquet")
            assert events.schema["event_date"] == pl.Date
            continue
        events = pl.read_csv(borough.out_dir / "extracts" / source / "events.csv", infer_schema=False)
        dates = events[mapping.events.get("event_date", "event_date")].to_list()
        pattern = DMY if mapping.date_format == "dd/mm/yyyy" else ISO
        assert dates, source
        assert all(pattern.match(d) for d in dates), source
        people = pl.read_csv(borough.out_dir / "extracts" / source / "people.csv", infer_schema=False)
        dobs = people[mapping.people.get("dob", "dob")].drop_nulls().to_list()
        assert all(pattern.match(d) for d in dobs), source


def test_gazetteer_has_unique_12_digit_uprns_shared_postcodes_and_the_configured_localities(
    borough: GenerationSummary, config: Config
) -> None:
    gaz = pl.read_csv(borough.out_dir / "extracts" / "gazetteer.csv", infer_schema=False)
    assert gaz["uprn"].str.contains(r"^\d{12}$").all()
    assert gaz["uprn"].n_unique() == len(gaz)
    assert gaz["postcode"].str.contains(r"^KM\d{1,2} \d[A-Z]{2}$").all()
    per_postcode = gaz.group_by("postcode").len()["len"]
    assert per_postcode.mean() > 5  # neighbours share a postcode
    assert set(gaz["locality"]) == set(config.localities.localities)
    assert 15 <= gaz["ward"].n_unique() <= 20
    assert gaz["address"].str.starts_with("Flat ").any()
    # one street number on one street always has one postcode
    building = gaz.with_columns(building=pl.col("address").str.replace(r"^Flat \d+, ", ""))
    assert building.group_by("building").agg(pl.col("postcode").n_unique())["postcode"].max() == 1


def test_event_types_topics_and_channels_come_from_the_configuration(
    extracts: dict[str, dict[str, pl.DataFrame]], config: Config
) -> None:
    for source, frames in extracts.items():
        events = frames["events"]
        assert set(events["event_type"]) <= set(_vocabulary(config, source)), source
        assert set(events["channel"].drop_nulls()) <= set(config.channels), source
        topics = set(events["topic"].drop_nulls())
        assert topics <= set(config.sources[source].topics), source


def test_most_of_the_vocabulary_is_used_even_in_a_small_borough(
    truth: dict[str, pl.DataFrame], config: Config
) -> None:
    used = set(truth["events_all"].select("source", "event_type").unique().iter_rows())
    everything = {(s, t) for s in config.sources for t in _vocabulary(config, s)}
    assert used <= everything
    assert len(used) >= len(everything) - 6, sorted(everything - used)


def test_ids_are_unique_and_every_event_belongs_to_a_person_in_that_source(
    extracts: dict[str, dict[str, pl.DataFrame]],
) -> None:
    for source, frames in extracts.items():
        people, events = frames["people"], frames["events"]
        assert people["source_person_id"].n_unique() == len(people), source
        assert events["event_id"].n_unique() == len(events), source
        assert set(events["source_person_id"]) <= set(people["source_person_id"]), source
        assert people["first_name"].is_not_null().all() or source == "asb"


def test_nothing_in_the_extract_happens_after_the_night_it_was_taken(
    extracts: dict[str, dict[str, pl.DataFrame]],
) -> None:
    for source, frames in extracts.items():
        assert frames["events"]["event_date"].max() <= AS_OF, source
        assert frames["people"]["dob"].drop_nulls().max() <= AS_OF, source


@pytest.mark.parametrize("source", ["council_tax", "housing_rent"])
def test_arrears_sources_carry_a_non_negative_balance_on_every_event(
    extracts: dict[str, dict[str, pl.DataFrame]], source: str
) -> None:
    amount = extracts[source]["events"]["amount"]
    assert amount.null_count() == 0
    assert amount.min() >= 0
    assert amount.max() > 500  # somebody is in real arrears


def test_identifiers_have_valid_shapes(extracts: dict[str, dict[str, pl.DataFrame]]) -> None:
    from early_warning.synthetic.identity import nhs_check_digit

    people = pl.concat([f["people"].select("ni_number", "nhs_number", "email") for f in extracts.values()])
    ni = people["ni_number"].drop_nulls()
    assert len(ni) > 100
    assert ni.str.contains(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$").all()
    nhs = people["nhs_number"].drop_nulls()
    assert len(nhs) > 10
    digits = nhs.to_numpy().astype("int64")
    assert (nhs_check_digit(digits // 10) == digits % 10).all()
    assert people["email"].drop_nulls().str.contains(r"^[a-z0-9._]+@[a-z.]+$").all()


def _vocabulary(config: Config, source: str) -> set[str]:
    events = config.sources[source].events
    return {
        t for role in ("routine", "signal", "service", "enforcement", "crisis") for t in getattr(events, role)
    }
