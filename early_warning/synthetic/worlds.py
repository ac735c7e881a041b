"""Named synthetic worlds: boroughs that differ the way real councils differ.

The generator was first tuned as one world, and the product's models and
record linkage were built against it; on an independently written borough
they did much worse. A product that has only ever been measured on the world
it was tuned on has not been measured. Each world here changes, together,
the few things a real council differs on: how common need is, how long it
builds before a crisis, how much of it reaches council systems and in how
many services, how many residents simply won't pay or contact the council a
lot while fine, and how thin the records of its contact centre are. Report a
model or a linkage setting across all of them, not on ``baseline`` alone.

The numbers are chosen to be plausible for the kind of council each
description names, never to flatter a model; the reasoning is in each
description. ``baseline`` is exactly ``GeneratorSettings()``, so the tests
and benchmarks built on the default borough keep their meaning.

Example::

    from early_warning.synthetic import generate_borough
    generate_borough(Path("b"), residents=5_000, years=3,
                     as_of=date(2026, 3, 31), seed=1, world="sudden_quiet")
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from early_warning.synthetic.settings import GeneratorSettings


@dataclass(frozen=True)
class World:
    """A named world: what it resembles, and how its settings differ from the default.

    Attributes:
        name: short identifier, used on the command line and in ``truth/world.json``.
        description: one paragraph in plain English: the kind of council it
            resembles and why its numbers are what they are.
        overrides: (knob, value) pairs applied to ``GeneratorSettings()``;
            empty for ``baseline``.
    """

    name: str
    description: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def settings(self) -> GeneratorSettings:
        return replace(GeneratorSettings(), **dict(self.overrides))


def _world(name: str, description: str, **overrides: Any) -> World:
    known = {f.name for f in fields(GeneratorSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"world {name!r} sets unknown knobs: {', '.join(unknown)}")
    return World(name, " ".join(description.split()), tuple(sorted(overrides.items())))


WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        _world(
            "baseline",
            """The world the product was first built and tuned on: an ordinary
            English borough (18% council tenants, 27% private renters), need
            starting for about 2% of adults a year before tenure and income
            multipliers, building over about five months before a crisis, and
            showing in every service its kind of need touches. Keep it for
            regression; never report a result on it alone.""",
        ),
        _world(
            "slow_visible",
            """The easy world. A settled outer borough (6% of households move
            each year) with an integrated early-help hub and one front door
            that logs every contact against the person. Need builds slowly (debt
            accumulating over a year rather than months: build-up x1.8) and
            shows clearly in many services (signal rates x1.7), few people
            keep it to themselves (quiet share 8%), council tax is collected
            well (0.8% won't pay) and background noise is low (one-off
            signals 0.06 a year). A model that does not do well here has a
            problem; one that does well only here has not been tested.""",
            buildup_scale=1.8,
            signal_visibility=1.7,
            quiet_share=0.08,
            nonpayer_share=0.008,
            one_off_signal_rate=0.06,
            move_rate_per_year=0.06,
        ),
        _world(
            "sudden_quiet",
            """A transient inner-city borough: a third of households rent
            privately and 13% move each year. Crises arrive within weeks (a
            no-fault eviction, domestic abuse: build-up x0.5), services are
            siloed or outsourced so need surfaces in at most two of them,
            each faintly (signal rates x0.6), and 40% of episodes are quiet -
            people who never contact the council before the crisis. Early
            warning has little time and little to see; this world measures
            how much it can still do and how it fails.""",
            buildup_scale=0.5,
            signal_visibility=0.6,
            services_per_need=2,
            quiet_share=0.4,
            tenure_private_rent=0.35,
            move_rate_per_year=0.13,
        ),
        _world(
            "wont_pay_busy",
            """A comfortable borough with low deprivation (need about 1% a
            year) but a council-tax collection problem: 4.5% of account
            holders simply won't pay (Gateshead's team found 4% of those in
            arrears would not rather than could not), so most summonses are
            not need. Residents are vocal: 10% contact the council a lot
            about bins, parking and neighbours while fine, ordinary contact
            is more frequent (0.5 a year) and one-off signals commoner (0.12
            a year). This is where a model that learned "enforcement and lots
            of contact" from the label, rather than need, fills the list
            with the wrong people.""",
            need_rate_per_year=0.01,
            nonpayer_share=0.045,
            high_contact_share=0.10,
            contact_rate_per_year=0.5,
            one_off_signal_rate=0.12,
        ),
        _world(
            "sparse_crm",
            """A council whose contact centre runs a CRM where call handlers
            log a caller on whatever they say: 60% of contact-centre and 40%
            of ASB person records hold only a name (or an initial), a number,
            an e-mail or part of an address, never a date of birth. The
            borough has hostels and supported housing whose landline 5% of
            these callers give, 4% of numbers belong to someone else, and
            the CRM opens a new contact more readily than it searches (3%
            duplicates). Need itself is as in baseline: this world tests
            record linkage, and what a model loses when the contact centre's
            signals cannot be joined to the person.""",
            record_sparsity=(("asb", 0.4), ("contact_centre", 0.6)),
            shared_phone_share=0.05,
            wrong_phone_share=0.04,
            duplicate_rate=0.03,
        ),
        _world(
            "close_knit",
            """The sparse_crm council's borough as a real one is named: long-settled
            communities live together (70% of households take their
            background from their ward's own mix, and a ward is dominated by
            a few communities), a handful of first names and surnames in each
            community are held by many people (the k-th commonest name of a
            list weighted k**-0.8, so the commonest first name of a community
            is about one in ten of its men or women, as Mohammed or John
            are), households share a surname, and one adult child in ten of
            the head's sex carries the head's first name too. So "Mohammed
            Khan" or "John Smith" in one street is often several people. Its
            contact centre and ASB records are as sparse as sparse_crm's;
            the difference between the two worlds is what names that are
            common together cost record linkage.""",
            record_sparsity=(("asb", 0.4), ("contact_centre", 0.6)),
            shared_phone_share=0.05,
            wrong_phone_share=0.04,
            duplicate_rate=0.03,
            name_concentration=0.8,
            community_clustering=0.7,
            namesake_child_share=0.1,
        ),
        _world(
            "high_need",
            """A deprived borough (a northern town or a poor inner-London
            borough) where a third of households rent privately, many of them
            in poor, insecure homes, and need starts for about 5% of adults a
            year before multipliers. Services are stretched and
            each episode shows in at most two of them; need builds a little
            faster than baseline (x0.8), 20% of episodes are quiet, and 2% of
            account holders won't pay. Many are in need, so a short list
            must choose well among people who all look alike.""",
            need_rate_per_year=0.05,
            services_per_need=2,
            buildup_scale=0.8,
            quiet_share=0.2,
            nonpayer_share=0.02,
            tenure_private_rent=0.33,
        ),
        _world(
            "rare_quiet",
            """An affluent, mostly owner-occupied shire district with an older
            population (8% council tenants, 17% private renters). Need is
            rare (about 0.5% of adults a year) and hidden: 45% of episodes
            are quiet (pride, stigma, people who have never needed the
            council), what does show is faint (signal rates x0.6), and 5% of
            residents contact the council a lot while fine. The positives
            are few, so precision and calibration at a low base rate are
            what this world measures.""",
            need_rate_per_year=0.005,
            quiet_share=0.45,
            signal_visibility=0.6,
            high_contact_share=0.05,
            tenure_council=0.08,
            tenure_private_rent=0.17,
        ),
    )
}


def world_names() -> list[str]:
    """The names of every world, ``baseline`` first."""
    return list(WORLDS)


def world_settings(name: str) -> GeneratorSettings:
    """The generator settings of the world called ``name``.

    Raises:
        KeyError: no world has that name (the message lists the worlds).
    """
    try:
        return WORLDS[name].settings
    except KeyError:
        raise KeyError(f"no world called {name!r}; the worlds are: {', '.join(WORLDS)}") from None


def world_of(settings: GeneratorSettings) -> str:
    """The name of the world these settings are, or ``custom``."""
    return next((w.name for w in WORLDS.values() if w.settings == settings), "custom")
