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

from dataclasses import dataclass, field

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


#: One extract row: source, record, day, event type, amount, then the three
#: columns a ledger event leaves empty or sets (description, reference, episode).
Row = tuple[str, int, int, str, float | None, str | None, str | None, int | None]


@dataclass
class _Account:
    """One disrupted account's running state while it is walked month by month.

    ``pending`` holds letters and enforcement already decided but dated
    later (day, type, costs added to the arrears, episode); they are written
    when the walk reaches their day, so each carries the arrears of its day.
    """

    kind: str
    holder: int
    end: int
    out: list[Row]
    arrears: float = 0.0
    arrangement: bool = False
    accelerated: int = -1  # the financial year whose whole bill has fallen due
    misses: dict[int, int] = field(default_factory=dict)
    pending: list[tuple[int, str, float, int]] = field(default_factory=list)

    def emit(self, day: int, event_type: str, episode: int) -> None:
        self.out.append(
            (
                self.kind,
                self.holder,
                day,
                event_type,
                round(self.arrears, 2),
                None,
                None,
                episode if episode >= 0 else None,
            )
        )

    def flush(self, upto: int) -> None:
        """Write every pending event dated up to ``upto`` (none after the extract's end)."""
        self.pending.sort()
        while self.pending and self.pending[0][0] <= upto:
            day, event_type, costs, episode = self.pending.pop(0)
            if day < self.end:
                self.arrears += costs
                self.emit(day, event_type, episode)


def simulate_account(
    rng: np.random.Generator,
    kind: str,
    holder: int,
    rows: np.ndarray,
    disruptions: list[Disruption],
    end: int,
    out: list[Row],
) -> dict[int, int]:
    """Walk one disrupted account month by month; returns {episode: crisis day}.

    ``rows`` is an (n, 3) array of due day, amount due, financial year. Each
    month is a miss or a payment (``_misses``, ``_miss``, ``_pay``), and a
    crossed threshold may start enforcement (``_maybe_enforce``). Random
    draws are taken in a fixed order (one uniform per month up front, then
    as each step needs one), so the same seed gives the same account.
    """
    threshold = CT_THRESHOLD if kind == CT else RENT_THRESHOLD
    lead = 100 if kind == CT else 130
    acct = _Account(kind, holder, end, out)
    crisis_days: dict[int, int] = {}
    fy_of = rows[:, 2].astype(np.int64)
    u = rng.random(len(rows))
    for i in range(len(rows)):
        day, due, fy = int(rows[i, 0]), float(rows[i, 1]), int(fy_of[i])
        acct.flush(day)
        d = _active(disruptions, day)
        ep = d.episode if d else -1
        phase = _phase(d, day, lead)
        if fy == acct.accelerated:
            _pay_accelerated(rng, acct, day, due, phase, ep)
            continue
        if _misses(phase, d, u[i], acct.arrears + due, threshold - 100.0):
            _miss(acct, day, due, fy, phase, ep, fy_of[i + 1 :])
        else:
            _pay(rng, acct, day, due, phase, ep)
        if d is not None and phase == "escalate":
            _maybe_enforce(rng, acct, d, day, threshold, crisis_days)
    acct.flush(end)
    return crisis_days


def _active(disruptions: list[Disruption], day: int) -> Disruption | None:
    """The first disruption under way on ``day`` (one runs until it is resolved)."""
    return next((x for x in disruptions if x.start <= day < (x.resolved if x.resolved >= 0 else _FAR)), None)


def _misses(phase: str, d: Disruption | None, u: float, arrears_if_missed: float, cap: float) -> bool:
    """Whether this month's instalment is missed.

    Escalating, every month is missed; after a crisis, one month in four;
    while a need is only emerging, with the disruption's chance, but never
    when missing would take the arrears to the service's threshold.
    """
    if phase == "escalate":
        return True
    if phase == "after":
        return bool(u < 0.25)
    if phase == "emerge" and d is not None:
        return bool(u < d.p_miss) and arrears_if_missed < cap
    return False


def _miss(acct: _Account, day: int, due: float, fy: int, phase: str, ep: int, later_fy: np.ndarray) -> None:
    """A missed instalment: arrears grow, an arrangement breaks, a letter follows.

    A second council-tax miss in a year while escalating brings a final
    notice and the rest of the year's bill (``later_fy`` holds the financial
    year of every later instalment) falls due at once.
    """
    acct.arrears += due
    acct.misses[fy] = acct.misses.get(fy, 0) + 1
    acct.emit(day + 3, "missed_instalment" if acct.kind == CT else "missed_payment", ep)
    if acct.arrangement:
        acct.arrangement = False
        if acct.kind == CT:
            acct.pending.append((day + 6, "arrangement_broken", 0.0, ep))
    if acct.kind == RENT:
        if acct.arrears >= due:
            acct.pending.append((day + 12, "arrears_letter", 0.0, ep))
    elif phase == "escalate" and acct.misses[fy] >= 2:
        acct.arrears += due * int((later_fy == fy).sum())
        acct.accelerated = fy
        acct.pending.append((day + 16, "final_notice", 0.0, ep))
    else:
        acct.pending.append((day + 14, "reminder", 0.0, ep))


def _pay(rng: np.random.Generator, acct: _Account, day: int, due: float, phase: str, ep: int) -> None:
    """A payment: with arrears and no crisis under way, extra pays them down under an arrangement."""
    extra = 0.0
    if acct.arrears > 0 and phase in ("normal", "emerge"):
        extra = min(acct.arrears, max(round(due * 0.5, 2), 25.0))
        if not acct.arrangement and acct.kind == CT:
            acct.emit(day - 4, "arrangement_made", ep)
        acct.arrangement = True
    acct.arrears = max(0.0, acct.arrears - extra)
    acct.emit(day + int(rng.integers(0, 4)), "payment", ep)
    if acct.arrears == 0:
        acct.arrangement = False


def _pay_accelerated(
    rng: np.random.Generator, acct: _Account, day: int, due: float, phase: str, ep: int
) -> None:
    """A month of a year whose whole bill already fell due: paid down only once the need has passed."""
    if phase == "normal" and acct.arrears > 0:
        acct.arrears = max(0.0, acct.arrears - due)
        acct.emit(day + int(rng.integers(0, 4)), "payment", ep)


def _maybe_enforce(
    rng: np.random.Generator,
    acct: _Account,
    d: Disruption,
    day: int,
    threshold: float,
    crisis_days: dict[int, int],
) -> None:
    """Start enforcement once an escalating account is at its threshold and its crisis is due.

    The enforcement's first step is the episode's crisis day; a refusal to
    pay resolves some time after enforcement starts.
    """
    if not ((d.nonpayer or day >= d.crisis) and acct.arrears >= threshold):
        return
    d.done = True
    first = day + 9
    if d.episode >= 0:
        crisis_days[d.episode] = first
    _enforce(rng, acct.kind, first, d.episode, acct.pending)
    if d.nonpayer:
        d.resolved = day + int(rng.integers(200, 500))


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
