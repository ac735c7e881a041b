"""UK dates and money: one way of writing each, the same for a value and for a polars column."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from early_warning.formatting import money, money_expr, uk_date, uk_date_expr, uk_date_time


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (date(2026, 3, 2), "2 March 2026"),
        (datetime(2025, 12, 31, 23, 59), "31 December 2025"),
        ("2026-06-30", "30 June 2026"),
        ("2026-06-30T10:00:00", "30 June 2026"),
        (None, ""),
        ("", ""),
    ],
)
def test_a_date_has_no_leading_zero_and_the_month_in_full(value: object, written: str) -> None:
    assert uk_date(value) == written  # type: ignore[arg-type]


def test_a_time_says_it_is_in_utc() -> None:
    assert uk_date_time(datetime(2026, 3, 2, 9, 5)) == "2 March 2026 at 09:05 UTC"
    assert uk_date_time(None) == ""


@pytest.mark.parametrize(
    ("pounds", "written"),
    [
        (0.0, "£0"),
        (75.0, "£75"),
        (75.5, "£75.50"),
        (120.5, "£120.50"),
        (1234.0, "£1,234"),
        (1_240_000.05, "£1,240,000.05"),
        (2_000_000_000.0, "£2,000,000,000"),
        (-20.0, "-£20"),
        (-0.001, "£0"),
        (None, ""),
    ],
)
def test_money_shows_pence_only_when_there_are_some(pounds: float | None, written: str) -> None:
    assert money(pounds) == written


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_a_date_column_is_written_as_a_date_value_is(day: date) -> None:
    assert pl.select(uk_date_expr(pl.lit(day))).item() == uk_date(day)


@given(st.floats(min_value=-1e10, max_value=1e10, allow_nan=False))
@example(0.005)
@example(1234.565)
@example(999.995)
def test_a_money_column_is_written_as_a_money_value_is(pounds: float) -> None:
    assert pl.select(money_expr(pl.lit(pounds, dtype=pl.Float64))).item() == money(pounds)


def test_a_missing_date_or_amount_stays_missing_in_a_column() -> None:
    frame = pl.DataFrame({"day": [None], "amount": [None]}, schema={"day": pl.Date, "amount": pl.Float64})
    written = frame.select(uk_date_expr("day").alias("day"), money_expr(pl.col("amount")).alias("amount"))
    assert written.row(0) == (None, None)
