"""Time person features and service thresholds on a large random borough.

Builds (once, cached under benchmarks/data/) a random events frame in the
canonical shape with the default vocabulary, then times
``build_person_features(...).collect()`` and ``known_to_services(...)``.

    .venv/bin/python benchmarks/bench_person_features.py --events 15000000 --persons 400000
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from early_warning.config import load_config
from features.person_features import build_person_features
from features.schema import EVENTS_SCHEMA
from models.thresholds import early_warning_cohort, known_to_services

AS_OF = date(2025, 3, 31)
DATA = Path(__file__).parent / "data"
# Share of events from each source (roughly what a borough's systems send).
SOURCE_SHARE = {
    "council_tax": 0.35,
    "housing_rent": 0.25,
    "benefits": 0.10,
    "contact_centre": 0.15,
    "adult_social_care": 0.05,
    "childrens_services": 0.04,
    "homelessness": 0.01,
    "asb": 0.05,
}


def make(n_events: int, n_persons: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    cfg = load_config()
    rng = np.random.default_rng(seed)
    person_frames, event_frames = [], []
    start = (date(2020, 1, 1) - date(1970, 1, 1)).days
    end = (AS_OF - date(1970, 1, 1)).days + 60  # some events after the night, which must be ignored
    for source, share in SOURCE_SHARE.items():
        n_records = max(1, int(n_persons * min(1.0, share * 3)))
        person_frames.append(
            pl.DataFrame(
                {
                    "person_id": pl.Series(rng.integers(0, n_persons, n_records)).cast(pl.String),
                    "source": source,
                    "source_person_id": [f"{source[:3]}{i}" for i in range(n_records)],
                }
            )
        )
        n = int(n_events * share)
        vocab = cfg.sources[source].events
        types = [
            t
            for role in ("routine", "signal", "service", "enforcement", "crisis")
            for t in getattr(vocab, role)
        ]
        roles = [
            role
            for role in ("routine", "signal", "service", "enforcement", "crisis")
            for _ in getattr(vocab, role)
        ]
        pick = rng.integers(0, len(types), n)
        topics = cfg.sources[source].topics or [None]
        event_frames.append(
            pl.DataFrame(
                {
                    "source": pl.repeat(source, n, eager=True),
                    "event_id": pl.int_range(0, n, eager=True).cast(pl.String),
                    "source_person_id": pl.Series(rng.integers(0, n_records, n)).cast(pl.String),
                    "event_date": pl.Series(rng.integers(start, end, n)).cast(pl.Int32).cast(pl.Date),
                    "event_type": pl.Series(np.array(types)[pick]),
                    "role": pl.Series(np.array(roles)[pick]),
                    "amount": pl.Series(np.round(rng.gamma(2.0, 300.0, n), 2))
                    if cfg.sources[source].holds_arrears
                    else pl.repeat(None, n, dtype=pl.Float64, eager=True),
                    "topic": pl.Series(
                        np.array(topics, dtype=object)[rng.integers(0, len(topics), n)].tolist(),
                        dtype=pl.String,
                    ),
                    "channel": pl.Series(np.array(cfg.channels)[rng.integers(0, len(cfg.channels), n)])
                    if source in ("contact_centre", "adult_social_care")
                    else pl.repeat(None, n, dtype=pl.String, eager=True),
                    "row_number": pl.int_range(1, n + 1, eager=True),
                }
            )
            .with_columns(source_person_id=pl.lit(source[:3]) + pl.col("source_person_id"))
            .cast(EVENTS_SCHEMA)  # type: ignore[arg-type]
        )
    return pl.concat(event_frames), pl.concat(person_frames)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=15_000_000)
    parser.add_argument("--persons", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    ev_path = DATA / f"events_{args.events}_{args.persons}.parquet"
    pe_path = DATA / f"persons_{args.events}_{args.persons}.parquet"
    if not ev_path.exists():
        t = time.perf_counter()
        events, persons = make(args.events, args.persons)
        events.write_parquet(ev_path)
        persons.write_parquet(pe_path)
        print(f"generated in {time.perf_counter() - t:.1f} s")
    cfg = load_config()
    events_df = pl.read_parquet(ev_path)
    persons_df = pl.read_parquet(pe_path)
    print(
        f"events {events_df.height:,}  source records {persons_df.height:,}  "
        f"persons {persons_df['person_id'].n_unique():,}  as_of {AS_OF}"
    )
    for _ in range(args.repeat):
        t = time.perf_counter()
        feats = build_person_features(events_df.lazy(), persons_df.lazy(), AS_OF, cfg).collect()
        print(f"build_person_features (in memory): {time.perf_counter() - t:.1f} s -> {feats.shape}")

        t = time.perf_counter()
        feats = build_person_features(
            pl.scan_parquet(ev_path), pl.scan_parquet(pe_path), AS_OF, cfg
        ).collect()
        print(f"build_person_features (scan Parquet): {time.perf_counter() - t:.1f} s -> {feats.shape}")

        t = time.perf_counter()
        known = known_to_services(events_df.lazy(), persons_df.lazy(), AS_OF, cfg)
        print(f"known_to_services: {time.perf_counter() - t:.1f} s -> {known.height:,} known")
        t = time.perf_counter()
        cohort = early_warning_cohort(persons_df.lazy(), known)
        print(f"early_warning_cohort: {time.perf_counter() - t:.2f} s -> {cohort.height:,} in cohort")


if __name__ == "__main__":
    main()
