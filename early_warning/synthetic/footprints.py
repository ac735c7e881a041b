"""What each kind of need shows, in which services, and who can show it.

``FOOTPRINTS`` is the table behind ``signals.episode_events``: for each need
type, the signal events it tends to bring (a new benefit claim after an
income shock, damp reports from a council tenant in poor housing...), with a
monthly rate at severity 1 or a one-off chance, and who can show it at all
(only a council tenant reports a repair to the council's landlord service;
only a parent gets an early-help contact).

``footprint_pairs`` joins episodes to that table, keeping the entries the
person can show; ``visible_sources`` draws, for a world where need surfaces
in only a few services (``GeneratorSettings.services_per_need``), which
sources each episode shows in. Both signals and the money ledgers read that
choice, so "at most k sources" holds for everything an episode shows before
its crisis.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ASC, CS, HL, ASB, BEN, CC, CT = (
    "adult_social_care",
    "childrens_services",
    "homelessness",
    "asb",
    "benefits",
    "contact_centre",
    "council_tax",
)

#: (source, event type, topic, monthly rate at severity 1 / one-off chance, one_off, needs)
#: needs: "" anyone, "tenant" council tenant, "renter" any renter, "kids" children
#: at home, "older" aged 60+, "ct" council-tax account holder.
Footprint = tuple[str, str, str, float, bool, str]
FOOTPRINTS: dict[str, tuple[Footprint, ...]] = {
    "income_shock": (
        (BEN, "claim_new", "", 0.7, True, ""),
        (BEN, "change_of_circumstances", "", 0.25, False, ""),
        (BEN, "dhp_application", "", 0.1, False, "renter"),
        (BEN, "welfare_assistance_application", "", 0.08, False, ""),
        (CT, "ctr_claim", "", 0.5, True, "ct"),
        (CC, "enquiry", "council_tax", 0.3, False, ""),
        (CC, "enquiry", "benefits", 0.35, False, ""),
        (CC, "enquiry", "rent", 0.15, False, "renter"),
        (CC, "enquiry", "housing_options", 0.05, False, "renter"),
    ),
    "mental_health": (
        (CC, "complaint", "other", 0.15, False, ""),
        (CC, "enquiry", "other", 0.2, False, ""),
        (CC, "enquiry", "social_care", 0.05, False, ""),
        (ASC, "contact", "", 0.08, False, ""),
        (ASB, "noise_complaint", "", 0.04, False, ""),
        (ASB, "report_as_alleged", "", 0.03, False, ""),
        (BEN, "change_of_circumstances", "", 0.1, False, ""),
    ),
    "domestic_abuse": (
        (ASB, "report_as_victim", "", 0.08, False, ""),
        (CC, "enquiry", "housing_options", 0.15, False, ""),
        (CC, "enquiry", "asb", 0.05, False, ""),
        (CS, "early_help_contact", "", 0.1, False, "kids"),
        (CS, "school_absence_concern", "", 0.1, False, "kids"),
        (BEN, "claim_new", "", 0.4, True, ""),
        (CT, "ctr_claim", "", 0.2, True, "ct"),
    ),
    "addiction": (
        (ASB, "report_as_alleged", "", 0.06, False, ""),
        (CC, "complaint", "other", 0.1, False, ""),
        (CS, "school_absence_concern", "", 0.1, False, "kids"),
        (BEN, "claim_suspended", "", 0.05, False, ""),
        (BEN, "overpayment", "", 0.05, False, ""),
        (CC, "enquiry", "benefits", 0.1, False, ""),
    ),
    "bereavement": (
        (BEN, "change_of_circumstances", "", 0.6, True, ""),
        (CC, "enquiry", "council_tax", 0.2, False, ""),
        (CC, "enquiry", "benefits", 0.15, False, ""),
        (ASC, "contact", "", 0.05, False, "older"),
        (CT, "discount_removed", "", 0.15, True, "ct"),
    ),
    "illness": (
        (ASC, "contact", "", 0.12, False, ""),
        (ASC, "referral", "", 0.3, True, ""),
        (BEN, "change_of_circumstances", "", 0.15, False, ""),
        (BEN, "claim_new", "", 0.3, True, ""),
        (CC, "enquiry", "social_care", 0.1, False, ""),
        (CC, "enquiry", "benefits", 0.1, False, ""),
    ),
    "relationship_breakdown": (
        (BEN, "claim_new", "", 0.5, True, ""),
        (BEN, "change_of_circumstances", "", 0.15, False, ""),
        (CT, "ctr_claim", "", 0.3, True, "ct"),
        (CC, "enquiry", "housing_options", 0.2, False, ""),
        (CC, "enquiry", "council_tax", 0.15, False, ""),
        (CS, "early_help_contact", "", 0.05, False, "kids"),
    ),
    "housing_conditions": (
        ("housing_rent", "repair_request", "", 0.4, False, "tenant"),
        ("housing_rent", "damp_mould_report", "", 0.25, False, "tenant"),
        (CC, "enquiry", "repairs", 0.2, False, "tenant"),
        (CC, "enquiry", "housing_options", 0.1, False, "renter"),
        (CC, "complaint", "repairs", 0.1, False, ""),
        (ASC, "contact", "", 0.03, False, ""),
        (CS, "early_help_contact", "", 0.03, False, "kids"),
    ),
    "housing_loss": (
        (CC, "enquiry", "housing_options", 0.3, True, ""),
        (BEN, "dhp_application", "", 0.2, True, ""),
    ),
}


#: the two ledger sources: an episode shows there as missed payments
#: (``accounts.py``), not through the footprint table.
MONEY_SOURCES = (CT, "housing_rent")


def footprint_pairs(episodes: pl.DataFrame, adults: pl.DataFrame) -> pl.DataFrame:
    """One row per (episode, footprint entry) that the episode's person can show.

    ``episodes`` needs episode_id, true_person_id, need_type and whatever the
    caller reads later; ``adults`` needs true_person_id, arrival, age,
    member, n_children, tenure_code. Rows are in (episode_id, entry) order,
    so draws made over them are reproducible.
    """
    info = adults.select("true_person_id", "arrival", "age", "member", "n_children", "tenure_code")
    eps = episodes.join(info, on="true_person_id").sort("episode_id")
    table = pl.DataFrame(
        [(need, *entry) for need, entries in FOOTPRINTS.items() for entry in entries],
        schema=["need_type", "source", "event_type", "topic", "rate", "one_off", "needs"],
        orient="row",
    ).with_row_index("entry")
    pairs = eps.join(table, on="need_type").sort("episode_id", "entry")
    return pairs.filter(
        pl.when(pl.col("needs") == "tenant")
        .then(pl.col("tenure_code") == 0)
        .when(pl.col("needs") == "renter")
        .then(pl.col("tenure_code") != 2)
        .when(pl.col("needs") == "kids")
        .then((pl.col("n_children") > 0) & (pl.col("member") <= 1))
        .when(pl.col("needs") == "older")
        .then(pl.col("age") >= 60)
        .when(pl.col("needs") == "ct")
        .then(pl.col("member") == 0)
        .otherwise(True)
    )


def visible_sources(
    rng: np.random.Generator, episodes: pl.DataFrame, adults: pl.DataFrame, k: int
) -> pl.DataFrame | None:
    """The sources each episode shows its signals in, at most ``k`` of them.

    Candidates are the sources of the episode's footprint that the person
    can show (``footprint_pairs``), the household's council-tax account
    (every household has one, and any adult's need can make it miss an
    instalment) and, for a council tenant, the rent account. Each episode
    keeps ``k`` of its candidates, drawn uniformly. Returns episode_id,
    source; ``None`` when ``k`` is 0 (every source, nothing is drawn).
    """
    if k <= 0:
        return None
    footprint = footprint_pairs(episodes, adults).select("episode_id", "source")
    tenure = episodes.join(adults.select("true_person_id", "tenure_code"), on="true_person_id")
    money = pl.concat(
        [
            tenure.select("episode_id", source=pl.lit(CT)),
            tenure.filter(pl.col("tenure_code") == 0).select("episode_id", source=pl.lit("housing_rent")),
        ]
    )
    candidates = pl.concat([footprint, money]).unique().sort("episode_id", "source")
    return (
        candidates.with_columns(draw=pl.Series(rng.random(len(candidates))))
        .with_columns(rank=pl.col("draw").rank("ordinal").over("episode_id"))
        .filter(pl.col("rank") <= k)
        .select("episode_id", "source")
    )
