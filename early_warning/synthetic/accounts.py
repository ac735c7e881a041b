"""Council-tax and rent accounts of every household, and their events.

Builds who holds which account (the household's lead adult, and a joint
liable adult or joint tenant for some couples), which accounts a need
episode or a refusal to pay disrupts, and then runs the ledgers in
``ledger.py``: numpy for the many accounts paid on time, a month-by-month
walk for the few that are not.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from early_warning.synthetic.events import EventBuffer
from early_warning.synthetic.ledger import (
    CT,
    RENT,
    Disruption,
    due_rows,
    explode_ranges,
    routine_events,
    simulate_account,
)
from early_warning.synthetic.settings import GeneratorSettings

#: chance per month that a struggling household misses (CT, rent), by need type.
_MISS = {
    "income_shock": 0.55,
    "mental_health": 0.35,
    "domestic_abuse": 0.2,
    "addiction": 0.5,
    "bereavement": 0.25,
    "illness": 0.3,
    "relationship_breakdown": 0.35,
    "housing_conditions": 0.05,
    "housing_loss": 0.1,
}


def money_events(
    rng: np.random.Generator,
    buf: EventBuffer,
    adults: pl.DataFrame,
    spells: pl.DataFrame,
    addresses: pl.DataFrame,
    episodes: pl.DataFrame,
    personas: pl.DataFrame,
    start: int,
    end: int,
    settings: GeneratorSettings,
    progress: bool = False,
    shown: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict[int, int]]:
    """Write every council-tax and rent event to ``buf``.

    ``shown`` (episode_id, source; ``footprints.visible_sources``) limits the
    accounts an episode shows in while its need is emerging; ``None`` means
    every account it can reach.

    Returns the account records (source, true_person_id, registered) and the
    actual day of each summons / notice-of-seeking-possession crisis by
    episode id (an episode whose arrears never reached the threshold before
    the horizon is missing from it).
    """
    leads = adults.filter(pl.col("member") == 0).select("household_id", holder="true_person_id")
    ct_spells = spells.join(leads, on="household_id").sort("household_id", "start")
    council = addresses["council_owned"].to_numpy()
    tenants = adults.filter((pl.col("member") == 0) & (pl.col("tenure_code") == 0))["household_id"]
    council_of = pl.DataFrame({"address": np.arange(len(council), dtype=np.int64), "council": council})
    rent_spells = (
        ct_spells.join(council_of, on="address")
        .filter(pl.col("council") & pl.col("household_id").is_in(tenants.implode()))
        .drop("council")
        .sort("household_id", "start")
    )
    disruptions = _disruptions(rng, adults, episodes, personas, start, end, shown)
    crisis_days: dict[int, int] = {}
    for kind, acc_spells in ((CT, ct_spells), (RENT, rent_spells)):
        rows = due_rows(kind, acc_spells, addresses, start, end, settings.ct_instalments)
        hit = pl.Series(sorted(disruptions[kind]), dtype=pl.Int64)
        calm = rows.filter(~pl.col("household_id").is_in(hit.implode()))
        one_off = settings.one_off_signal_rate * 0.25 / (settings.ct_instalments if kind == CT else 12)
        routine_events(rng, buf, kind, calm, one_off)
        crisis_days.update(_walk_disrupted(rng, buf, kind, rows, disruptions[kind], end, progress))
        _account_markers(rng, buf, kind, acc_spells, start, end)
    return _account_records(rng, adults, ct_spells, rent_spells), crisis_days


def _disruptions(
    rng: np.random.Generator,
    adults: pl.DataFrame,
    episodes: pl.DataFrame,
    personas: pl.DataFrame,
    start: int,
    end: int,
    shown: pl.DataFrame | None = None,
) -> dict[str, dict[int, list[Disruption]]]:
    """Disruptions per account kind, keyed by household id, in onset order.

    An account an episode does not show in (``shown``) misses nothing while
    the need emerges; if it is where the crisis happens, the escalation to
    that crisis still runs (the crisis itself is never hidden).
    """
    info = adults.select("true_person_id", "household_id", "tenure_code")
    eps = episodes.join(info, on="true_person_id").sort("onset", "episode_id")
    out: dict[str, dict[int, list[Disruption]]] = {CT: {}, RENT: {}}
    visible: set[tuple[int, str]] | None = None
    if shown is not None:
        visible = set(shown.select("episode_id", "source").iter_rows())
    for row in eps.iter_rows(named=True):
        base = _MISS[row["need_type"]] * (0.5 + row["severity"]) * (0.25 if row["quiet"] else 1.0)
        planned, resolved = row["planned_crisis"], row["resolved"]
        for kind, venue in ((CT, "summons"), (RENT, "nosp_served")):
            if kind == RENT and row["tenure_code"] != 0:
                continue
            is_venue = row["crisis_kind"] == venue
            if base < 0.05 and not is_venue:
                continue
            hidden = visible is not None and (row["episode_id"], kind) not in visible
            if hidden and not is_venue:
                continue
            stop = planned if planned >= 0 else resolved
            out[kind].setdefault(row["household_id"], []).append(
                Disruption(
                    start=row["onset"] + 15,
                    end=stop,
                    p_miss=0.0 if hidden else min(base, 0.9),
                    crisis=planned if is_venue else -1,
                    resolved=resolved if (resolved >= 0 or is_venue) else stop + 120,
                    episode=row["episode_id"],
                )
            )
    nonpayers = personas.filter(pl.col("persona") == "single_service_nonpayer").join(
        info, on="true_person_id"
    )
    t0 = rng.integers(start, max(start + 1, end - 200), len(nonpayers))
    for hid, day in zip(nonpayers["household_id"].to_list(), t0.tolist(), strict=True):
        out[CT].setdefault(hid, []).append(Disruption(start=day, end=day, p_miss=0.0, nonpayer=True))
    return out


def _walk_disrupted(
    rng: np.random.Generator,
    buf: EventBuffer,
    kind: str,
    rows: pl.DataFrame,
    disruptions: dict[int, list[Disruption]],
    end: int,
    progress: bool,
) -> dict[int, int]:
    hit = rows.filter(pl.col("household_id").is_in(pl.Series(sorted(disruptions), dtype=pl.Int64).implode()))
    crisis_days: dict[int, int] = {}
    out: list[tuple[str, int, int, str, float | None, str | None, str | None, int | None]] = []
    if hit.is_empty():
        return crisis_days
    hid = hit["household_id"].to_numpy()
    holder = hit["holder"].to_numpy()
    arr = hit.select("day", "due", "fy").to_numpy().astype(np.float64)
    bounds = np.flatnonzero(np.diff(hid)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    stops = np.concatenate([bounds, [len(hid)]]).astype(np.int64)
    iterator: Iterable[tuple[int, int]] = zip(starts.tolist(), stops.tolist(), strict=True)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(starts), desc=f"{kind} accounts in difficulty", unit="account")
    for i0, i1 in iterator:
        h = int(hid[i0])
        crisis_days.update(simulate_account(rng, kind, int(holder[i0]), arr[i0:i1], disruptions[h], end, out))
    buf.extend_rows(out)
    return crisis_days


def _account_markers(
    rng: np.random.Generator, buf: EventBuffer, kind: str, acc_spells: pl.DataFrame, start: int, end: int
) -> None:
    """Bills (council tax) and tenancy start/end (rent). Their amount is filled
    in later from the account's arrears at that day (``fill_marker_amounts``)."""
    s = acc_spells.select("holder", "start", "end").to_numpy()
    holder, s0, s1 = s[:, 0], s[:, 1], s[:, 2]
    if kind == CT:
        new = (s0 + 14 >= start) & (s0 + 14 < end)
        buf.add(CT, holder[new], s0[new] + 14, "bill_issued", amount=np.full(new.sum(), -1.0))
        years = np.arange(
            np.datetime64(int(start), "D").astype("datetime64[Y]"),
            np.datetime64(int(end), "D").astype("datetime64[Y]") + 1,
        )
        march = (years.astype("datetime64[M]") + 2).astype("datetime64[D]").astype(np.int64) + 9
        march = march[(march >= start) & (march < end)]
        rows, days = explode_ranges(np.maximum(s0 + 30, start), np.minimum(s1, end), march)
        buf.add(CT, holder[rows], days, "bill_issued", amount=np.full(len(rows), -1.0))
    else:
        new = (s0 >= start) & (s0 < end)
        buf.add(RENT, holder[new], s0[new], "tenancy_start", amount=np.full(new.sum(), -1.0))
        gone = (s1 >= start) & (s1 < end)
        buf.add(RENT, holder[gone], s1[gone] - 1, "tenancy_end", amount=np.full(gone.sum(), -1.0))


def fill_marker_amounts(events: pl.DataFrame) -> pl.DataFrame:
    """Give bills and tenancy markers (amount -1) the arrears of that day."""
    money = pl.col("source").is_in([CT, RENT])
    marker = money & (pl.col("amount") == -1.0)
    known = (
        events.filter(money & ~marker)
        .select("source", "true_person_id", "day", last=pl.col("amount"))
        .sort("day")
    )
    markers = events.filter(marker).with_row_index("_i").sort("day")
    filled = (
        markers.join_asof(
            known, on="day", by=["source", "true_person_id"], strategy="backward", check_sortedness=False
        )
        .with_columns(amount=pl.col("last").fill_null(0.0))
        .sort("_i")
        .drop("_i", "last")
    )
    return pl.concat([events.filter(~marker), filled])


def _account_records(
    rng: np.random.Generator, adults: pl.DataFrame, ct_spells: pl.DataFrame, rent_spells: pl.DataFrame
) -> pl.DataFrame:
    """Account holders and joint holders, registered when the account opened."""
    frames = []
    for source, sp, joint_p in ((CT, ct_spells, 0.6), (RENT, rent_spells, 0.5)):
        opened = sp.group_by("household_id").agg(registered=pl.col("start").min())
        members = adults.select("true_person_id", "household_id", "member", "comp_code").join(
            opened, on="household_id"
        )
        members = members.sort("true_person_id")
        couple = members["comp_code"].is_in([1, 2, 5]).to_numpy()
        joint = (members["member"].to_numpy() == 1) & couple & (rng.random(len(members)) < joint_p)
        keep = (members["member"].to_numpy() == 0) | joint
        frames.append(
            members.filter(pl.Series(keep)).select(
                pl.lit(source).alias("source"), "true_person_id", "registered"
            )
        )
    return pl.concat(frames)
