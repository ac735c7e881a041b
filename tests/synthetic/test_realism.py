"""Checks that fail if the generator were made trivial: the linkage and early
warning problems it poses must stay hard in the ways real data is hard."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from early_warning.synthetic.episodes import build_episodes
from early_warning.synthetic.settings import GeneratorSettings

AS_OF = date(2026, 3, 31)  # as in conftest.py


def _records_with_truth(
    truth: dict[str, pl.DataFrame], extracts: dict[str, dict[str, pl.DataFrame]]
) -> pl.DataFrame:
    people = pl.concat(
        [f["people"].select(pl.lit(s).alias("source"), pl.all()) for s, f in extracts.items()],
        how="vertical_relaxed",
    )
    return people.join(truth["person_records"], on=["source", "source_person_id"]).join(
        truth["residents"].select(
            "true_person_id",
            true_first="first_name",
            true_last="last_name",
            true_uprn="uprn",
            household_id="household_id",
        ),
        on="true_person_id",
    )


def test_many_people_are_known_to_several_services(truth: dict[str, pl.DataFrame]) -> None:
    per_person = (
        truth["person_records"]
        .filter("in_extract")
        .group_by("true_person_id")
        .agg(pl.col("source").n_unique())
    )
    assert (per_person["source"] >= 3).sum() > 20
    assert (per_person["source"] == 1).sum() > 20


def test_names_are_sometimes_typed_differently_from_the_truth(
    truth: dict[str, pl.DataFrame], extracts: dict[str, dict[str, pl.DataFrame]]
) -> None:
    recs = _records_with_truth(truth, extracts)
    first_differs = recs["first_name"].str.to_lowercase() != recs["true_first"].str.to_lowercase()
    last_differs = recs["last_name"].str.to_lowercase() != recs["true_last"].str.to_lowercase()
    share = (first_differs | last_differs).mean()
    assert isinstance(share, float)
    assert 0.02 < share < 0.2
    nicknamed = recs.filter(
        pl.col("true_first").is_in(["Robert", "William", "Elizabeth", "James", "Michael"])
    )
    assert (nicknamed["first_name"].str.len_chars() < nicknamed["true_first"].str.len_chars() - 1).any()


def test_households_share_a_surname_and_common_surnames_recur_across_addresses(
    truth: dict[str, pl.DataFrame],
) -> None:
    res = truth["residents"]
    same = res.group_by("household_id", "last_name").len().filter(pl.col("len") >= 2)
    assert same.height > 50
    common = res.group_by("last_name").agg(pl.col("household_id").n_unique()).sort("household_id").tail(1)
    assert common["household_id"][0] >= 10
    twins = res.group_by("first_name", "last_name").agg(pl.col("household_id").n_unique())
    assert (twins["household_id"] >= 2).any()  # same name, different people, different homes


def test_some_people_are_registered_twice_in_one_system(truth: dict[str, pl.DataFrame]) -> None:
    recs = truth["person_records"].filter("in_extract")
    twice = recs.group_by("source", "true_person_id").len().filter(pl.col("len") >= 2)
    assert twice.height >= 3
    assert twice.height < 0.05 * recs.height


def test_some_systems_still_hold_an_old_address_after_a_move(
    truth: dict[str, pl.DataFrame], extracts: dict[str, dict[str, pl.DataFrame]]
) -> None:
    recs = _records_with_truth(truth, extracts)
    with_uprn = recs.filter(pl.col("uprn").is_not_null() & pl.col("true_uprn").is_not_null())
    stale = (with_uprn["uprn"] != with_uprn["true_uprn"]).sum()
    assert stale > 0
    assert stale < 0.2 * with_uprn.height


def test_crises_happen_both_before_and_after_the_night_and_many_needs_resolve(
    truth: dict[str, pl.DataFrame],
) -> None:
    ep = truth["episodes"]
    crisis = ep.filter(pl.col("crisis_date").is_not_null())
    assert (crisis["crisis_date"] <= AS_OF).sum() > 5
    assert (crisis["crisis_date"] > AS_OF).sum() > 5
    assert 0.2 < crisis.height / ep.height < 0.55
    assert ep.filter(pl.col("crisis_date").is_null() & pl.col("resolved_date").is_not_null()).height > 20
    assert ep["need_type"].n_unique() >= 7


def test_need_signals_come_before_crises_across_several_services(truth: dict[str, pl.DataFrame]) -> None:
    ev = truth["events_all"].filter(pl.col("episode_id").is_not_null())
    ep = truth["episodes"].filter(pl.col("crisis_date").is_not_null())
    before = ev.join(ep.select("episode_id", "crisis_date"), on="episode_id").filter(
        pl.col("event_date") < pl.col("crisis_date")
    )
    spread = before.group_by("episode_id").agg(pl.col("source").n_unique())
    assert (spread["source"] >= 2).sum() > 10
    # quiet episodes show less before their crisis than the others
    counts = (
        before.group_by("episode_id")
        .len()
        .join(truth["episodes"].select("episode_id", "quiet"), on="episode_id")
    )
    means = counts.group_by("quiet").agg(pl.col("len").mean()).sort("quiet")["len"].to_list()
    assert len(means) == 2
    assert means[1] < means[0]


def test_thresholds_are_crossed_only_when_enforcement_follows(truth: dict[str, pl.DataFrame]) -> None:
    ev = truth["events_all"]
    summons = ev.filter(pl.col("event_type") == "summons")
    nosp = ev.filter(pl.col("event_type") == "nosp_served")
    assert summons.height > 0
    assert (summons["amount"] >= 1000).all()
    assert (nosp["amount"] >= 1500).all()
    calm = truth["episodes"].filter(pl.col("crisis_date").is_null())["episode_id"]
    during = ev.filter(pl.col("episode_id").is_in(calm.implode()) & (pl.col("source") == "council_tax"))
    below = during.group_by("episode_id").agg(pl.col("amount").max())
    assert (below["amount"] < 1000).mean() > 0.97


def test_background_makes_the_problem_honest(truth: dict[str, pl.DataFrame]) -> None:
    res = truth["residents"]
    assert set(res["persona"]) >= {
        "steady",
        "high_contact_fine",
        "single_service_nonpayer",
        "known_asc_older",
        "need_episode",
        "quiet_need",
    }
    ev = truth["events_all"]
    heavy = res.filter(pl.col("persona") == "high_contact_fine")["true_person_id"]
    contacts = ev.filter(pl.col("source") == "contact_centre").group_by("true_person_id").len()
    heavy_mean = contacts.filter(pl.col("true_person_id").is_in(heavy.implode()))["len"].mean()
    other_mean = contacts.filter(~pl.col("true_person_id").is_in(heavy.implode()))["len"].mean()
    assert isinstance(heavy_mean, float)
    assert isinstance(other_mean, float)
    assert heavy_mean > 3 * other_mean
    background = ev.filter(pl.col("episode_id").is_null())
    assert background.filter(pl.col("event_type") == "summons").height > 0  # refusals to pay, no need
    assert background.filter(pl.col("event_type").is_in(["noise_complaint", "report_as_victim"])).height > 0


def test_need_does_not_depend_on_ethnicity_or_sex() -> None:
    rng = np.random.default_rng(0)
    n = 5_000
    adults = pl.DataFrame(
        {
            "true_person_id": np.arange(n),
            "member": rng.integers(0, 2, n),
            "age": rng.integers(18, 90, n),
            "tenure_code": rng.integers(0, 3, n),
            "comp_code": rng.integers(0, 7, n),
            "low_income": rng.random(n) < 0.3,
            "n_children": rng.integers(0, 3, n),
            "arrival": np.zeros(n, int),
            "ethnicity": np.array(["A", "B"])[rng.integers(0, 2, n)],
            "sex": np.array(["F", "M"])[rng.integers(0, 2, n)],
        }
    )
    shuffled = adults.with_columns(pl.col("ethnicity").shuffle(seed=1), pl.col("sex").shuffle(seed=2))
    settings = GeneratorSettings()
    first = build_episodes(np.random.default_rng(5), adults, 18_000, 20_000, settings)
    second = build_episodes(np.random.default_rng(5), shuffled, 18_000, 20_000, settings)
    assert first.height > 100
    assert first.equals(second)
