"""The demo's own configuration: every locality's nightly capacity raised, so that two nights
give the busiest locality a page and a half of its list."""

from __future__ import annotations

from pathlib import Path

from early_warning.config import load_config
from early_warning.demo import DEMO_CAPACITY, DEMO_NIGHTS, demo_config
from early_warning.settings import Settings


def test_the_demo_config_raises_every_localitys_capacity_to_a_page_and_a_half(tmp_path: Path) -> None:
    folder = demo_config(tmp_path)
    assert folder == tmp_path / "demo" / "config"
    demo = load_config(folder).localities
    default = load_config().localities
    assert set(demo.localities) == set(default.localities)
    assert {locality.capacity for locality in demo.localities.values()} == {DEMO_CAPACITY}
    page = Settings.model_fields["page_size"].default
    assert DEMO_CAPACITY * len(DEMO_NIGHTS) >= 1.5 * page
    # Everything else is the defaults.
    assert load_config(folder).routing == load_config().routing


def test_the_demo_runs_two_nights_a_week_apart_ending_on_its_night() -> None:
    first, second = DEMO_NIGHTS
    assert (second - first).days == 7
