"""Council-tax and rent accounts: bills, instalments, payments and arrears.

``amount`` on every council-tax and rent event is the account's arrears
(the overdue balance, in pounds) just after the event, so the service
thresholds (council tax >= £1,000, rent >= £1,500) can be read straight off
the extract, as a council's own system would.

Most accounts are paid on time, month after month: those rows are built with
numpy in one go (about 10 million of them for 300,000 residents). Only the
accounts that a need episode, a refusal to pay or a one-off slip touches are
walked month by month in Python, because arrears depend on what went before:

- a missed instalment adds the instalment to the arrears and brings a
  reminder; a second miss in the same year while things are escalating
  brings a final notice and the rest of the year's bill falls due at once
  (the right to pay by instalments is lost, as in the regulations);
- while a need is only emerging, a household that is struggling still keeps
  its arrears under the service's threshold (it pays when the next miss
  would cross it), so no service acts on its own;
- a summons is issued only once arrears reach £1,000, a notice of seeking
  possession only once rent arrears reach £1,500; then a liability order, an
  enforcement-agent referral, a possession order follow for some;
- when a need resolves, an arrangement pays the arrears down with extra each
  month; a missed payment during an arrangement breaks it.

Council-tax events are recorded against the household's account holder (the
lead adult); a joint liable adult or joint tenant holds a record too, but the
account's events are on the holder's record, as in most revenue systems.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from early_warning.synthetic.events import EventBuffer

CT, RENT = "council_tax", "housing_rent"
CT_THRESHOLD, RENT_THRESHOLD = 1000.0, 1500.0
_FAR = 10**7


@dataclass
class Disruption:
    """Something that stops an account being paid as normal for a while."""

    start: int
    end: int  # end of the emerging phase (crisis escalation or resolution)
    p_miss: float
    crisis: int = -1  # planned crisis day when this account is the crisis venue
    resolved: int = -1
    episode: int = -1
    nonpayer: bool = False
    done: bool = False


def month_starts(first: int, last: int) -> np.ndarray:
    """Days of the 1st of every month from ``first`` to ``last``."""
    d0 = np.datetime64(int(first), "D").astype("datetime64[M]")
    d1 = np.datetime64(int(last), "D").astype("datetime64[M]") + 1
    return np.arange(d0, d1).astype("datetime64[D]").astype(np.int64)


def explode_ranges(lo: np.ndarray, hi: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, every ``dates`` value in [lo[i], hi[i]): (row index, date)."""
    i0 = np.searchsorted(dates, lo)
    i1 = np.searchsorted(dates, hi)
    counts = np.clip(i1 - i0, 0, None)
    rows = np.repeat(np.arange(len(lo)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, dates[np.repeat(i0, counts) + offsets]


def due_rows(
    kind: str, spells: pl.DataFrame, addresses: pl.DataFrame, start: int, end: int, instalments: int
) -> pl.DataFrame:
    """Every instalment or rent due date of every account, with its amount.

    ``spells`` holds household_id, holder, address, start, end for the
    periods the account is live. Council tax falls due on the 1st of the
    first ``instalments`` months from April; rent on the 1st of every month.
    """
    months = month_starts(start, end)
    month_no = months.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    if kind == CT:
        fy_month = (month_no - 4) % 12
        months = months[fy_month < instalments]
    s = spells.select("household_id", "holder", "address", "start", "end").to_numpy()
    lo = np.maximum(s[:, 3] + 20, start)
    hi = np.minimum(s[:, 4], end)
    rows, days = explode_ranges(lo, hi, months)
    address = s[rows, 2]
    if kind == CT:
        due = np.round(addresses["ct_bill"].to_numpy()[address] / instalments, 2)
    else:
        due = addresses["rent"].to_numpy()[address]
    fy = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    fy = (fy - 3) // 12  # financial years start in April
    return pl.DataFrame(
        {"household_id": s[rows, 0], "holder": s[rows, 1], "day": days, "due": due, "fy": fy}
    ).sort("household_id", "day")


def routine_events(
    rng: np.random.Generator,
    buf: EventBuffer,
    kind: str,
    rows: pl.DataFrame,
    one_off_rate: float,
) -> None:
    """Paid-on-time accounts, with the odd one-off slip caught up next month."""
    holder = rows["holder"].to_numpy()
    day = rows["day"].to_numpy()
    due = rows["due"].to_numpy()
    hid = rows["household_id"].to_numpy()
    n = len(day)
    nxt_same = np.append(hid[1:] == hid[:-1], False)
    prev_slip = np.zeros(n, dtype=bool)
    slip = (rng.random(n) < one_off_rate) & nxt_same
    prev_slip[1:] = slip[:-1]
    slip &= ~prev_slip
    missed_type = "missed_instalment" if kind == CT else "missed_payment"
    pay = ~slip
    buf.add(
        kind, holder[pay], day[pay] + rng.integers(0, 4, pay.sum()), "payment", amount=np.zeros(pay.sum())
    )
    buf.add(kind, holder[slip], day[slip] + 3, missed_type, amount=due[slip])
    letter = "reminder" if kind == CT else "arrears_letter"
    buf.add(kind, holder[slip], day[slip] + 14, letter, amount=due[slip])


def simulate_account(
    rng: np.random.Generator,
    kind: str,
    holder: int,
    rows: np.ndarray,
    disruptions: list[Disruption],
    end: int,
    out: list[tuple[str, int, int, str, float | None, str | None, str | None, int | None]],
) -> dict[int, int]:
    """Walk one disrupted account month by month; returns {episode: crisis day}.

    ``rows`` is an (n, 3) array of due day, amount due, financial year.
    """
    threshold = CT_THRESHOLD if kind == CT else RENT_THRESHOLD
    cap = threshold - 100.0
    lead = 100 if kind == CT else 130
    missed_type = "missed_instalment" if kind == CT else "missed_payment"
    arrears = 0.0
    arrangement = False
    accelerated = -1
    misses: dict[int, int] = {}
    pending: list[tuple[int, str, float, int]] = []  # day, type, costs added, episode
    crisis_days: dict[int, int] = {}
    fy_of = rows[:, 2].astype(np.int64)
    u = rng.random(len(rows))

    def emit(day: int, event_type: str, episode: int) -> None:
        out.append(
            (kind, holder, day, event_type, round(arrears, 2), None, None, episode if episode >= 0 else None)
        )

    def flush(upto: int) -> None:
        nonlocal arrears
        pending.sort()
        while pending and pending[0][0] <= upto:
            day, event_type, costs, episode = pending.pop(0)
            if day < end:
                arrears += costs
                emit(day, event_type, episode)

    for i in range(len(rows)):
        day, due, fy = int(rows[i, 0]), float(rows[i, 1]), int(fy_of[i])
        flush(day)
        d = next((x for x in disruptions if x.start <= day < (x.resolved if x.resolved >= 0 else _FAR)), None)
        ep = d.episode if d else -1
        phase = _phase(d, day, lead)
        if fy == accelerated:
            if phase == "normal" and arrears > 0:
                arrears = max(0.0, arrears - due)
                emit(day + int(rng.integers(0, 4)), "payment", ep)
            continue
        if phase == "escalate":
            miss = True
        elif phase == "after":
            miss = bool(u[i] < 0.25)
        elif phase == "emerge" and d is not None:
            miss = bool(u[i] < d.p_miss) and arrears + due < cap
        else:
            miss = False
        if miss:
            arrears += due
            misses[fy] = misses.get(fy, 0) + 1
            emit(day + 3, missed_type, ep)
            if arrangement:
                arrangement = False
                if kind == CT:
                    pending.append((day + 6, "arrangement_broken", 0.0, ep))
            if kind == RENT:
                if arrears >= due:
                    pending.append((day + 12, "arrears_letter", 0.0, ep))
            elif phase == "escalate" and misses[fy] >= 2:
                arrears += due * int((fy_of[i + 1 :] == fy).sum())
                accelerated = fy
                pending.append((day + 16, "final_notice", 0.0, ep))
            else:
                pending.append((day + 14, "reminder", 0.0, ep))
        else:
            extra = 0.0
            if arrears > 0 and phase in ("normal", "emerge"):
                extra = min(arrears, max(round(due * 0.5, 2), 25.0))
                if not arrangement and kind == CT:
                    emit(day - 4, "arrangement_made", ep)
                arrangement = True
            arrears = max(0.0, arrears - extra)
            emit(day + int(rng.integers(0, 4)), "payment", ep)
            if arrears == 0:
                arrangement = False
        if d is not None and phase == "escalate" and (d.nonpayer or day >= d.crisis) and arrears >= threshold:
            d.done = True
            first = day + 9
            if d.episode >= 0:
                crisis_days[d.episode] = first
            _enforce(rng, kind, first, ep, pending)
            if d.nonpayer:
                d.resolved = day + int(rng.integers(200, 500))
    flush(end)
    return crisis_days


def _phase(d: Disruption | None, day: int, lead: int) -> str:
    if d is None:
        return "normal"
    if d.nonpayer or d.crisis >= 0:
        if d.done:
            return "after"
        if d.nonpayer or day >= d.crisis - lead:
            return "escalate"
    return "emerge" if day < d.end else "normal"


def _enforce(
    rng: np.random.Generator, kind: str, first: int, ep: int, pending: list[tuple[int, str, float, int]]
) -> None:
    """Queue the enforcement a service takes once its threshold is crossed."""
    if kind == CT:
        pending.append((first, "summons", 85.0, ep))
        pending.append((first + int(rng.integers(28, 50)), "liability_order", 0.0, ep))
        if rng.random() < 0.55:
            pending.append((first + int(rng.integers(80, 160)), "enforcement_agent_referral", 310.0, ep))
    else:
        pending.append((first, "nosp_served", 0.0, ep))
        if rng.random() < 0.35:
            po = first + int(rng.integers(120, 220))
            pending.append((po, "possession_order", 355.0, ep))
            if rng.random() < 0.4:
                pending.append((po + int(rng.integers(45, 120)), "eviction", 0.0, ep))
