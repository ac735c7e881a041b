"""Signal, service and crisis events outside the money ledgers.

Two kinds of generator live here:

- ``episode_events``: what a need episode shows across services while it is
  emerging (benefit changes, repeat contact-centre enquiries, damp reports,
  adult social care contacts, early help, noise complaints...) and the crisis
  it may end in, with what services do next (homelessness duties, an
  assessment after a safeguarding concern, a child protection plan).
  Each signal stays below its own service's threshold while the need is
  emerging: anti-social-behaviour reports are capped at two per episode
  (three in 90 days would open a case), adult social care sees only contacts
  and referrals, children's services only early help and absence concerns.
  Quiet episodes show a fraction of the usual signals.
- ``background_events``: the ordinary life that makes the problem honest and
  is vectorised because it is most of the volume: routine enquiries (more
  about council tax when the bills land in March), repairs, benefit changes of
  low-income households, random one-off signals in steady lives, heavy
  contacters who are fine, older people already supported by adult social
  care.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from early_warning.synthetic.events import EventBuffer, pick
from early_warning.synthetic.footprints import ASB, ASC, BEN, CC, CS, CT, FOOTPRINTS, HL, footprint_pairs
from early_warning.synthetic.settings import GeneratorSettings

__all__ = ["CHANNELS", "FOOTPRINTS", "background_events", "episode_events"]

#: channels each source records, with weights (None: the source records none).
CHANNELS: dict[str, tuple[tuple[str, ...], tuple[float, ...]] | None] = {
    CC: (("phone", "web", "email", "face_to_face", "letter"), (0.5, 0.22, 0.16, 0.08, 0.04)),
    ASC: (("phone", "letter", "face_to_face", "visit", "email"), (0.45, 0.15, 0.15, 0.15, 0.1)),
    CS: (("phone", "email", "visit", "face_to_face"), (0.4, 0.25, 0.2, 0.15)),
    HL: (("face_to_face", "phone", "web"), (0.45, 0.4, 0.15)),
    ASB: (("phone", "web", "email"), (0.5, 0.3, 0.2)),
    BEN: (("web", "phone", "letter", "face_to_face"), (0.55, 0.2, 0.2, 0.05)),
}
_ASB_SIGNALS = ("noise_complaint", "report_as_alleged", "report_as_victim")


def episode_events(
    rng: np.random.Generator,
    buf: EventBuffer,
    episodes: pl.DataFrame,
    adults: pl.DataFrame,
    start: int,
    end: int,
    settings: GeneratorSettings | None = None,
    shown: pl.DataFrame | None = None,
) -> None:
    """Signals of every episode, and the non-money crises and what follows.

    Vectorised over (episode, footprint entry) pairs: counts are Poisson
    (or a single chance for one-off events such as a new benefit claim) and
    dates uniform over the emerging phase, from onset to crisis or
    resolution. ``settings.signal_visibility`` scales every rate and chance
    (chances capped at 0.95, counts at ``6 * visibility`` per entry, and the
    months counted at ``9 * buildup_scale``); ``shown`` (episode_id, source,
    from ``footprints.visible_sources``) keeps only those sources' entries.
    The crises are never filtered.
    """
    settings = settings or GeneratorSettings()
    info = adults.select("true_person_id", "arrival", "age", "member", "n_children", "tenure_code")
    eps = episodes.join(info, on="true_person_id").sort("episode_id")
    pairs = footprint_pairs(episodes, adults)
    if shown is not None:
        pairs = pairs.join(shown, on=["episode_id", "source"], how="semi").sort("episode_id", "entry")
    onset = pairs["onset"].to_numpy()
    stop = np.where(
        pairs["planned_crisis"].to_numpy() >= 0,
        pairs["planned_crisis"].to_numpy(),
        pairs["resolved"].to_numpy(),
    )
    quiet = pairs["quiet"].to_numpy()
    # At visibility 1 and build-up 1 every product below is the draw itself.
    visibility = settings.signal_visibility
    rate = pairs["rate"].to_numpy() * visibility
    one_off = pairs["one_off"].to_numpy()
    factor = (0.4 + pairs["severity"].to_numpy()) * np.where(quiet, 0.15, 1.0)
    months = np.clip((stop - onset) / 30.0, 0.0, 9.0 * settings.buildup_scale)
    count = np.where(
        one_off,
        rng.random(len(pairs)) < np.minimum(rate * np.where(quiet, 0.3, 1.0), 0.95),
        np.minimum(rng.poisson(rate * factor * months), max(6, round(6 * visibility))),
    ).astype(np.int64)
    idx = np.repeat(np.arange(len(pairs)), count)
    span = np.where(one_off, 42, np.maximum(1, stop - onset))[idx]
    day = onset[idx] + np.where(one_off[idx], 3, 0) + (rng.random(len(idx)) * span).astype(np.int64)
    lo = np.maximum(np.maximum(pairs["arrival"].to_numpy(), onset), start)[idx]
    hi = np.minimum(stop, end)[idx]
    ev = (
        pl.DataFrame(
            {
                "source": pairs["source"].to_numpy()[idx],
                "true_person_id": pairs["true_person_id"].to_numpy()[idx],
                "day": day,
                "event_type": pairs["event_type"].to_numpy()[idx],
                "topic": pairs["topic"].to_numpy()[idx],
                "episode_id": pairs["episode_id"].to_numpy()[idx],
                "keep": (day >= lo) & (day < hi),
            }
        )
        .with_columns(
            asb_rank=pl.int_range(pl.len()).over("episode_id", pl.col("event_type").is_in(list(_ASB_SIGNALS)))
        )
        .filter(pl.col("keep") & (~pl.col("event_type").is_in(list(_ASB_SIGNALS)) | (pl.col("asb_rank") < 2)))
    )
    for source in sorted(set(ev["source"].to_list())):
        part = ev.filter(pl.col("source") == source)
        _add_spread(
            rng,
            buf,
            source,
            part["event_type"].to_numpy(),
            part["true_person_id"].to_numpy(),
            part["day"].to_numpy(),
            part["topic"].to_numpy(),
            episode=part["episode_id"].to_numpy(),
        )
    rows: list[tuple[str, int, int, str, float | None, str | None, str | None, int | None]] = []
    crises = eps.filter(
        ~pl.col("crisis_kind").is_in(["summons", "nosp_served", ""])
        & (pl.col("planned_crisis") >= pl.max_horizontal("arrival", pl.lit(start)))
        & (pl.col("planned_crisis") < end)
    )
    for kind, pid, crisis, ep in crises.select(
        "crisis_kind", "true_person_id", "planned_crisis", "episode_id"
    ).iter_rows():
        rows.extend(_crisis_rows(rng, kind, pid, crisis, ep, end))
    buf.extend_rows(rows)


def _crisis_rows(
    rng: np.random.Generator, kind: str, pid: int, day: int, ep: int, end: int
) -> list[tuple[str, int, int, str, float | None, str | None, str | None, int | None]]:
    """The crisis event itself and what the service does next."""
    follow: list[tuple[str, int, str]] = []
    if kind == "approach":
        follow.append((HL, day, "approach"))
        follow.append(
            (HL, day + int(rng.integers(0, 14)), "prevention_duty" if rng.random() < 0.6 else "relief_duty")
        )
        if rng.random() < 0.3:
            follow.append((HL, day + int(rng.integers(14, 60)), "temporary_accommodation"))
    elif kind == "safeguarding_concern":
        follow.append((ASC, day, "safeguarding_concern"))
        if rng.random() < 0.6:
            follow.append((ASC, day + int(rng.integers(10, 40)), "assessment"))
            if rng.random() < 0.5:
                follow.append((ASC, day + int(rng.integers(45, 100)), "care_package_start"))
    elif kind == "referral_accepted":
        follow.append((CS, day, "referral_accepted"))
        if rng.random() < 0.25:
            follow.append((CS, day + int(rng.integers(30, 70)), "child_protection_plan"))
    elif kind == "case_opened":
        follow.append((ASB, day - int(rng.integers(3, 20)), str(rng.choice(_ASB_SIGNALS))))
        follow.append((ASB, day, "case_opened"))
    return [(src, pid, d, t, None, None, _channel(rng, src), ep) for src, d, t in follow if d < end]


def _channel(rng: np.random.Generator, source: str) -> str | None:
    spec = CHANNELS.get(source)
    if spec is None:
        return None
    options, weights = spec
    return options[int(np.searchsorted(np.cumsum(weights), rng.random() * sum(weights)))]


def _spread(
    rng: np.random.Generator, pid: np.ndarray, lo: np.ndarray, end: int, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(rate per year) events per person, uniform in [lo, end)."""
    years = np.clip((end - lo) / 365.25, 0, None)
    n = rng.poisson(rate * years)
    idx = np.repeat(np.arange(len(pid)), n)
    days = lo[idx] + (rng.random(len(idx)) * (end - lo[idx])).astype(np.int64)
    return pid[idx], days


def _add_spread(
    rng: np.random.Generator,
    buf: EventBuffer,
    source: str,
    etype: str | np.ndarray,
    pid: np.ndarray,
    days: np.ndarray,
    topic: np.ndarray | None = None,
    episode: np.ndarray | None = None,
) -> None:
    spec = CHANNELS.get(source)
    channel = pick(rng, spec[0], spec[1], len(pid)) if spec else None
    buf.add(source, pid, days, etype, topic=topic, channel=channel, episode=episode)


def background_events(
    rng: np.random.Generator,
    buf: EventBuffer,
    adults: pl.DataFrame,
    personas: pl.DataFrame,
    start: int,
    end: int,
    settings: GeneratorSettings,
) -> pl.DataFrame:
    """Ordinary life; returns records that exist without any event in the
    window (benefit claims and care already in place): source,
    true_person_id, registered."""
    a = adults.join(personas, on="true_person_id").sort("true_person_id")
    pid = a["true_person_id"].to_numpy()
    lo = np.maximum(a["arrival"].to_numpy(), start)
    tenure = a["tenure_code"].to_numpy()
    member = a["member"].to_numpy()
    age = a["age"].to_numpy()
    kids = a["n_children"].to_numpy()
    persona = a["persona"].to_numpy()
    heavy = persona == "high_contact_fine"
    n = len(pid)

    contacter = (rng.random(n) < 0.55) | heavy
    rate = np.where(heavy, 8.0, np.where(contacter, settings.contact_rate_per_year, 0.0))
    p, d = _spread(rng, pid, lo, end, rate)
    topics = (
        "waste",
        "parking",
        "council_tax",
        "other",
        "repairs",
        "benefits",
        "asb",
        "housing_options",
        "social_care",
        "rent",
    )
    topic = pick(rng, topics, (0.28, 0.18, 0.14, 0.14, 0.04, 0.06, 0.04, 0.02, 0.02, 0.03), len(p))
    bill_season = (topic == "council_tax") & (rng.random(len(p)) < 0.3)
    year0 = d.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    d = np.where(bill_season, np.minimum(year0 + 68 + rng.integers(0, 50, len(p)), end - 1), d)
    d = np.maximum(d, lo[np.searchsorted(pid, p)])
    complaint = rng.random(len(p)) < np.where(heavy[np.searchsorted(pid, p)], 0.15, 0.07)
    _add_spread(rng, buf, CC, np.where(complaint, "complaint", "enquiry"), p, d, topic)
    p, d = _spread(rng, pid, lo, end, np.where(heavy, 0.4, 0.0))
    _add_spread(rng, buf, ASB, "noise_complaint", p, d)

    tenant = (tenure == 0) & (member == 0)
    p, d = _spread(rng, pid, lo, end, np.where(tenant, 0.7, 0.0))
    buf.add("housing_rent", p, d, "repair_request")
    p, d = _spread(rng, pid, lo, end, np.where(tenant, 0.04, 0.0))
    buf.add("housing_rent", p, d, "damp_mould_report")

    low = a["low_income"].to_numpy() & ((member == 0) | ((member == 1) & (rng.random(n) < 0.3)))
    for etype, r in (
        ("change_of_circumstances", 0.7),
        ("overpayment", 0.04),
        ("claim_suspended", 0.03),
        ("claim_cancelled", 0.015),
    ):
        p, d = _spread(rng, pid, lo, end, np.where(low, r, 0.0))
        _add_spread(rng, buf, BEN, etype, p, d)
    arrived = low & (a["arrival"].to_numpy() >= start)
    _add_spread(rng, buf, BEN, "claim_new", pid[arrived], lo[arrived] + rng.integers(5, 60, arrived.sum()))
    p, d = _spread(rng, pid, lo, end, np.where(low & (member == 0), 0.2, 0.0))
    buf.add(CT, p, d, "ctr_claim")

    _one_offs(rng, buf, pid, lo, end, tenure, age, kids, member, settings)
    asc_records = _known_to_asc(
        rng, buf, pid[persona == "known_asc_older"], lo[persona == "known_asc_older"], start, end
    )
    ben_records = pl.DataFrame(
        {
            "source": BEN,
            "true_person_id": pid[low],
            "registered": np.minimum(a["arrival"].to_numpy()[low] + 20, lo[low]),
        }
    )
    return pl.concat([ben_records, asc_records])


def _one_offs(
    rng: np.random.Generator,
    buf: EventBuffer,
    pid: np.ndarray,
    lo: np.ndarray,
    end: int,
    tenure: np.ndarray,
    age: np.ndarray,
    kids: np.ndarray,
    member: np.ndarray,
    settings: GeneratorSettings,
) -> None:
    """A single signal now and then in a steady life: a noise complaint, a
    late-night call to adult social care about a parent, one absence concern."""
    p, d = _spread(rng, pid, lo, end, np.full(len(pid), settings.one_off_signal_rate))
    i = np.searchsorted(pid, p)
    kind = rng.choice(6, len(p), p=[0.22, 0.22, 0.1, 0.16, 0.12, 0.18])
    kind = np.where((kind == 2) & (tenure[i] == 2), 1, kind)
    kind = np.where((kind == 3) & (age[i] < 55), 1, kind)
    kind = np.where((kind == 4) & ~((kids[i] > 0) & (member[i] <= 1)), 1, kind)
    for k, (src, etype) in enumerate(
        (
            (ASB, "report_as_victim"),
            (CC, "complaint"),
            (BEN, "dhp_application"),
            (ASC, "contact"),
            (CS, "school_absence_concern"),
            (ASB, "noise_complaint"),
        )
    ):
        m = kind == k
        _add_spread(rng, buf, src, etype, p[m], d[m], np.full(m.sum(), "other") if src == CC else None)


def _known_to_asc(
    rng: np.random.Generator, buf: EventBuffer, pid: np.ndarray, lo: np.ndarray, start: int, end: int
) -> pl.DataFrame:
    """Older people already supported: an assessment and a care package, a
    yearly review, and contacts; many started before the window."""
    n = len(pid)
    t0 = np.maximum(
        start - 3 * 365 + (rng.random(n) * (end - 30 - start + 3 * 365)).astype(np.int64), lo - 365
    )
    for offset, etype, p_ in ((-20, "contact", 1.0), (-10, "referral", 0.7), (0, "assessment", 1.0)):
        m = (rng.random(n) < p_) & (t0 + offset >= lo) & (t0 + offset < end)
        _add_spread(rng, buf, ASC, etype, pid[m], t0[m] + offset)
    cps = t0 + rng.integers(30, 90, n)
    m = (rng.random(n) < 0.8) & (cps >= lo) & (cps < end)
    _add_spread(rng, buf, ASC, "care_package_start", pid[m], cps[m])
    for k in range(1, 10):
        review = t0 + 365 * k + rng.integers(-20, 20, n)
        m = (review >= lo) & (review < end)
        _add_spread(rng, buf, ASC, "assessment", pid[m], review[m])
    p, d = _spread(rng, pid, np.maximum(lo, t0), end, np.full(n, 0.6))
    _add_spread(rng, buf, ASC, "contact", p, d)
    return pl.DataFrame({"source": ASC, "true_person_id": pid, "registered": t0 - 20})
