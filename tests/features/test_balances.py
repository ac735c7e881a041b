"""One rule for "latest balance": by date, then by row in the source file, everywhere."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from features.balances import latest_balance

ROOT = Path(__file__).parents[2]


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_date": [date(2026, 1, 5), date(2026, 3, 1), date(2026, 3, 1), date(2026, 2, 1)],
            "row_number": [1, 9, 4, 20],
            "amount": [100.0, 250.0, 900.0, 400.0],
            "age_days": [85, 30, 30, 58],
        }
    )


def test_the_latest_balance_is_latest_by_date_then_by_row_in_the_file() -> None:
    # Two balances on 1 March: the later row (9) is the balance, whatever the amounts.
    assert _events().select(latest_balance()).item() == 250.0
    assert _events().select(latest_balance("event_date")).item() == date(2026, 3, 1)


def test_the_latest_balance_on_or_before_an_earlier_day() -> None:
    assert _events().select(latest_balance(where=pl.col("age_days") >= 40)).item() == 400.0
    assert _events().select(latest_balance(where=pl.col("age_days") >= 100)).item() is None


def test_no_other_module_orders_balances_its_own_way() -> None:
    # The order key (date shifted past the row number) has one home.
    homes = [
        p.relative_to(ROOT).as_posix()
        for package in ("features", "models", "flows", "review_ui", "early_warning")
        for p in (ROOT / package).rglob("*.py")
        if "1 << 32" in p.read_text(encoding="utf-8")
    ]
    assert homes == ["features/balances.py"]
