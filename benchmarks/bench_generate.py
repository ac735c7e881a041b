"""Benchmark the synthetic borough generator.

Usage::

    python benchmarks/bench_generate.py --residents 300000 --years 5

Prints rows written per file, total rows, seconds and peak memory (resident
set size of this process, from ``resource.getrusage``), and appends one JSON
record to ``benchmarks/results/generate.json`` (a JSON list) so runs can be
compared over time. The borough is written to a temporary folder unless
``--out`` is given, and removed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from early_warning.synthetic import generate_borough

RESULTS = Path(__file__).parent / "results" / "generate.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 31))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated borough")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_generate_"))
    try:
        summary = generate_borough(
            out,
            residents=args.residents,
            years=args.years,
            as_of=args.as_of,
            seed=args.seed,
            progress=args.progress,
        )
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

    width = max(len(name) for name in summary.rows)
    for name, rows in summary.rows.items():
        print(f"{name:<{width}}  {rows:>12,}")
    print(f"{'total rows':<{width}}  {summary.total_rows:>12,}")
    print(f"seconds: {summary.seconds:.1f}   peak memory: {peak_mib:,.0f} MiB")

    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "residents": args.residents,
        "adults": summary.adults,
        "years": args.years,
        "seed": args.seed,
        "seconds": summary.seconds,
        "peak_rss_mib": round(peak_mib, 1),
        "total_rows": summary.total_rows,
        "rows": summary.rows,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    history.append(record)
    RESULTS.write_text(json.dumps(history, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
