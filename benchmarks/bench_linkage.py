"""Linkage and graph benchmark on a generated synthetic borough.

Prints records resolved per minute, time per phase and peak memory, exact
comparison counts per blocking rule, and pairwise precision/recall/F1
against the borough's truth, overall and per record richness class (a pair
counts in the class of its poorer record: see
``features.linkage.evaluation``); appends the figures as one JSON line to
``benchmarks/results/linkage.json``. Nothing is asserted.

    .venv/bin/python benchmarks/bench_linkage.py --residents 300000
    .venv/bin/python benchmarks/bench_linkage.py --residents 1000000 --skip-graph
    .venv/bin/python benchmarks/bench_linkage.py --residents 5000 --world sparse_crm --seed 21

``--world`` names a synthetic world (``early_warning.synthetic.worlds``);
report linkage on more than ``baseline``, whose records are the richest.

Splink's headline is "a million records on a laptop in about a minute".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from early_warning.synthetic.sparse import RICHNESS
from early_warning.synthetic.worlds import world_names
from features.graph import build_graph_features
from features.ingest import ingest_extracts
from features.linkage import (
    count_blocked_comparisons,
    format_class_table,
    load_linkage_settings,
    pairwise_scores,
    resolve_persons,
    scores_by_class,
)
from features.linkage.prep import prepare_people

RESULTS = Path(__file__).parent / "results" / "linkage.json"
AS_OF = date(2026, 3, 31)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--world", default="baseline", choices=world_names(), help="the synthetic world to generate"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/early-warning-bench"))
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a council configuration folder whose linkage.yaml overrides the defaults",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="JSON-lines file the figures are appended to"
    )
    parser.add_argument("--skip-counts", action="store_true", help="do not count blocking comparisons")
    parser.add_argument("--skip-graph", action="store_true", help="do not build graph features")
    args = parser.parse_args(argv)

    name = f"borough_{args.residents}_{args.seed}"
    out = args.workdir / (name if args.world == "baseline" else f"{args.world}_{name}")
    run = RunPaths(home=out / "home", as_of=AS_OF)
    if not (run.canonical_people).exists():
        started = time.perf_counter()
        generate_borough(
            out, residents=args.residents, years=args.years, as_of=AS_OF, seed=args.seed, world=args.world
        )
        ingest_extracts(out / "extracts", AS_OF, run, load_config())
        print(f"generated and ingested the borough in {time.perf_counter() - started:.0f} s")
    people = pl.read_parquet(run.canonical_people)
    truth = pl.read_parquet(out / "truth" / "person_records.parquet")
    settings = load_linkage_settings(args.config)
    print(f"{people.height:,} source person records from {args.residents:,} residents ({args.world} world)")

    counts = None
    if not args.skip_counts:
        started = time.perf_counter()
        counts = count_blocked_comparisons(prepare_people(people), settings)
        print(f"\nexact comparisons per blocking rule ({time.perf_counter() - started:.0f} s to count):")
        with pl.Config(tbl_rows=50, fmt_str_lengths=80, tbl_width_chars=160):
            print(counts)

    rss_before = _peak_rss_mb()
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    result = resolve_persons(people, previous=None, as_of=AS_OF, settings=settings)
    linkage_s = time.perf_counter() - started
    linkage_cpu_s = time.process_time() - cpu_started
    scores = pairwise_scores(result.persons, truth)
    by_class = scores_by_class(result.persons, truth, class_column="richness", classes=RICHNESS)
    per_minute = people.height / linkage_s * 60
    print(
        f"\nlinkage: {linkage_s:.1f} s, {per_minute:,.0f} records per minute, peak RSS {_peak_rss_mb():,.0f} MB"
    )
    print(
        f"CPU {linkage_cpu_s:.1f} s (all threads); load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (other work on the machine inflates wall time)"
    )
    print("phases (s):", {k: round(v, 1) for k, v in result.timings.items()})
    print(f"pairwise precision {scores.precision:.4f} recall {scores.recall:.4f} F1 {scores.f1:.4f}")
    print("\nby record richness (a pair counts in the class of its poorer record):")
    print(format_class_table(scores, by_class))
    print("stats:", result.stats)

    graph_s = None
    if not args.skip_graph:
        events = pl.read_parquet(run.canonical_events)
        gazetteer = pl.read_parquet(run.canonical_gazetteer)
        started = time.perf_counter()
        features = build_graph_features(result.persons, people, events, gazetteer, AS_OF)
        graph_s = time.perf_counter() - started
        print(
            f"graph features: {graph_s:.1f} s for {features.height:,} persons, peak RSS {_peak_rss_mb():,.0f} MB"
        )

    record = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": platform.node(),
        "python": platform.python_version(),
        "residents": args.residents,
        "seed": args.seed,
        "world": args.world,
        "config": None if args.config is None else str(args.config),
        "records": people.height,
        "persons": result.stats.get("persons"),
        "linkage_seconds": round(linkage_s, 1),
        "records_per_minute": round(per_minute),
        "linkage_cpu_seconds": round(linkage_cpu_s, 1),
        "load_average_before": round(load_before, 1),
        "phases_seconds": {k: round(v, 2) for k, v in result.timings.items()},
        "graph_seconds": None if graph_s is None else round(graph_s, 1),
        "peak_rss_mb_before_linkage": round(rss_before),
        "peak_rss_mb": round(_peak_rss_mb()),
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "f1": round(scores.f1, 4),
        "by_richness": {name: s.as_dict() for name, s in by_class.items()},
        "blocking_comparisons": None if counts is None else counts.to_dicts(),
        "stats": result.stats,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
