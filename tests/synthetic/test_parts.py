"""Unit tests of the small pure pieces: identifiers, typing noise, ledgers."""

from __future__ import annotations

import numpy as np
import pytest

from early_warning.synthetic.identity import nhs_check_digit, nhs_numbers, ni_numbers, phone_numbers
from early_warning.synthetic.ledger import CT, RENT, Disruption, explode_ranges, simulate_account
from early_warning.synthetic.noise import format_address, nickname, typo
from early_warning.synthetic.settings import GeneratorSettings


def test_nhs_check_digit_matches_a_published_example() -> None:
    # 943 476 5919 is the NHS Data Dictionary's worked example
    assert nhs_check_digit(np.array([943476591]))[0] == 9


def test_generated_identifiers_are_unique_and_well_formed() -> None:
    rng = np.random.default_rng(1)
    nhs = nhs_numbers(rng, 5_000)
    assert len(set(nhs.tolist())) == 5_000
    assert all(len(x) == 10 and x.startswith("9") for x in nhs.tolist())
    ni = ni_numbers(rng, 5_000)
    assert len(set(ni.tolist())) == 5_000
    phones = phone_numbers(rng, 100)
    assert all(len(p) == 11 and p.startswith("0") for p in phones.tolist())


@pytest.mark.parametrize("kind", [0, 1, 2, 3])
def test_a_typo_changes_a_name_a_little_and_keeps_its_first_letter(kind: int) -> None:
    out = typo("Jennifer", kind, 0.5)
    assert out != "Jennifer"
    assert out[0] == "J"
    assert abs(len(out) - len("Jennifer")) <= 1


def test_nicknames_come_from_the_table_and_unknown_names_stay() -> None:
    assert nickname("Robert", 0.0) in {"Bob", "Rob", "Bobby"}
    assert nickname("Zebedee", 0.5) == "Zebedee"


def test_address_styles_differ_but_keep_number_and_street() -> None:
    styles = {
        format_address(s, 3, 12, "Acacia Road", "Kingsmere", "KM4 2XY", False, False)
        for s in ("gazetteer", "upper", "flat_after", "abbrev_slash", "typed", "with_postcode", "short")
    }
    assert len(styles) == 7
    assert all("12" in a and "acacia" in a.lower() for a in styles)
    assert "Acacia Rd" in format_address("short", 0, 12, "Acacia Road", "Kingsmere", "KM4 2XY", False, False)


def test_explode_ranges_lists_every_date_in_each_half_open_range() -> None:
    rows, days = explode_ranges(np.array([0, 15, 40]), np.array([30, 16, 41]), np.array([0, 10, 20, 30, 40]))
    assert rows.tolist() == [0, 0, 0, 2]
    assert days.tolist() == [0, 10, 20, 40]


def _rows(months: int, due: float) -> np.ndarray:
    return np.array([[30 * i, due, i // 12] for i in range(months)], dtype=np.float64)


def test_a_non_payer_is_summoned_only_once_arrears_reach_the_threshold() -> None:
    out: list = []
    simulate_account(
        np.random.default_rng(0), CT, 1, _rows(24, 150.0), [Disruption(0, 0, 0.0, nonpayer=True)], 10_000, out
    )
    types = [r[3] for r in out]
    assert "summons" in types
    assert "reminder" in types
    assert "final_notice" in types
    summons = next(r for r in out if r[3] == "summons")
    assert summons[4] >= 1000
    assert all(r[4] >= 0 for r in out)


def test_an_emerging_need_keeps_rent_arrears_below_the_threshold_and_is_paid_down() -> None:
    out: list = []
    d = Disruption(start=0, end=300, p_miss=0.9, resolved=300, episode=5)
    simulate_account(np.random.default_rng(0), RENT, 1, _rows(24, 500.0), [d], 10_000, out)
    assert max(r[4] for r in out) < 1500
    assert any(r[3] == "missed_payment" for r in out)
    assert out[-1][4] == 0  # paid down after the need resolved


def test_a_crisis_on_the_rent_account_brings_a_notice_once_arrears_reach_1500() -> None:
    out: list = []
    d = Disruption(start=0, end=200, p_miss=0.5, crisis=300, episode=9)
    days = simulate_account(np.random.default_rng(0), RENT, 1, _rows(30, 500.0), [d], 10_000, out)
    nosp = next(r for r in out if r[3] == "nosp_served")
    assert nosp[4] >= 1500
    assert days[9] == nosp[2] >= 300


def test_settings_are_frozen() -> None:
    settings = GeneratorSettings()
    with pytest.raises(AttributeError):
        settings.typo_rate = 0.5  # type: ignore[misc]
