"""Who is in need, of what kind, when, and how it ends; and each adult's persona.

A need episode has an onset, a severity, and either goes on to a crisis or
enforcement months later or resolves. Its hazard depends on tenure, low
income and household type only — never on sex or ethnicity — so any
difference the fairness audit later finds between groups comes from the
product, not from a world built unfair.

Crisis kinds are only those a person can actually meet: a council-tax
summons is served on the account holder, a notice of seeking possession on
the council tenant, a children's referral needs children in the household.
The planned crisis date is refined by the ledgers (``ledger.py``): a summons
is only issued once the arrears really reach the service's threshold.

Personas are labels for evaluation only (``truth/residents.parquet``); the
generator uses them to add the background that keeps the problem honest:
people who contact the council a lot and are fine, people who simply will not
pay one bill, older people already known to adult social care.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from early_warning.synthetic.settings import GeneratorSettings

NEED_TYPES = (
    "income_shock",
    "mental_health",
    "domestic_abuse",
    "addiction",
    "bereavement",
    "illness",
    "relationship_breakdown",
    "housing_conditions",
    "housing_loss",
)
#: base weights of need types, before the household adjustments below.
_TYPE_W = np.array([0.25, 0.17, 0.07, 0.07, 0.07, 0.11, 0.11, 0.08, 0.07])
#: crisis or enforcement kinds, and which source records each.
CRISIS_KINDS = (
    "summons",
    "nosp_served",
    "approach",
    "safeguarding_concern",
    "referral_accepted",
    "case_opened",
)
CRISIS_SOURCE = {
    "summons": "council_tax",
    "nosp_served": "housing_rent",
    "approach": "homelessness",
    "safeguarding_concern": "adult_social_care",
    "referral_accepted": "childrens_services",
    "case_opened": "asb",
}
#: weight of each crisis kind (columns as CRISIS_KINDS) per need type (rows).
_KIND_W = np.array(
    [
        [0.50, 0.30, 0.20, 0.00, 0.00, 0.00],  # income_shock
        [0.25, 0.15, 0.15, 0.20, 0.05, 0.20],  # mental_health
        [0.00, 0.00, 0.45, 0.15, 0.35, 0.05],  # domestic_abuse
        [0.20, 0.20, 0.20, 0.05, 0.15, 0.20],  # addiction
        [0.50, 0.15, 0.05, 0.30, 0.00, 0.00],  # bereavement
        [0.30, 0.15, 0.05, 0.50, 0.00, 0.00],  # illness
        [0.30, 0.10, 0.45, 0.00, 0.15, 0.00],  # relationship_breakdown
        [0.00, 0.00, 0.50, 0.30, 0.20, 0.00],  # housing_conditions
        [0.00, 0.00, 1.00, 0.00, 0.00, 0.00],  # housing_loss
    ]
)
_CRISIS_FACTOR = np.array([1.0, 1.05, 1.1, 1.2, 0.6, 0.85, 0.9, 0.45, 2.2])
_TENURE_MULT = np.array([2.0, 1.4, 0.55])
_COMP_MULT = np.array([1.2, 0.8, 1.0, 1.6, 1.1, 0.8, 1.1])
#: the shortest build-up in days, whatever ``buildup_scale`` says (a crisis
#: on the day need begins would leave nothing to warn about, nor to test).
_MIN_LAG = 7
PERSONAS = (
    "steady",
    "high_contact_fine",
    "single_service_nonpayer",
    "known_asc_older",
    "quiet_need",
    "need_episode",
)


def build_episodes(
    rng: np.random.Generator, adults: pl.DataFrame, start: int, end: int, settings: GeneratorSettings
) -> pl.DataFrame:
    """Need episodes of every adult over the window (and a little before it).

    ``adults`` needs true_person_id, member, age, tenure_code, comp_code,
    low_income, n_children, arrival. Returns episode_id, true_person_id,
    need_type, onset, planned_crisis (-1 when none), crisis_kind ("" when
    none), resolved (-1 when none), severity, quiet. Days since 1970-01-01.
    """
    a = adults.select(
        "true_person_id", "member", "age", "tenure_code", "comp_code", "low_income", "n_children", "arrival"
    ).to_numpy()
    pid, member, age, tenure, comp, low, kids, arrival = (a[:, i] for i in range(8))
    first = np.maximum(arrival, start - 180)
    years = np.clip((end - 60 - first) / 365.25, 0, None)
    hazard = settings.need_rate_per_year * _TENURE_MULT[tenure] * _COMP_MULT[comp] * np.where(low, 1.8, 1.0)
    count = np.minimum(rng.poisson(hazard * years), 3)
    idx = np.repeat(np.arange(len(pid)), count)
    n = len(idx)
    onset = (first[idx] + rng.random(n) * (end - 60 - first[idx])).astype(np.int64)

    w = np.tile(_TYPE_W, (n, 1))
    older = age[idx] >= 65
    renter = tenure[idx] != 2
    w[:, 2] *= np.where(kids[idx] > 0, 2.0, np.where(older, 0.2, 1.0))
    w[:, 4] *= np.where(older, 3.0, 1.0)
    w[:, 5] *= np.where(older, 2.5, 1.0)
    w[:, 6] *= np.where(np.isin(comp[idx], (1, 2)), 1.5, 0.6)
    w[:, 7] *= np.where(renter, 1.0, 0.0)
    w[:, 8] *= np.where(tenure[idx] == 1, 1.0, 0.0)
    need = _draw_rows(rng, w)

    severity = rng.beta(2.0, 3.0, n)
    quiet = rng.random(n) < settings.quiet_share * np.where(older | (comp[idx] == 0), 1.8, 1.0)
    quiet |= need == 8
    p_crisis = np.clip(
        (settings.crisis_base + settings.crisis_severity_slope * severity) * _CRISIS_FACTOR[need], 0, 0.95
    )
    crisis = rng.random(n) < p_crisis

    feasible = np.ones((n, len(CRISIS_KINDS)))
    feasible[:, 0] = member[idx] == 0
    feasible[:, 1] = (member[idx] == 0) & (tenure[idx] == 0)
    feasible[:, 3] = np.where(older, 2.0, np.where(age[idx] >= 45, 0.6, 0.25))
    feasible[:, 4] = (kids[idx] > 0) & (member[idx] <= 1)
    kw = _KIND_W[need] * feasible
    no_kind = kw.sum(axis=1) == 0
    kw[no_kind, 2] = 1.0  # anyone can approach the council as homeless
    kind = _draw_rows(rng, kw)
    # How long need builds before a crisis, and how long an episode that
    # resolves stays emerging, both stretch with buildup_scale (at 1.0 the
    # product is exact: the scaled floats are the draws themselves).
    scale = settings.buildup_scale
    lag = np.where(need == 8, rng.integers(20, 70, n), 45 + rng.gamma(2.0, 65.0, n))
    lag = np.maximum((lag * scale).astype(np.int64), _MIN_LAG)
    planned = np.where(crisis, onset + lag, -1)
    resolve_gap = np.maximum(((60 + rng.gamma(2.0, 70.0, n)) * scale).astype(np.int64), _MIN_LAG)
    later = (90 + rng.gamma(2.0, 120.0, n)).astype(np.int64)
    resolved = np.where(crisis, np.where(rng.random(n) < 0.5, planned + later, -1), onset + resolve_gap)

    return pl.DataFrame(
        {
            "episode_id": np.arange(n, dtype=np.int64),
            "true_person_id": pid[idx].astype(np.int64),
            "need_type": np.array(NEED_TYPES)[need],
            "onset": onset,
            "planned_crisis": planned.astype(np.int64),
            "crisis_kind": np.where(crisis, np.array(CRISIS_KINDS)[kind], ""),
            "resolved": resolved.astype(np.int64),
            "severity": np.round(severity, 3),
            "quiet": quiet,
        }
    )


def assign_personas(
    rng: np.random.Generator, adults: pl.DataFrame, episodes: pl.DataFrame, settings: GeneratorSettings
) -> pl.DataFrame:
    """One background persona per adult (true_person_id, persona).

    Background personas are drawn independently of need; a person with an
    episode who is not one of them is ``need_episode`` or, when every
    episode of theirs is quiet, ``quiet_need``.
    """
    pid = adults["true_person_id"].to_numpy()
    age = adults["age"].to_numpy()
    member = adults["member"].to_numpy()
    n = len(pid)
    u = rng.random(n)
    persona = np.full(n, "steady", dtype=object)
    with_need = episodes.group_by("true_person_id").agg(all_quiet=pl.col("quiet").all())
    need_map = dict(zip(with_need["true_person_id"].to_list(), with_need["all_quiet"].to_list(), strict=True))
    flags = np.array([need_map.get(int(p)) for p in pid], dtype=object)
    persona[flags == False] = "need_episode"  # noqa: E712 - object array comparison
    persona[flags == True] = "quiet_need"  # noqa: E712
    no_need = np.array([f is None for f in flags], dtype=bool)
    persona[(u < settings.high_contact_share) & no_need] = "high_contact_fine"
    nonpayer = (member == 0) & (rng.random(n) < settings.nonpayer_share) & no_need
    persona[nonpayer] = "single_service_nonpayer"
    asc = rng.random(n) < np.where(age >= 75, 0.2, np.where(age >= 60, 0.04, 0.006))
    persona[asc] = "known_asc_older"
    return pl.DataFrame({"true_person_id": pid, "persona": persona.astype(str)})


def _draw_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One index per row of a weight matrix (rows need not sum to one)."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1).clip(0, weights.shape[1] - 1)
