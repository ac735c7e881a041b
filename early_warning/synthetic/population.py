"""Households, the adults in them, and where they live over time.

Households are drawn by composition (single, couple, family with children,
lone parent, older single or couple, sharers) with tenure and low income
depending on composition, as in the English Housing Survey. Need later
depends on tenure, income and household, never on ethnicity or sex, so the
synthetic world is not unfair by construction.

Only adults (16 and over) become people: children are counted per household
(``n_children``) because children's services records are held against the
parent or carer, so a child is never a person record in any extract.

Members of a household share an address and usually a surname — the
household trap for linkage. Households move (about 9% a year) to a vacant
address of their kind (council tenants to council homes); some arrive during
the window and so appear in the systems only from their arrival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from early_warning.synthetic.identity import (
    emails,
    name_pool,
    nhs_numbers,
    ni_numbers,
    phone_numbers,
)
from early_warning.synthetic.settings import GeneratorSettings
from early_warning.synthetic.vocab import ETHNICITY_SHARES, NAME_POOL_OF_GROUP

COMPOSITIONS = ("single", "couple", "family", "lone_parent", "older_single", "older_couple", "sharers")
_COMP_P = np.array([0.24, 0.21, 0.22, 0.09, 0.10, 0.07, 0.07])
#: (council, private renter, owner) per composition, before scaling to settings.
_TENURE_P = np.array(
    [
        [0.22, 0.35, 0.43],
        [0.10, 0.30, 0.60],
        [0.14, 0.24, 0.62],
        [0.42, 0.35, 0.23],
        [0.26, 0.08, 0.66],
        [0.12, 0.04, 0.84],
        [0.08, 0.66, 0.26],
    ]
)
TENURES = ("council_tenant", "private_renter", "owner")
_LOW_INCOME_BY_TENURE = np.array([0.55, 0.30, 0.07])
_LOW_INCOME_BY_COMP = np.array([0.08, -0.05, 0.0, 0.20, 0.10, 0.0, 0.05])
#: adult age ranges (min, max) per composition, at as_of.
_AGE_RANGE = {0: (18, 64), 1: (20, 72), 2: (23, 56), 3: (18, 55), 4: (66, 97), 5: (66, 94), 6: (18, 42)}


@dataclass(frozen=True)
class Population:
    """People, households and residence spells (days since 1970-01-01).

    ``people``: true_person_id, household_id, member (0 = lead), first_name,
    last_name, sex, ethnicity, dob, birth_year, ni_number, nhs_number, phone,
    old_phone, email.
    ``households``: household_id, composition, tenure, low_income,
    n_children, arrival.
    ``spells``: household_id, address (row of the gazetteer), start, end
    (exclusive; a large number while they still live there).
    """

    people: pl.DataFrame
    households: pl.DataFrame
    spells: pl.DataFrame


def build_population(
    rng: np.random.Generator,
    addresses: pl.DataFrame,
    residents: int,
    start: int,
    as_of: int,
    end: int,
    settings: GeneratorSettings,
) -> Population:
    """Households filling ``residents`` people, their adults and their moves."""
    households = _households(rng, residents, start, end, settings, max_households=int(len(addresses) * 0.97))
    if settings.community_clustering > 0:
        spells = _residence(rng, households, addresses, start, end, settings)
        people = _adults(rng, households, as_of, settings, _first_ward(spells, addresses, households.height))
    else:  # the order the default borough was first generated in, so it stays the same
        people = _adults(rng, households, as_of, settings)
        spells = _residence(rng, households, addresses, start, end, settings)
    return Population(people=people, households=households, spells=spells)


def _households(
    rng: np.random.Generator,
    residents: int,
    start: int,
    end: int,
    settings: GeneratorSettings,
    max_households: int,
) -> pl.DataFrame:
    n_guess = int(residents / 2.0) + 64
    comp = rng.choice(len(COMPOSITIONS), size=n_guess, p=_COMP_P)
    adults = np.select(
        [comp == 1, comp == 2, comp == 5, comp == 6],
        [2, 2 + (rng.random(n_guess) < 0.18), 2, rng.integers(2, 5, n_guess)],
        1,
    ) + ((comp == 3) & (rng.random(n_guess) < 0.15))
    children = np.where(
        np.isin(comp, (2, 3)), rng.choice([1, 2, 3, 4], n_guess, p=[0.35, 0.4, 0.18, 0.07]), 0
    )
    size = adults + children
    n = min(int(np.searchsorted(np.cumsum(size), residents) + 1), max_households)
    comp, adults, children = comp[:n], adults[:n], children[:n]

    tp = _TENURE_P[comp] * np.array(
        [settings.tenure_council / 0.18, settings.tenure_private_rent / 0.27, 1.0]
    )
    tp[:, 2] = np.clip(1 - tp[:, 0] - tp[:, 1], 0.01, None)
    tp /= tp.sum(axis=1, keepdims=True)
    tenure = (rng.random(n)[:, None] > np.cumsum(tp, axis=1)).sum(axis=1)
    low_income = rng.random(n) < _LOW_INCOME_BY_TENURE[tenure] + _LOW_INCOME_BY_COMP[comp]

    years = (end - start) / 365.25
    arrives = rng.random(n) < settings.arrival_rate_per_year * years
    arrival = np.where(arrives, rng.integers(start, end, n), start - rng.integers(30, 365 * 25, n))
    return pl.DataFrame(
        {
            "household_id": np.arange(n, dtype=np.int64),
            "composition": np.array(COMPOSITIONS)[comp],
            "comp_code": comp.astype(np.int8),
            "tenure": np.array(TENURES)[tenure],
            "tenure_code": tenure.astype(np.int8),
            "low_income": low_income,
            "n_adults": adults.astype(np.int16),
            "n_children": children.astype(np.int16),
            "arrival": arrival.astype(np.int64),
        }
    )


def _first_ward(spells: pl.DataFrame, addresses: pl.DataFrame, n_households: int) -> np.ndarray:
    """Code of the ward each household first lives in (-1 if it never finds a home)."""
    ward_code = addresses["ward"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    first = spells.sort("household_id", "start").unique("household_id", keep="first")
    out = np.full(n_households, -1, dtype=np.int64)
    out[first["household_id"].to_numpy()] = ward_code[first["address"].to_numpy()]
    return out


def _ward_backgrounds(
    rng: np.random.Generator, own: np.ndarray, ward: np.ndarray, shares: np.ndarray, share: float
) -> np.ndarray:
    """Backgrounds redrawn, for ``share`` of people, from their ward's own mix.

    Each ward's mix is a Dirichlet draw around the borough's shares with a
    small total concentration (5), so a ward is dominated by a few
    communities while the borough's overall shares stay about the same.
    """
    groups = np.array(list(ETHNICITY_SHARES))
    p = shares / shares.sum()
    mixes = rng.dirichlet(p * 5.0 + 1e-3, size=int(ward.max(initial=0)) + 1)
    redraw = (rng.random(len(own)) < share) & (ward >= 0)
    cum = np.cumsum(mixes[np.clip(ward, 0, None)], axis=1)
    pick = np.minimum((rng.random(len(own))[:, None] > cum).sum(axis=1), len(groups) - 1)
    return np.where(redraw, groups[pick], own)


def _adults(
    rng: np.random.Generator,
    households: pl.DataFrame,
    as_of: int,
    settings: GeneratorSettings,
    lead_ward: np.ndarray | None = None,
) -> pl.DataFrame:
    hh = households.select("household_id", "comp_code", "n_adults").to_numpy()
    hid = np.repeat(hh[:, 0], hh[:, 2])
    comp = np.repeat(hh[:, 1], hh[:, 2])
    member = np.concatenate([np.arange(k) for k in hh[:, 2]]) if len(hh) else np.zeros(0, int)
    n = len(hid)

    lo = np.array([_AGE_RANGE[int(c)][0] for c in range(7)])[comp]
    hi = np.array([_AGE_RANGE[int(c)][1] for c in range(7)])[comp]
    age = lo + (rng.beta(1.6, 2.2, n) * (hi - lo)).astype(int)
    lead_age = np.repeat(age[member == 0], hh[:, 2])
    partner = (member == 1) & np.isin(comp, (1, 2, 5))
    age = np.where(partner, np.clip(lead_age + rng.integers(-6, 7, n), 18, 99), age)
    adult_child = (member >= 1) & np.isin(comp, (2, 3)) & ~partner
    age = np.where(adult_child, rng.integers(16, 25, n), age)
    dob = as_of - age * 365 - rng.integers(0, 365, n)

    sex = np.where(rng.random(n) < 0.5, "M", "F")
    lead_sex = np.repeat(sex[member == 0], hh[:, 2])
    opposite = np.where(lead_sex == "M", "F", "M")
    sex = np.where(partner & (rng.random(n) < 0.9), opposite, sex)
    sex = np.where((comp == 3) & (member == 0), np.where(rng.random(n) < 0.88, "F", "M"), sex)

    groups = np.array(list(ETHNICITY_SHARES))
    shares = np.array(list(ETHNICITY_SHARES.values()))
    own = groups[rng.choice(len(groups), n, p=shares / shares.sum())]
    if lead_ward is not None:
        own = _ward_backgrounds(
            rng, own, np.repeat(lead_ward, hh[:, 2]), shares, settings.community_clustering
        )
    lead_eth = np.repeat(own[member == 0], hh[:, 2])
    ethnicity = np.where((comp != 6) & (rng.random(n) < 0.85), lead_eth, own)

    first = np.empty(n, dtype=object)
    own_last = np.empty(n, dtype=object)
    pool_of = np.array([NAME_POOL_OF_GROUP.get(g, "en_GB") for g in ethnicity])
    pool_of = np.where(rng.random(n) < 0.25, "en_GB", pool_of)
    for locale in sorted(set(pool_of.tolist())):
        idx = np.flatnonzero(pool_of == locale)
        pool = name_pool(locale)
        first[idx] = pool.first_names(rng, sex[idx], settings.name_concentration)
        own_last[idx] = pool.last_names(rng, len(idx), settings.name_concentration)
    lead_last = np.repeat(own_last[member == 0], hh[:, 2])
    shares_surname = (comp != 6) & ((~partner) | (rng.random(n) < 0.72))
    last = np.where(shares_surname, lead_last, own_last)
    if settings.namesake_child_share > 0:
        lead_first = np.repeat(first[member == 0], hh[:, 2])
        namesake = adult_child & (sex == lead_sex) & (rng.random(n) < settings.namesake_child_share)
        first = np.where(namesake, lead_first, first)

    phone = phone_numbers(rng, 2 * n)
    has_phone = rng.random(n) < 0.9
    has_email = rng.random(n) < np.clip(0.95 - age * 0.008, 0.25, 0.9)
    birth_year = (1970 + dob / 365.25).astype(int)
    email = np.array(emails(rng, first.tolist(), last.tolist(), birth_year), dtype=object)
    return pl.DataFrame(
        {
            "true_person_id": np.arange(n, dtype=np.int64),
            "household_id": hid.astype(np.int64),
            "member": member.astype(np.int16),
            "first_name": first.tolist(),
            "last_name": last.tolist(),
            "sex": sex,
            "ethnicity": ethnicity,
            "dob": dob.astype(np.int64),
            "birth_year": birth_year.astype(np.int32),
            "age": age.astype(np.int16),
            "ni_number": ni_numbers(rng, n),
            "nhs_number": nhs_numbers(rng, n),
            "phone": [
                x if ok else None for x, ok in zip(phone[:n].tolist(), has_phone.tolist(), strict=True)
            ],
            "old_phone": phone[n:],
            "email": [x if ok else None for x, ok in zip(email.tolist(), has_email.tolist(), strict=True)],
        }
    )


def _residence(
    rng: np.random.Generator,
    households: pl.DataFrame,
    addresses: pl.DataFrame,
    start: int,
    end: int,
    settings: GeneratorSettings,
) -> pl.DataFrame:
    """Where each household lives when: initial homes, arrivals and moves.

    A sequential pass in date order over arrivals and moves, each taking a
    random vacant address of its kind (falling back to any vacant address),
    so no two households ever share an address at the same time.
    """
    tenure = households["tenure_code"].to_numpy()
    arrival = households["arrival"].to_numpy()
    n = len(tenure)
    council = addresses["council_owned"].to_numpy()
    rate = settings.move_rate_per_year * np.array([0.6, 2.0, 0.5])[tenure]
    years = (end - np.maximum(arrival, start)) / 365.25
    n_moves = rng.poisson(rate * np.clip(years, 0, None))
    moves: list[tuple[int, int, int]] = []
    for h in np.flatnonzero(n_moves).tolist():
        first = max(int(arrival[h]), start) + 60
        if first < end:
            moves.extend((int(d), 1, int(h)) for d in rng.integers(first, end, n_moves[h]))
    entries = [(int(arrival[h]), 0, int(h)) for h in range(n) if arrival[h] >= start]
    events = sorted(moves + entries)

    pools = [list(rng.permutation(np.flatnonzero(~council))), list(rng.permutation(np.flatnonzero(council)))]
    current = np.full(n, -1, dtype=np.int64)
    rows: list[tuple[int, int, int, int]] = []
    since = np.full(n, -1, dtype=np.int64)

    def take(kind: int) -> int:
        pool = pools[kind] if pools[kind] else pools[1 - kind]
        if not pool:
            return -1
        j = int(rng.integers(len(pool)))
        pool[j], pool[-1] = pool[-1], pool[j]
        return int(pool.pop())

    for present in np.flatnonzero(arrival < start).tolist():
        current[present] = take(int(tenure[present] == 0))
        since[present] = arrival[present]
    for day, _, h in events:
        old = int(current[h])
        new = take(int(tenure[h] == 0))
        if new < 0:  # nowhere free: stay put (a move) or cannot happen (arrivals fit by construction)
            continue
        if old >= 0:
            rows.append((h, old, int(since[h]), day))
        current[h] = new
        since[h] = day
        if old >= 0:
            pools[int(council[old])].append(int(old))
    for h in np.flatnonzero(current >= 0).tolist():
        rows.append((int(h), int(current[h]), int(since[h]), 10**7))
    spells = pl.DataFrame(
        rows,
        schema={"household_id": pl.Int64, "address": pl.Int64, "start": pl.Int64, "end": pl.Int64},
        orient="row",
    )
    return spells.sort("household_id", "start")
