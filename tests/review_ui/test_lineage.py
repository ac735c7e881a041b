"""Reading linkage's lineage frame (pure: no database)."""

from __future__ import annotations

import polars as pl
import pytest

from review_ui.lineage import lineage_moves


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
