"""Knobs of the synthetic borough, and what a run reports back.

Every rate and noise level the generator uses lives in one frozen
dataclass, so a test or a benchmark can change one thing and say so, and a
run can be reproduced from its arguments alone. The defaults are chosen to
look like an ordinary English borough as far as published figures go
(tenure split, household sizes, residential mobility), and to make the
downstream problems honest: record linkage has real traps (households, common
names, stale addresses, typos) and need is mostly, but not always, visible
before it becomes a crisis. They are never tuned to flatter a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class GeneratorSettings:
    """Rates and noise levels of the synthetic borough.

    Attributes:
        people_per_address: residents per gazetteer address; a little above
            the household size so that some addresses stand empty for moves.
        tenure_council / tenure_private_rent: target shares of households;
            the rest own their home. The split by household type is in
            ``population.py``; these scale it.
        move_rate_per_year: share of households that move within the borough
            each year (English Housing Survey: roughly 8-10%).
        arrival_rate_per_year: share of households that arrive in the
            borough during the window (new records appear in every system).
        horizon_days: days of events generated after ``as_of`` so that
            outcomes of the people in the extract can be checked.
        need_rate_per_year: base yearly chance that an adult starts a need
            episode, before tenure, income and household multipliers (x2 for
            council tenants, x1.8 on a low income...; ``episodes.py``), so
            the share of adults who start one in a year is a little above it.
            Named worlds range from 0.005 to 0.05.
        quiet_share: base share of episodes that show little before they end
            (a fifth of the signals, a quarter of the missed payments). It is
            x1.8 for people aged 65+ and people living alone, who are less
            often in touch with services, and every housing-loss episode
            (an eviction by a private landlord) is quiet, so the realised
            share of quiet episodes is higher than this number.
        crisis_base / crisis_severity_slope: chance that an episode goes on
            to crisis or enforcement is ``crisis_base + slope * severity``
            (then adjusted by need type); severity is Beta(2, 3).
        high_contact_share: share of adults with no need episode who contact
            the council a lot (about 8 enquiries a year, some complaints and
            noise reports) and are fine: the false positives of a model that
            counts contacts.
        nonpayer_share: share of council-tax account holders with no need
            episode who simply will not pay from some day in the window: they
            miss every instalment, so their arrears reach the summons
            threshold (GBP 1,000) within months and the council enforces,
            with no other sign of need than the ordinary background of any
            resident. A refusal that starts in the last months before the
            horizon may not have reached the summons by then.
        one_off_signal_rate: yearly rate of a random single signal event in
            otherwise steady lives.
        contact_rate_per_year: yearly rate of ordinary contact-centre
            enquiries (waste, parking...) for an adult who ever contacts.
        typo_rate / nickname_rate / initial_rate / swap_names_rate /
            dob_swap_rate: identity noise per source record, scaled by each
            source's own habits in ``records.py``.
        duplicate_rate: share of a source's records registered twice.
        ct_instalments: council-tax instalments per year (April to January).
        buildup_scale: multiplies how long need builds before it becomes a
            crisis (the lag from onset to crisis) and how long an episode
            that resolves stays in its emerging phase. Councils differ here
            because their populations do: a debt spiral in a settled
            population takes a year, a domestic-abuse crisis in a transient
            one takes weeks. Short build-ups leave early warning little time;
            1.0 is the world the product was first tuned on.
        signal_visibility: multiplies the rates of an episode's signal
            footprint outside the money ledgers (``signals.py``): the monthly
            Poisson rates and the one-off chances (capped at 0.95). How much
            of a resident's need reaches a council system depends on what the
            council runs (a single front door, early-help hubs) and on what
            it records, not only on the need.
        services_per_need: 0 shows every episode in every source of its need
            type's footprint, as the product was first tuned on; k >= 1 shows
            it in at most k sources, drawn at random per episode among the
            sources that could see it (the footprint's sources the person can
            reach, their council-tax account and, for a council tenant, the
            rent account). It models councils whose services are siloed or
            outsourced, where need surfaces in one or two places. The crisis
            and what follows it are unaffected.
        record_sparsity: (source, share) pairs: in each named source, that
            share of person records is a CRM-style sparse record, holding
            only some of a name (or an initial, or a first name), a phone,
            an e-mail and a partial address (a street without its number, or
            no postcode), never a date of birth, NI or NHS number or UPRN
            (``sparse.py``). Call centres and ASB teams log a caller on
            whatever they say. A tuple, not a dict, so the settings stay
            frozen and hashable; empty means no sparse records.
        shared_phone_share: share of people whose records in contact_centre
            and asb carry a shared number (a hostel's or a family landline)
            used by 5-40 unrelated people, the trap of linking on phone.
        wrong_phone_share: share of contact_centre and asb records that hold
            another resident's phone number (mistyped, or a relative's).
        name_concentration: how heavy-tailed names are within each name pool
            (``population.py``). 0 draws first names uniformly from the pool
            and surnames by the pool's own frequencies (Faker's en_GB
            weights), so namesakes are rare. s > 0 weights the k-th commonest
            name of each list by k**-s on top of its own frequency (which
            names are commonest is drawn per run): a handful of first names
            and surnames are then held by many people, as "Mohammed", "Khan"
            or "John Smith" are in a real borough's communities.
        community_clustering: share of households whose head's background is
            drawn from the mix of the ward they first live in rather than the
            borough's; each ward's mix is drawn once per run and is
            concentrated on a few backgrounds. 0 spreads every community
            evenly over the borough. Communities living together put
            namesakes in the same streets and postcodes.
        namesake_child_share: share of adult children of the household
            head's sex who carry the head's first name as well as the
            surname (a father and son both "John Smith" at one address).
    """

    people_per_address: float = 2.1
    tenure_council: float = 0.18
    tenure_private_rent: float = 0.27
    move_rate_per_year: float = 0.09
    arrival_rate_per_year: float = 0.04
    horizon_days: int = 400
    need_rate_per_year: float = 0.022
    quiet_share: float = 0.15
    crisis_base: float = 0.12
    crisis_severity_slope: float = 0.62
    high_contact_share: float = 0.04
    nonpayer_share: float = 0.012
    one_off_signal_rate: float = 0.08
    contact_rate_per_year: float = 0.35
    typo_rate: float = 0.03
    nickname_rate: float = 0.04
    initial_rate: float = 0.015
    swap_names_rate: float = 0.004
    dob_swap_rate: float = 0.008
    duplicate_rate: float = 0.015
    ct_instalments: int = 10
    buildup_scale: float = 1.0
    signal_visibility: float = 1.0
    services_per_need: int = 0
    record_sparsity: tuple[tuple[str, float], ...] = ()
    shared_phone_share: float = 0.0
    wrong_phone_share: float = 0.0
    name_concentration: float = 0.0
    community_clustering: float = 0.0
    namesake_child_share: float = 0.0

    def __post_init__(self) -> None:
        """Refuse knobs that cannot mean anything, with the knob's name.

        ``record_sparsity`` given as a mapping is accepted and stored as
        sorted (source, share) pairs, so equal settings compare and hash
        equal however they were written.
        """
        sparsity = self.record_sparsity
        pairs = sparsity.items() if isinstance(sparsity, Mapping) else sparsity
        normalised = tuple(sorted((str(source), float(share)) for source, share in pairs))
        object.__setattr__(self, "record_sparsity", normalised)
        problems = [
            f"record_sparsity[{s!r}] must be between 0 and 1" for s, v in normalised if not 0 <= v <= 1
        ]
        if len({s for s, _ in normalised}) != len(normalised):
            problems.append("record_sparsity names a source twice")
        if self.buildup_scale <= 0:
            problems.append("buildup_scale must be more than 0")
        if self.signal_visibility < 0:
            problems.append("signal_visibility must be 0 or more")
        if self.services_per_need < 0:
            problems.append("services_per_need must be 0 (every source) or more")
        for name in (
            "quiet_share",
            "high_contact_share",
            "nonpayer_share",
            "shared_phone_share",
            "wrong_phone_share",
            "community_clustering",
            "namesake_child_share",
        ):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be between 0 and 1")
        if self.name_concentration < 0:
            problems.append("name_concentration must be 0 or more")
        if self.need_rate_per_year < 0:
            problems.append("need_rate_per_year must be 0 or more")
        if problems:
            raise ValueError("; ".join(problems))

    def sparsity_of(self, source: str) -> float:
        """Share of ``source``'s person records that are sparse (0 when not named)."""
        return dict(self.record_sparsity).get(source, 0.0)


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_borough` wrote.

    Attributes:
        out_dir: the folder holding ``extracts/`` and ``truth/``.
        rows: rows written per file, keyed by the path relative to
            ``out_dir`` (``extracts/council_tax/events.csv``...).
        seconds: wall-clock time of the whole run.
        residents: adults and children generated (children are counted in
            households but are never records in any extract).
        adults: adults, the people who can have records.
    """

    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    residents: int = 0
    adults: int = 0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())
