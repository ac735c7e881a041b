"""The generator's output, pinned: a refactor must not change one generated value.

The synthetic boroughs and named worlds are the project's measurement
baseline (linkage, model and benchmark numbers were all measured on them), so
splitting or tidying generator code must keep every value and the order of
every random draw. This test hashes the extracts and truth tables of a few
small boroughs (different seeds, sizes, and every named world) and compares
them with hashes recorded on the code as it was.

UPDATE THESE HASHES ONLY DELIBERATELY: when a change is *meant* to alter what
the generator writes (a new knob's default, a fix to how a ledger behaves),
rerun this file, check the change is the one intended, and paste the new
digests from the failure message here in the same commit, saying why in its
message. A refactor that makes this test fail has changed the baseline.

Parquet files are hashed as CSV text so a new parquet writer (a polars
upgrade) does not count as a change of data.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from early_warning.synthetic import GenerationSummary, generate_borough, world_names

AS_OF = date(2026, 3, 31)

#: (seed, residents, years, world) -> sha256 of the borough's extracts and truth tables.
#: The conftest borough (seed 7, 2,000 residents, 3 years, default settings) is hashed too.
#: high_need at 3,000 residents over 4 years is there because it is the smallest case
#: found with an eviction (every branch of the ledger's enforcement).
PINNED: dict[tuple[int, int, int, str], str] = {
    (3, 3_000, 4, "high_need"): "c19913bc418ddb11ba7e1d4fd93a7fbfe8a1ed1c5815e8ddddd00722623165c0",
    (20, 800, 2, "baseline"): "63965265cb309baa71258f2faac0835aefb2cc1b7b1adedd2fae36ebb63cd0af",
    (21, 800, 2, "slow_visible"): "c4229fd5a2576795bdf5e0e4a71f551f259a290f3bc8e441ff7f008a384f5259",
    (22, 800, 2, "sudden_quiet"): "37faabb3a0480bb660850b6b76647932feeae1a88930affd145360678450dc30",
    (23, 800, 2, "wont_pay_busy"): "32674f6a33743e19653ff22d773d7e6f30a5e4727ff926f4c89973b92f8d17f0",
    (24, 800, 2, "sparse_crm"): "0accfac870632aa7bafb02a9dcdb720eefa83ae0049c02b36b5f519233c03fb5",
    (25, 800, 2, "high_need"): "7b1eb8f4e55fcb9e3911c2e3cc13fc2ebed85292f980c893082600b6a2d766e4",
    (26, 800, 2, "rare_quiet"): "dd7d867b889c1282b7f9289985d158393eac754243eeff77856519a3c6f2534c",
    (27, 800, 2, "close_knit"): "30e585651f69663224690acb58b818b4a7e2740f79d0fb6c169b0e12d72ee25b",
}
CONFTEST_BOROUGH_DIGEST = "86def8469cc8d9ced9b7db8cf70ca97f947d6169035270eef15fd402cbb0f30d"


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in (root / "extracts").rglob("*") if p.is_file())
    files += sorted((root / "truth").glob("*.parquet"))
    for path in files:
        h.update(str(path.relative_to(root)).encode())
        h.update(
            pl.read_parquet(path).write_csv().encode() if path.suffix == ".parquet" else path.read_bytes()
        )
    return h.hexdigest()


def test_every_named_world_is_pinned() -> None:
    assert {world for *_, world in PINNED} == set(world_names())


@pytest.mark.parametrize("case", list(PINNED), ids=lambda c: f"seed{c[0]}-{c[1]}x{c[2]}y-{c[3]}")
def test_the_generator_writes_exactly_the_pinned_borough(
    case: tuple[int, int, int, str], tmp_path: Path
) -> None:
    seed, residents, years, world = case
    generate_borough(tmp_path, residents=residents, years=years, as_of=AS_OF, seed=seed, world=world)
    digest = _digest(tmp_path)
    assert digest == PINNED[case], (
        f"{case}: the generator's output changed to {digest} (see module docstring)"
    )


def test_the_conftest_borough_is_pinned(borough: GenerationSummary) -> None:
    digest = _digest(borough.out_dir)
    assert digest == CONFTEST_BOROUGH_DIGEST, (
        f"the generator's output changed to {digest} (see module docstring)"
    )
