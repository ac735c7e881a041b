"""Who is sent for review: every rule, in one pure module.

A newcomer asking "why was this person sent to review tonight, and why not
that one?" reads this file. It holds the rules and nothing else: frames in,
frames out, no database, no files. The nightly route stage
(:mod:`flows.route`) reads the night's scores and the queue, and calls:

* :func:`ranked_cohort` and :func:`locality_capacities`: the cohort ranked by
  score (ties by ``person_id``, so the order is the same every time) and each
  locality's capacity (``config.capacity_of``);
* :func:`choose_candidates`: each locality's best-ranked fresh people who
  meet the evidence floor (``routing.min_reasons_to_surface``), up to its
  capacity, plus everyone the queue already holds (:func:`already_held`), with
  reasons written only for a shortlist (:data:`SHORTLIST_FACTOR`);
* :func:`routing_lineage` and :func:`lineage_moves`: linkage's person-id
  changes as the queue follows them (merges and renames move items to the new
  id; a split leaves them with the part that kept the id).

Then, inside routing's one transaction, :mod:`review_ui.routing` reads the
open items and the recently closed ones and calls :func:`route_plan`: open
items are refreshed; a person whose last item closed within the cool-down is
held back unless they resurface (score risen by
``resurface_if_score_rises_by``, or a new service when
``resurface_if_new_service``); everyone else gets a new item while their
locality has room tonight.

Example:
    >>> from early_warning.config import load_config
    >>> config = load_config()
    >>> ranked = ranked_cohort(
    ...     pl.DataFrame({"person_id": ["a", "b"], "score": [0.4, 0.9]}),
    ...     pl.DataFrame({"person_id": ["a"], "locality": ["Northgate"]}),
    ... )
    >>> ranked["person_id"].to_list(), ranked["locality"].to_list()
    (['b', 'a'], ['unknown', 'Northgate'])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date

import polars as pl

from early_warning.config import Config
from review_ui.store.tables import UNKNOWN_LOCALITY

#: How many times its capacity each locality's shortlist holds before the evidence floor.
SHORTLIST_FACTOR = 4
#: The values of linkage's lineage ``change`` column that the queue follows
#: (an id that vanished has no one to move to).
LINEAGE_CHANGES = ("new", "same", "merged", "split")
_SCORE_TOLERANCE = 1e-9
_BY_SCORE = {"by": ["score", "person_id"], "descending": [True, False]}
_NO_TEXT = pl.lit([], dtype=pl.List(pl.String))

#: Each person's latest closed item within the cool-down (:func:`recently_closed`).
CLOSED_SCHEMA = pl.Schema(
    {
        "person_id": pl.String(),
        "closed_on": pl.Date(),
        "closed_score": pl.Float64(),
        "closed_services": pl.List(pl.String),
    }
)

# --- choosing tonight's candidates ---------------------------------------------


def ranked_cohort(scores: pl.DataFrame, localities: pl.DataFrame) -> pl.DataFrame:
    """``scores`` (person_id, score, ...) with each person's locality ("unknown" when none),
    best first: by score, ties by person_id."""
    return (
        scores.join(localities.select("person_id", "locality"), on="person_id", how="left")
        .with_columns(pl.col("locality").fill_null(UNKNOWN_LOCALITY))
        .sort(**_BY_SCORE)  # type: ignore[arg-type]
    )


def locality_capacities(localities: Iterable[str], config: Config) -> pl.DataFrame:
    """``locality``, ``capacity``: how many new items each locality takes a night, in name order."""
    names = sorted(set(localities))
    return pl.DataFrame(
        {"locality": names, "capacity": [config.capacity_of(name) for name in names]},
        schema={"locality": pl.String, "capacity": pl.Int64},
    )


def best_per_locality(ranked: pl.DataFrame, capacities: pl.DataFrame, *, times: int) -> pl.DataFrame:
    """The first ``times`` x capacity rows of each locality, keeping ``ranked``'s order (best first)."""
    return (
        ranked.with_columns(place=pl.int_range(pl.len()).over("locality"))
        .join(capacities, on="locality", maintain_order="left")
        .filter(pl.col("place") < pl.col("capacity") * times)
        .drop("place", "capacity")
    )


def choose_candidates(
    ranked: pl.DataFrame,
    held: Iterable[str],
    capacities: pl.DataFrame,
    *,
    min_reasons: int,
    explain: Callable[[pl.DataFrame], pl.DataFrame],
) -> pl.DataFrame:
    """Tonight's candidates: ``person_id``, ``score``, ``locality``, ``reasons``, best first.

    Args:
        ranked: :func:`ranked_cohort`.
        held: the people the queue already holds (:func:`already_held`): they are
            always candidates, so routing can refresh their items or check the
            resurface rules, and use none of their locality's capacity here.
        capacities: :func:`locality_capacities`.
        min_reasons: the evidence floor: a fresh person needs this many reasons.
        explain: ``person_id`` (and more) -> the same rows with ``reasons`` (the
            caller's edge to the reason sentences, which read the night's events).

    Reasons are written only for a shortlist: each locality's best-ranked fresh
    people (:data:`SHORTLIST_FACTOR` times its capacity, as some will lack the
    evidence floor) plus everyone held. A locality the shortlist does not fill
    reads further down the ranking (twice as deep each round) until it is
    filled or nobody is left, so who is chosen never depends on how deep the
    first shortlist happened to reach (re-running a night gives the same list).
    """

    def with_reasons(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(explain(frame), on="person_id", how="left").with_columns(
            pl.col("reasons").fill_null(_NO_TEXT)
        )

    in_queue = pl.col("person_id").is_in(pl.Series(list(held), dtype=pl.String).implode())
    enough = pl.col("reasons").list.len() >= min_reasons
    fresh_ranked = ranked.filter(~in_queue)
    explained = with_reasons(ranked.filter(in_queue))
    depth = SHORTLIST_FACTOR
    while True:
        shortlist = best_per_locality(fresh_ranked, capacities, times=depth)
        todo = shortlist.join(explained, on="person_id", how="anti")
        if not todo.is_empty():
            explained = pl.concat([explained, with_reasons(todo)])
        fresh = best_per_locality(
            explained.filter(~in_queue).filter(enough).sort(**_BY_SCORE),  # type: ignore[arg-type]
            capacities,
            times=1,
        )
        if _all_filled(capacities, fresh, shortlist, fresh_ranked):
            break
        depth *= 2
    return pl.concat([fresh, explained.filter(in_queue)]).sort(**_BY_SCORE)  # type: ignore[arg-type]


def _all_filled(
    capacities: pl.DataFrame, chosen: pl.DataFrame, shortlist: pl.DataFrame, fresh: pl.DataFrame
) -> bool:
    """Every locality has its capacity chosen, or the shortlist already reached all its people."""

    def per_locality(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("locality").len().rename({"len": name})

    short = (
        capacities.join(per_locality(chosen, "chosen"), on="locality", how="left")
        .join(per_locality(shortlist, "reached"), on="locality", how="left")
        .join(per_locality(fresh, "available"), on="locality", how="left")
        .fill_null(0)
        .filter((pl.col("chosen") < pl.col("capacity")) & (pl.col("reached") < pl.col("available")))
    )
    return short.is_empty()


# --- the queue as routing finds it ------------------------------------------------


def recently_closed(closed: pl.DataFrame, as_of: date, cooldown_days: int) -> pl.DataFrame:
    """Each person's latest closed item, if it closed less than ``cooldown_days`` before the night.

    Args:
        closed: one row per closed item, ``CLOSED_SCHEMA`` (``closed_on`` is the
            council's date of closing), in the order the queue gave them: of two
            closed on the same day, the first is kept.
    """
    return (
        closed.select(CLOSED_SCHEMA.names())
        .cast(CLOSED_SCHEMA)
        .filter((pl.lit(as_of) - pl.col("closed_on")).dt.total_days() < cooldown_days)
        .sort(["person_id", "closed_on"], descending=[False, True], maintain_order=True)
        .group_by("person_id", maintain_order=True)
        .first()
    )


def already_held(open_people: Iterable[str], closed_recently: pl.DataFrame) -> set[str]:
    """People routing will not count as fresh tonight: an open item, or closed within the cool-down."""
    return set(open_people) | set(closed_recently["person_id"].to_list())


def route_plan(
    candidates: pl.DataFrame,
    *,
    open_people: Iterable[str],
    closed_recently: pl.DataFrame,
    new_tonight: Mapping[str, int],
    config: Config,
) -> pl.DataFrame:
    """Decide, for every candidate, what happens tonight.

    Args:
        candidates: person_id, score, locality, reasons, services (checked).
        open_people: the people with an open item (after following lineage).
        closed_recently: :func:`recently_closed`.
        new_tonight: locality -> items already first surfaced tonight (a re-run
            of the night counts them against the same capacity).
        config: capacities and the cool-down rules.

    Returns:
        The candidates sorted by locality then score, with ``has_open``,
        ``held_back`` (cool-down), ``create`` (a new item), ``over_capacity``,
        ``routed`` (an item is written) and ``rank`` (within the locality,
        among the routed).
    """
    opened = pl.DataFrame({"person_id": list(open_people)}, schema={"person_id": pl.String}).with_columns(
        has_open=pl.lit(True)
    )
    localities = sorted(set(candidates["locality"].to_list()))
    room = pl.DataFrame(
        {
            "locality": localities,
            "room": [max(config.capacity_of(name) - new_tonight.get(name, 0), 0) for name in localities],
        },
        schema={"locality": pl.String, "room": pl.Int64},
    )
    return (
        candidates.join(opened, on="person_id", how="left")
        .join(closed_recently, on="person_id", how="left")
        .join(room, on="locality", how="left")
        .with_columns(pl.col("has_open").fill_null(False))
        .with_columns(
            held_back=~pl.col("has_open") & pl.col("closed_on").is_not_null() & ~_resurfaces(config),
        )
        .with_columns(eligible=~pl.col("has_open") & ~pl.col("held_back"))
        .sort(["locality", "score", "person_id"], descending=[False, True, False])
        .with_columns(queue_position=pl.col("eligible").cast(pl.Int64).cum_sum().over("locality"))
        .with_columns(
            create=pl.col("eligible") & (pl.col("queue_position") <= pl.col("room")),
            over_capacity=pl.col("eligible") & (pl.col("queue_position") > pl.col("room")),
        )
        .with_columns(routed=pl.col("has_open") | pl.col("create"))
        .with_columns(
            rank=pl.when(pl.col("routed")).then(pl.col("routed").cast(pl.Int64).cum_sum().over("locality"))
        )
    )


def _resurfaces(config: Config) -> pl.Expr:
    """A recently closed person comes back: their score rose enough, or (if enabled) a new service."""
    rules = config.routing
    risen = pl.col("score") >= pl.col("closed_score") + rules.resurface_if_score_rises_by - _SCORE_TOLERANCE
    new_service = pl.col("services").list.set_difference(pl.col("closed_services")).list.len() > 0
    return risen.fill_null(False) | (new_service.fill_null(False) & rules.resurface_if_new_service)


# --- lineage ---------------------------------------------------------------------


def routing_lineage(lineage: pl.DataFrame) -> pl.DataFrame:
    """Linkage's lineage (one row per person, a list of previous ids) as the queue
    needs it (one row per previous id); ids that vanished have no one to move to."""
    return (
        lineage.filter(pl.col("change").is_in(LINEAGE_CHANGES))
        .explode("previous_person_ids")
        .rename({"previous_person_ids": "previous_person_id"})
        .select("person_id", "previous_person_id", "change")
    )


def lineage_moves(lineage: pl.DataFrame | None) -> dict[str, str]:
    """previous person_id -> the person_id that now holds that person's items."""
    if lineage is None or lineage.height == 0:
        return {}
    missing = [c for c in ("person_id", "previous_person_id", "change") if c not in lineage.columns]
    if missing:
        raise ValueError(f"lineage is missing column(s): {', '.join(missing)}")
    unknown = set(lineage["change"].drop_nulls().unique().to_list()) - set(LINEAGE_CHANGES)
    if unknown or lineage["change"].null_count():
        raise ValueError(f"lineage: change must be one of {', '.join(LINEAGE_CHANGES)}")
    rows = lineage.filter(
        pl.col("previous_person_id").is_not_null()
        & ((pl.col("previous_person_id") != pl.col("person_id")) | (pl.col("change") == "split"))
    ).select("person_id", "previous_person_id", "change")
    moves: dict[str, str] = {}
    split_parts: dict[str, list[str]] = defaultdict(list)
    for person_id, previous, change in rows.iter_rows():
        if change == "split":
            split_parts[previous].append(person_id)
        elif change in ("same", "merged"):
            if moves.get(previous, person_id) != person_id:
                raise ValueError(f"lineage: {previous} is mapped to two people; mark it as a split")
            moves[previous] = person_id
    for previous, parts in split_parts.items():
        # The part that kept the id inherits the items; if none did, the
        # smallest new id does, so the choice is the same on every run.
        if previous not in parts:
            moves[previous] = min(parts)
    return moves
