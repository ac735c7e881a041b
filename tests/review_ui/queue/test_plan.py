"""Who is sent for review: the rules of :mod:`review_ui.queue.plan` (pure: no database).

The same rules run end to end, through the queue's database, in
tests/review_ui/test_routing.py and tests/flows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import polars as pl
import pytest

from early_warning.config import Config
from review_ui.queue.plan import (
    CLOSED_SCHEMA,
    SHORTLIST_FACTOR,
    already_held,
    choose_candidates,
    lineage_moves,
    locality_capacities,
    ranked_cohort,
    recently_closed,
    route_plan,
    routing_lineage,
)
from tests.review_ui.conftest import candidates, with_rules

AS_OF = date(2026, 6, 30)


def frame(*rows: tuple[str, str | None, str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"person_id": pl.String, "previous_person_id": pl.String, "change": pl.String},
        orient="row",
    )


def test_merges_and_renames_move_items_to_the_new_id_and_same_or_new_ids_stay() -> None:
    lineage = frame(
        ("m", "a", "merged"),
        ("m", "b", "merged"),
        ("r", "old-r", "same"),
        ("s", "s", "same"),
        ("n", None, "new"),
    )
    assert lineage_moves(lineage) == {"a": "m", "b": "m", "old-r": "r"}


def test_a_split_leaves_items_with_the_part_that_kept_the_id_or_else_the_smallest_new_id() -> None:
    assert lineage_moves(frame(("p", "p", "split"), ("q", "p", "split"))) == {}
    assert lineage_moves(frame(("z", "p", "split"), ("y", "p", "split"))) == {"p": "y"}


def test_no_lineage_means_no_moves() -> None:
    assert lineage_moves(None) == {}
    assert lineage_moves(frame()) == {}


@pytest.mark.parametrize(
    ("lineage", "message"),
    [
        pytest.param(
            frame(("x", "a", "merged"), ("y", "a", "merged")), "two people", id="one-id-merged-twice"
        ),
        pytest.param(frame(("x", "a", "renamed")), "change must be one of", id="unknown-change"),
        pytest.param(frame(("x", "a", "same")).drop("change"), "missing column", id="no-change-column"),
    ],
)
def test_inconsistent_lineage_is_refused(lineage: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lineage_moves(lineage)


def test_routing_lineage_gives_one_row_per_previous_id_and_drops_vanished_ids() -> None:
    lineage = pl.DataFrame(
        {
            "person_id": ["m", "s", "gone"],
            "previous_person_ids": [["a", "b"], ["s"], ["x"]],
            "change": ["merged", "same", "vanished"],
        }
    )
    assert routing_lineage(lineage).rows() == [("m", "a", "merged"), ("m", "b", "merged"), ("s", "s", "same")]


# --- choosing tonight's candidates ------------------------------------------------


def cohort(*rows: tuple[str, float, str | None]) -> pl.DataFrame:
    scores = pl.DataFrame(
        [(p, s) for p, s, _ in rows], schema={"person_id": pl.String, "score": pl.Float64}, orient="row"
    )
    places = pl.DataFrame(
        [(p, loc) for p, _, loc in rows if loc is not None],
        schema={"person_id": pl.String, "locality": pl.String},
        orient="row",
    )
    return ranked_cohort(scores, places)


def reasons_only_for(*people: str, asked: list[int] | None = None) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """An ``explain`` that gives one reason to ``people`` and none to anyone else."""

    def explain(frame: pl.DataFrame) -> pl.DataFrame:
        if asked is not None:
            asked.append(frame.height)
        return frame.select(
            "person_id",
            pl.when(pl.col("person_id").is_in(list(people)))
            .then(pl.lit(["A reason."]))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
            .alias("reasons"),
        )

    return explain


def test_the_cohort_is_ranked_by_score_ties_by_id_and_an_unplaced_person_is_unknown() -> None:
    ranked = cohort(("b", 0.5, "Northgate"), ("a", 0.5, "Northgate"), ("c", 0.9, None))
    assert ranked.select("person_id", "locality").rows() == [
        ("c", "unknown"),
        ("a", "Northgate"),
        ("b", "Northgate"),
    ]


def test_each_locality_gets_its_best_fresh_people_up_to_capacity(config: Config) -> None:
    config = with_rules(config, capacities={"Northgate": 2, "Riverside": 1})
    ranked = cohort(
        *((f"n{i}", 0.9 - i / 100, "Northgate") for i in range(5)),
        *((f"r{i}", 0.8 - i / 100, "Riverside") for i in range(3)),
    )
    chosen = choose_candidates(
        ranked,
        set(),
        locality_capacities(ranked["locality"], config),
        min_reasons=1,
        explain=reasons_only_for(*ranked["person_id"]),
    )
    assert chosen["person_id"].to_list() == ["n0", "n1", "r0"]


def test_the_shortlist_reads_deeper_until_the_evidence_floor_fills_a_locality(config: Config) -> None:
    config = with_rules(config, capacities={"Northgate": 1})
    ranked = cohort(*((f"n{i:02}", 0.9 - i / 100, "Northgate") for i in range(5 * SHORTLIST_FACTOR)))
    asked: list[int] = []
    deep = f"n{2 * SHORTLIST_FACTOR:02}"  # beyond the first and second shortlist's reach
    chosen = choose_candidates(
        ranked,
        set(),
        locality_capacities(["Northgate"], config),
        min_reasons=1,
        explain=reasons_only_for(deep, asked=asked),
    )
    assert chosen["person_id"].to_list() == [deep]
    assert asked == [0, SHORTLIST_FACTOR, SHORTLIST_FACTOR, 2 * SHORTLIST_FACTOR], (
        "only new rows are explained"
    )


def test_people_the_queue_holds_are_always_candidates_and_use_no_capacity(config: Config) -> None:
    config = with_rules(config, capacities={"Northgate": 1})
    ranked = cohort(("held", 0.2, "Northgate"), ("fresh", 0.9, "Northgate"), ("thin", 0.95, "Northgate"))
    chosen = choose_candidates(
        ranked,
        {"held"},
        locality_capacities(["Northgate"], config),
        min_reasons=1,
        explain=reasons_only_for("fresh"),
    )
    assert chosen.select("person_id", "reasons").rows() == [("fresh", ["A reason."]), ("held", [])]


# --- the queue as routing finds it ------------------------------------------------


def closed(*rows: tuple[str, int, float]) -> pl.DataFrame:
    """Closed items: (person_id, days before AS_OF, score)."""
    return pl.DataFrame(
        [(p, AS_OF - timedelta(days=d), s, ["council_tax"]) for p, d, s in rows],
        schema=CLOSED_SCHEMA,
        orient="row",
    )


def test_the_cool_down_keeps_each_persons_latest_closing_within_it() -> None:
    found = recently_closed(closed(("a", 30, 0.4), ("a", 10, 0.5), ("b", 90, 0.6), ("c", 89, 0.7)), AS_OF, 90)
    assert found.sort("person_id").select("person_id", "closed_score").rows() == [("a", 0.5), ("c", 0.7)]
    assert already_held(["open"], found) == {"open", "a", "c"}


def test_a_plan_refreshes_open_items_holds_back_the_cool_down_and_fills_tonights_room(config: Config) -> None:
    config = with_rules(config, capacities={"Northgate": 3}, rises_by=0.15)
    plan = route_plan(
        candidates(
            ("open", 0.9, "Northgate"),
            ("cooling", 0.5, "Northgate"),
            ("risen", 0.7, "Northgate"),
            ("first", 0.6, "Northgate"),
            ("second", 0.3, "Northgate"),
        ),
        open_people=["open"],
        closed_recently=recently_closed(closed(("cooling", 5, 0.5), ("risen", 5, 0.5)), AS_OF, 90),
        new_tonight={"Northgate": 1},  # a re-run: one new item already surfaced tonight
        config=config,
    )
    rows = {row["person_id"]: row for row in plan.iter_rows(named=True)}
    assert [p for p in rows if rows[p]["routed"]] == ["open", "risen", "first"]
    assert [rows[p]["rank"] for p in ("open", "risen", "first")] == [1, 2, 3]
    assert rows["cooling"]["held_back"]
    assert not rows["cooling"]["routed"]
    assert rows["second"]["over_capacity"], "two places were left tonight"


def test_an_item_closed_between_choosing_and_routing_changes_no_candidate(config: Config) -> None:
    """Why choosing may run before routing's transaction (flows/route.py::choose_candidates):
    a caseworker closing an item in between moves its person from "open" to "closed within
    the cool-down", and both are held, so the candidates are the same; the plan made inside
    the transaction then sees the closing (cool-down) as if it had come first."""
    config = with_rules(config, capacities={"Northgate": 1})
    ranked = cohort(("a", 0.9, "Northgate"), ("b", 0.8, "Northgate"), ("fresh", 0.7, "Northgate"))
    capacities = locality_capacities(["Northgate"], config)
    explain = reasons_only_for("a", "b", "fresh")
    before = already_held(["a", "b"], recently_closed(closed(), AS_OF, 90))
    after = already_held(["b"], recently_closed(closed(("a", 0, 0.9)), AS_OF, 90))
    assert before == after == {"a", "b"}
    chosen = choose_candidates(ranked, before, capacities, min_reasons=1, explain=explain)
    assert chosen.equals(choose_candidates(ranked, after, capacities, min_reasons=1, explain=explain))
    plan = route_plan(
        chosen.with_columns(services=pl.lit(["council_tax"])),
        open_people=["b"],
        closed_recently=recently_closed(closed(("a", 0, 0.9)), AS_OF, 90),
        new_tonight={},
        config=config,
    )
    routed = plan.filter("routed")["person_id"].to_list()
    assert routed == ["b", "fresh"], "a is held back by the closing; fresh takes the night's one place"
