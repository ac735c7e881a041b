"""Small boroughs generated once per test session.

2,000 residents over three years is about a second to generate and big
enough for every kind of record, event and episode to appear.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from early_warning.config import Config, load_config
from early_warning.synthetic import GenerationSummary, generate_borough

AS_OF = date(2026, 3, 31)
ARGS = {"residents": 2_000, "years": 3, "as_of": AS_OF}


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def borough(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate_borough(tmp_path_factory.mktemp("borough_a"), seed=7, **ARGS)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def borough_again(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate_borough(tmp_path_factory.mktemp("borough_b"), seed=7, **ARGS)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def borough_other_seed(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate_borough(tmp_path_factory.mktemp("borough_c"), seed=8, **ARGS)  # type: ignore[arg-type]


def _read_extract(root: Path, source: str, kind: str, config: Config) -> pl.DataFrame:
    """A source's people or events file, renamed back to the contract's names,
    with dates parsed as the mapping declares."""
    folder = root / "extracts" / source
    parquet = folder / f"{kind}.parquet"
    if parquet.exists():
        return pl.read_parquet(parquet)
    frame = pl.read_csv(folder / f"{kind}.csv", infer_schema=False)
    mapping = config.mapping_for(source)
    renames = mapping.people if kind == "people" else mapping.events
    frame = frame.rename({v: k for k, v in renames.items()})
    date_col = "dob" if kind == "people" else "event_date"
    frame = frame.with_columns(pl.col(date_col).str.strptime(pl.Date, mapping.date_pattern, strict=True))
    if "amount" in frame.columns:
        frame = frame.with_columns(pl.col("amount").cast(pl.Float64))
    return frame


@pytest.fixture(scope="session")
def truth(borough: GenerationSummary) -> dict[str, pl.DataFrame]:
    folder = borough.out_dir / "truth"
    return {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


@pytest.fixture(scope="session")
def extracts(borough: GenerationSummary, config: Config) -> dict[str, dict[str, pl.DataFrame]]:
    return {
        source: {kind: _read_extract(borough.out_dir, source, kind, config) for kind in ("people", "events")}
        for source in config.sources
    }
