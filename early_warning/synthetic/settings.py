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
            episode, before tenure, income and household multipliers.
        quiet_share: share of episodes that show little before they end.
        crisis_base / crisis_severity_slope: chance that an episode goes on
            to crisis or enforcement is ``crisis_base + slope * severity``
            (then adjusted by need type); severity is Beta(2, 3).
        high_contact_share: adults who contact the council a lot and are fine.
        nonpayer_share: council-tax account holders who simply will not pay
            in one year (single-service enforcement with no other signals).
        one_off_signal_rate: yearly rate of a random single signal event in
            otherwise steady lives.
        contact_rate_per_year: yearly rate of ordinary contact-centre
            enquiries (waste, parking...) for an adult who ever contacts.
        typo_rate / nickname_rate / initial_rate / swap_names_rate /
            dob_swap_rate: identity noise per source record, scaled by each
            source's own habits in ``records.py``.
        duplicate_rate: share of a source's records registered twice.
        ct_instalments: council-tax instalments per year (April to January).
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
