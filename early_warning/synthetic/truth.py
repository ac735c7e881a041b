"""Ground truth tables, built from the generator's own state.

They say what the product is trying to recover: which records are the same
person, who lives where with whom, who was in need, when it began, and how it
ended. Dates are ``pl.Date``. The product never reads these files.
"""

from __future__ import annotations

import polars as pl

from early_warning.synthetic.episodes import CRISIS_SOURCE


def _date(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def finalise_episodes(
    episodes: pl.DataFrame, crisis_days: dict[int, int], events: pl.DataFrame, start: int, end: int
) -> pl.DataFrame:
    """Episodes as they actually turned out.

    A crisis date is the date of the crisis or enforcement event that really
    happened in ``events_all`` (for a summons, the day arrears let the council
    issue it, which may be later than planned). A crisis that fell outside
    the generated window (before the first year, or after the horizon) has
    no event, so it is recorded as no crisis, and ``resolved_date`` is null
    when the need had not resolved by the horizon.
    """
    crisis_events = (
        events.filter(pl.col("episode_id").is_not_null())
        .join(
            pl.DataFrame({"event_type": list(CRISIS_SOURCE), "source": list(CRISIS_SOURCE.values())}),
            on=["source", "event_type"],
        )
        .group_by("episode_id", "event_type")
        .agg(crisis_day=pl.col("day").min())
        .rename({"event_type": "crisis_kind"})
    )
    out = episodes.join(crisis_events, on=["episode_id", "crisis_kind"], how="left")
    money = pl.DataFrame(
        {"episode_id": list(crisis_days), "money_day": list(crisis_days.values())},
        schema={"episode_id": pl.Int64, "money_day": pl.Int64},
    )
    out = out.join(money, on="episode_id", how="left").with_columns(
        crisis_day=pl.coalesce("money_day", "crisis_day")
    )
    has = pl.col("crisis_day").is_not_null()
    resolved = (
        pl.when(has).then(pl.max_horizontal("resolved", pl.col("crisis_day") + 30)).otherwise("resolved")
    )
    return (
        out.with_columns(resolved=pl.when(pl.col("resolved") >= 0).then(resolved))
        .with_columns(resolved=pl.when(pl.col("resolved") < end).then("resolved"))
        .select(
            "episode_id",
            "true_person_id",
            "need_type",
            onset=_date(pl.col("onset")),
            crisis_date=_date(pl.col("crisis_day")),
            crisis_kind=pl.when(has).then(pl.col("crisis_kind")),
            resolved_date=_date(pl.col("resolved")),
            severity="severity",
            quiet="quiet",
        )
        .sort("episode_id")
    )


def residents_table(
    adults: pl.DataFrame, personas: pl.DataFrame, spells: pl.DataFrame, addresses: pl.DataFrame, as_of: int
) -> pl.DataFrame:
    """One row per adult: who they are, where they live on ``as_of``, persona.

    ``uprn`` is null for people who only arrive after ``as_of``.
    """
    gaz = (
        addresses.select("uprn", "ward", "locality")
        .with_row_index("address")
        .with_columns(pl.col("address").cast(pl.Int64))
    )
    now = (
        spells.filter((pl.col("start") <= as_of) & (pl.col("end") > as_of))
        .join(gaz, on="address")
        .select("household_id", "uprn", "ward", "locality")
    )
    return (
        adults.join(now, on="household_id", how="left")
        .join(personas, on="true_person_id")
        .select(
            "true_person_id",
            "household_id",
            "uprn",
            "first_name",
            "last_name",
            "sex",
            "ethnicity",
            "birth_year",
            dob=_date(pl.col("dob")),
            age="age",
            tenure="tenure",
            composition="composition",
            n_children="n_children",
            low_income="low_income",
            locality="locality",
            ward="ward",
            persona="persona",
            arrival=_date(pl.col("arrival")),
        )
        .sort("true_person_id")
    )


def moves_table(adults: pl.DataFrame, spells: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """Every move of every adult within the borough."""
    uprn = addresses.select("uprn").with_row_index("address").with_columns(pl.col("address").cast(pl.Int64))
    sp = spells.sort("household_id", "start").join(uprn, on="address").sort("household_id", "start")
    moves = sp.with_columns(
        from_uprn=pl.col("uprn").shift(1).over("household_id"),
        first=pl.col("start") == pl.col("start").min().over("household_id"),
    ).filter(~pl.col("first"))
    return (
        moves.join(adults.select("true_person_id", "household_id"), on="household_id")
        .select("true_person_id", "from_uprn", to_uprn="uprn", move_date=_date(pl.col("start")))
        .sort("true_person_id", "move_date")
    )
