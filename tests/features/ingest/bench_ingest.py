"""Time ingest on a large generated extract (not a test; run by hand).

    .venv/bin/python tests/features/ingest/bench_ingest.py --events 10000000 --people 300000 [--bad-lines 100] [--all-fields]

Writes ``council_tax`` people and events CSVs (ISO dates, amounts, some
blanks) to a temporary folder, optionally with ragged lines mixed in, runs
``ingest_extracts`` once and prints rows per second. ``--all-fields`` also
fills every optional identifier of people (NI and NHS numbers, phone, email,
UPRN) and mistypes the year of birth of 0.2% of them, so the optional-field
checks and the field-quarantine file are timed too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from early_warning.config import load_config
from early_warning.paths import RunPaths
from features.ingest import ingest_extracts


def generate(folder: Path, n_people: int, n_events: int, bad_lines: int, all_fields: bool = False) -> None:
    folder.mkdir(parents=True)
    i = pl.col("i")
    people = pl.DataFrame({"i": pl.int_range(0, n_people, eager=True)}).select(
        i,
        pl.format("P{}", i).alias("source_person_id"),
        pl.format("First{}", i % 5000).alias("first_name"),
        pl.format("Last{}", i % 7000).alias("last_name"),
        (pl.lit(date(1940, 1, 1)) + pl.duration(days=i % 25000)).cast(pl.String).alias("dob"),
        pl.format("{} High Street, Town", i % 900).alias("address"),
        pl.lit("AB1 2CD").alias("postcode"),
    )
    if all_fields:
        people = people.with_columns(
            pl.when(i % 500 == 7).then(pl.lit("4949-10-13")).otherwise(pl.col("dob")).alias("dob"),
            pl.format("AB{}C", (i % 1_000_000).cast(pl.String).str.zfill(6)).alias("ni_number"),
            pl.lit("943 476 5919").alias("nhs_number"),
            pl.format("07700 9{}", (i % 100_000).cast(pl.String).str.zfill(5)).alias("phone"),
            pl.format("person{}@example.org", i).alias("email"),
            (i + 100_000_000_000).cast(pl.String).alias("uprn"),
        )
    people.drop("i").write_csv(folder / "people.csv")
    types = ["bill_issued", "payment", "missed_instalment", "reminder", "final_notice", "summons"]
    events = pl.DataFrame({"i": pl.int_range(0, n_events, eager=True)}).select(
        pl.format("E{}", pl.col("i")).alias("event_id"),
        pl.format("P{}", (pl.col("i") * 7919) % n_people).alias("source_person_id"),
        (pl.lit(date(2024, 1, 1)) + pl.duration(days=pl.col("i") % 700)).cast(pl.String).alias("event_date"),
        pl.lit(pl.Series(types)).gather(pl.col("i") % len(types)).alias("event_type"),
        pl.when(pl.col("i") % 3 == 0).then(((pl.col("i") % 200000) / 100).cast(pl.String)).alias("amount"),
        pl.lit(None, dtype=pl.String).alias("topic"),
        pl.when(pl.col("i") % 4 == 0).then(pl.lit("phone")).alias("channel"),
    )
    events.write_csv(folder / "events.csv")
    if bad_lines:
        with (folder / "events.csv").open("ab") as f:
            for k in range(bad_lines):
                f.write(f"BAD{k},P1,2025-01-01\n".encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--bad-lines", type=int, default=0)
    parser.add_argument("--all-fields", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        generate(root / "extracts" / "council_tax", args.people, args.events, args.bad_lines, args.all_fields)
        (root / "extracts" / "gazetteer.csv").write_text("uprn,address,postcode,ward,locality\n1,a,b,c,d\n")
        size = (root / "extracts" / "council_tax" / "events.csv").stat().st_size
        print(f"generated in {time.perf_counter() - start:.1f}s (events.csv {size / 1e6:.0f} MB)")
        as_of = date(2026, 11, 22)
        start = time.perf_counter()
        report = ingest_extracts(root / "extracts", as_of, RunPaths(root / "home", as_of), load_config())
        took = time.perf_counter() - start
        rows = report.totals()["rows_read"]
        print(report.summary())
        print(f"ingest: {rows:,} rows in {took:.1f}s = {rows / took:,.0f} rows/s")


if __name__ == "__main__":
    main()
