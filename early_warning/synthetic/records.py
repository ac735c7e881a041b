"""Each system's own record of a person, and which events hang off which record.

A source holds a record for a person from the day it first knew them (an
account opened, a claim made, a first contact). About 1.5% of records are
registered a second time later on (a new claim, a second contact logged as a
new client): the events after that day hang off the second record, and the
second record is typed afresh, so it differs slightly from the first.

What a record says about the person follows that system's habits
(``HABITS``): which optional fields it holds and how often, how it writes
names, addresses and phone numbers, how often it mistypes, and whether and
how fast it learns of a move (some never do: a homelessness or ASB record
keeps the address given at the time). Identifiers are random per source, so
their order says nothing about the person or the household.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from early_warning.synthetic.noise import format_address, format_phone, format_postcode, nickname, typo
from early_warning.synthetic.settings import GeneratorSettings
from early_warning.synthetic.vocab import BOROUGH_TOWN, SEX_STYLES


@dataclass(frozen=True)
class Habit:
    """What one system holds and how it types it (probabilities, multipliers)."""

    id_prefix: str
    id_digits: int
    dob: float
    ni: float
    nhs: float
    phone: float
    email: float
    address: float
    postcode: float
    uprn: float
    sex: float
    ethnicity: float
    nick: float  # multiplier of the nickname rate
    typo: float  # multiplier of the typo rate
    initial: float  # multiplier of the initial rate
    case: str  # "title", "upper", "upper_last", "mixed"
    address_style: str
    phone_style: int
    sex_style: int
    update: float  # chance the system learns of a move
    lag: tuple[int, int]  # days it takes to learn of it
    drop_flat: float = 0.03
    abbreviate: float = 0.1


HABITS: dict[str, Habit] = {
    "council_tax": Habit(
        "CT",
        8,
        0.06,
        0.02,
        0.0,
        0.45,
        0.35,
        1.0,
        0.99,
        1.0,
        0.0,
        0.0,
        0.6,
        0.8,
        2.5,
        "upper",
        "upper",
        0,
        0,
        0.97,
        (0, 45),
    ),
    "housing_rent": Habit(
        "T",
        6,
        0.97,
        0.88,
        0.0,
        0.85,
        0.45,
        1.0,
        1.0,
        1.0,
        0.0,
        0.0,
        0.5,
        0.8,
        0.3,
        "upper",
        "flat_after",
        2,
        0,
        1.0,
        (0, 14),
    ),
    "benefits": Habit(
        "HB",
        7,
        0.99,
        0.98,
        0.0,
        0.6,
        0.35,
        0.99,
        0.97,
        0.85,
        0.95,
        0.3,
        0.3,
        0.6,
        0.3,
        "title",
        "abbrev_slash",
        1,
        0,
        0.88,
        (10, 120),
    ),
    "contact_centre": Habit(
        "CRM-",
        7,
        0.12,
        0.0,
        0.0,
        0.85,
        0.55,
        0.6,
        0.65,
        0.0,
        0.0,
        0.0,
        2.5,
        2.0,
        1.0,
        "mixed",
        "typed",
        1,
        0,
        0.5,
        (0, 365),
        0.12,
        0.5,
    ),
    "adult_social_care": Habit(
        "",
        7,
        0.99,
        0.3,
        0.92,
        0.8,
        0.1,
        0.98,
        0.98,
        0.4,
        0.98,
        0.85,
        0.8,
        0.8,
        0.2,
        "upper_last",
        "with_postcode",
        3,
        1,
        0.85,
        (30, 180),
    ),
    "childrens_services": Habit(
        "CS",
        6,
        0.9,
        0.25,
        0.35,
        0.85,
        0.35,
        0.95,
        0.95,
        0.2,
        0.95,
        0.85,
        1.2,
        1.2,
        0.3,
        "title",
        "street_first",
        1,
        2,
        0.8,
        (20, 150),
    ),
    "homelessness": Habit(
        "HL",
        6,
        0.96,
        0.65,
        0.1,
        0.92,
        0.5,
        0.85,
        0.8,
        0.3,
        0.95,
        0.9,
        1.0,
        1.2,
        0.5,
        "title",
        "short",
        0,
        1,
        0.0,
        (0, 0),
    ),
    "asb": Habit(
        "ASB",
        6,
        0.15,
        0.0,
        0.0,
        0.7,
        0.35,
        0.7,
        0.55,
        0.0,
        0.0,
        0.0,
        1.5,
        2.0,
        1.5,
        "title",
        "short",
        1,
        0,
        0.0,
        (0, 0),
        0.3,
        0.6,
    ),
}


def build_records(
    rng: np.random.Generator,
    events: pl.DataFrame,
    extra: pl.DataFrame,
    sources: list[str],
    start: int,
    end: int,
    settings: GeneratorSettings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every source record, and the events with the record they belong to.

    Returns ``records`` (record, source, true_person_id, source_person_id,
    registered, duplicate) and ``events`` with ``record`` and
    ``source_person_id`` added.
    """
    first = events.group_by("source", "true_person_id").agg(registered=pl.col("day").min())
    base = (
        pl.concat([first, extra.select("source", "true_person_id", pl.col("registered").cast(pl.Int64))])
        .group_by("source", "true_person_id")
        .agg(pl.col("registered").min())
        .filter(pl.col("source").is_in(sources))
        .sort("source", "true_person_id")
    )
    n = len(base)
    dup = rng.random(n) < settings.duplicate_rate
    reg = base["registered"].to_numpy()
    lo = np.maximum(reg + 30, start)
    dup &= lo < end
    dup_day = lo + (rng.random(n) * np.clip(end - lo, 1, None)).astype(np.int64)
    originals = base.with_columns(duplicate=pl.lit(False))
    seconds = base.filter(pl.Series(dup)).with_columns(
        registered=pl.Series(dup_day[dup]), duplicate=pl.lit(True)
    )
    records = pl.concat([originals, seconds]).sort("source", "true_person_id", "registered")
    records = records.with_row_index("record").with_columns(pl.col("record").cast(pl.Int64))

    ids = []
    for source in sorted(sources):
        k = int((records["source"] == source).sum())
        habit = HABITS[source]
        numbers = rng.choice(
            10**habit.id_digits - 10 ** (habit.id_digits - 1), size=k, replace=False
        ) + 10 ** (habit.id_digits - 1)
        ids.append(pl.Series([f"{habit.id_prefix}{x}" for x in numbers.tolist()], dtype=pl.String))
    records = records.sort("source", "record").with_columns(
        source_person_id=pl.concat(ids) if ids else pl.lit(None, pl.String)
    )
    records = records.sort("record")

    second = seconds.select("source", "true_person_id", dup_from="registered")
    tagged = (
        events.join(second, on=["source", "true_person_id"], how="left")
        .with_columns(duplicate=pl.col("dup_from").is_not_null() & (pl.col("day") >= pl.col("dup_from")))
        .drop("dup_from")
        .join(
            records.select("source", "true_person_id", "duplicate", "record", "source_person_id"),
            on=["source", "true_person_id", "duplicate"],
            how="left",
        )
        .drop("duplicate")
    )
    return records, tagged


def people_rows(
    rng: np.random.Generator,
    source: str,
    records: pl.DataFrame,
    people: pl.DataFrame,
    spells: pl.DataFrame,
    addresses: pl.DataFrame,
    as_of: int,
    settings: GeneratorSettings,
) -> pl.DataFrame:
    """The contract's people columns for one source's records in the extract."""
    habit = HABITS[source]
    recs = (
        records.filter(pl.col("source") == source)
        .join(people, on="true_person_id", how="left")
        .sort("record")
    )
    n = len(recs)
    lag = rng.integers(habit.lag[0], habit.lag[1] + 1, n)
    learns = rng.random(n) < habit.update
    reg = recs["registered"].to_numpy()
    seen = np.where(learns, np.maximum(reg, as_of - lag), reg)
    held = _address_at(recs["household_id"].to_numpy(), seen, spells)
    addr = addresses.select("flat", "number", "street", "postcode", "uprn").to_numpy()
    u = rng.random((n, 24))
    firsts, lasts = recs["first_name"].to_list(), recs["last_name"].to_list()
    dobs = recs["dob"].to_numpy()
    ni, nhs = recs["ni_number"].to_list(), recs["nhs_number"].to_list()
    phones, old_phones, mails = recs["phone"].to_list(), recs["old_phone"].to_list(), recs["email"].to_list()
    sexes, eths = recs["sex"].to_list(), recs["ethnicity"].to_list()
    s = settings
    out: dict[str, list] = {
        k: []
        for k in (
            "first_name",
            "last_name",
            "ni_number",
            "nhs_number",
            "phone",
            "email",
            "address",
            "postcode",
            "uprn",
            "sex",
            "ethnicity",
        )
    }
    dob_out = np.full(n, -(10**6), dtype=np.int64)
    for i in range(n):
        r = u[i]
        first, last = firsts[i], lasts[i]
        if r[0] < s.nickname_rate * habit.nick:
            first = nickname(first, r[1])
        if r[2] < s.initial_rate * habit.initial:
            first = first[0]
        if r[3] < s.typo_rate * habit.typo:
            first = typo(first, int(r[4] * 4), r[5])
        if r[6] < s.typo_rate * habit.typo:
            last = typo(last, int(r[7] * 4), r[8])
        if r[9] < s.swap_names_rate:
            first, last = last, first
        first, last = _case(habit.case, first, last, r[10])
        out["first_name"].append(first)
        out["last_name"].append(last)
        if r[11] < habit.dob:
            dob_out[i] = _dob_noise(int(dobs[i]), r[12], s.dob_swap_rate)
        out["ni_number"].append(ni[i] if r[13] < habit.ni else None)
        out["nhs_number"].append(nhs[i] if r[14] < habit.nhs else None)
        phone = old_phones[i] if r[15] < 0.12 else phones[i]
        out["phone"].append(format_phone(phone, habit.phone_style) if phone and r[16] < habit.phone else None)
        mail = mails[i]
        out["email"].append(mail if mail and r[17] < habit.email else None)
        a = held[i]
        flat, number, street, postcode, uprn = addr[a]
        style = habit.address_style
        out["address"].append(
            format_address(
                style,
                int(flat),
                int(number),
                str(street),
                BOROUGH_TOWN,
                str(postcode),
                bool(r[18] < habit.drop_flat),
                bool(r[19] < habit.abbreviate),
            )
            if r[20] < habit.address
            else None
        )
        pc_style = int(r[21] * 3) if habit.case == "mixed" else 0
        out["postcode"].append(format_postcode(str(postcode), pc_style) if r[22] < habit.postcode else None)
        out["uprn"].append(str(uprn) if r[23] < habit.uprn else None)
        out["sex"].append(SEX_STYLES[habit.sex_style][sexes[i]] if r[1] < habit.sex else None)
        out["ethnicity"].append(eths[i] if r[5] < habit.ethnicity else None)
    frame = pl.DataFrame(
        {
            "source_person_id": recs["source_person_id"],
            **out,
            "dob": pl.Series(dob_out).cast(pl.Int32).cast(pl.Date),
        },
        schema_overrides=dict.fromkeys(out, pl.String),
    )
    return frame.with_columns(dob=pl.when(pl.col("dob") > pl.date(1800, 1, 1)).then(pl.col("dob")))


def _case(case: str, first: str, last: str, r: float) -> tuple[str, str]:
    if case == "upper":
        return first.upper(), last.upper()
    if case == "upper_last":
        return first, last.upper()
    if case == "mixed" and r < 0.1:
        return first.lower(), last.lower()
    return first, last


def _dob_noise(dob: int, r: float, swap_rate: float) -> int:
    """Day and month swapped (when both can be a month), or a year slip."""
    if r >= swap_rate * 1.5:
        return dob
    d = np.datetime64(dob, "D").astype(object)
    if r < swap_rate and d.day <= 12 and d.day != d.month:
        return int(np.datetime64(d.replace(month=d.day, day=d.month), "D").astype(np.int64))
    year = d.year + (1 if r * 1000 % 2 < 1 else -1)
    day = min(d.day, 28) if d.month == 2 else d.day
    return int(np.datetime64(d.replace(year=year, day=day), "D").astype(np.int64))


def _address_at(household: np.ndarray, day: np.ndarray, spells: pl.DataFrame) -> np.ndarray:
    """The household's address (gazetteer row) on each day."""
    q = pl.DataFrame({"household_id": household, "day": day}).with_row_index("_i")
    sp = spells.select("household_id", pl.col("start").alias("day"), "address").sort("day")
    back = q.sort("day").join_asof(
        sp, on="day", by="household_id", strategy="backward", check_sortedness=False
    )
    fwd = q.sort("day").join_asof(sp, on="day", by="household_id", strategy="forward", check_sortedness=False)
    merged = back.join(fwd.select("_i", fwd_address="address"), on="_i").sort("_i")
    return merged.select(pl.coalesce("address", "fwd_address")).to_series().to_numpy()
