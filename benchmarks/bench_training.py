"""How long `train` takes, and where the time goes, at borough sizes a council has.

Generates a borough (kept under ``--work`` and reused), then runs the
product's own training (real Splink linkage, monthly snapshots, three model
families, the champion gate, MLflow under a fresh home) and prints the wall
time of each stage as ``train``'s own progress lines mark them, with peak
memory. Appends one record per size to ``benchmarks/results/training.json``.

    .venv/bin/python benchmarks/bench_training.py --residents 20000 100000 --years 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

from early_warning.bench import PeakMemory
from early_warning.config import load_config
from early_warning.synthetic import generate_borough
from models.training import run_training

RESULTS = Path(__file__).parent / "results" / "training.json"


class StageClock:
    """Records ``train``'s progress messages with their times; a stage lasts until the next message."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.marks: list[tuple[float, str]] = []

    def __call__(self, message: str) -> None:
        self.marks.append((time.perf_counter(), message))
        print(f"  [{time.perf_counter() - self.started:7.1f} s] {message}", flush=True)

    def stages(self, finished: float) -> dict[str, float]:
        """Seconds per stage; the snapshot messages are summed into one "replay snapshots" stage."""
        out: dict[str, float] = {}
        ends = [t for t, _ in self.marks[1:]] + [finished]
        for (start, message), end in zip(self.marks, ends, strict=True):
            name = "replay snapshots" if message.startswith("snapshot ") else message
            out[name] = out.get(name, 0.0) + (end - start)
        return {k: round(v, 1) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 31))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path(".early-warning") / "bench-training")
    args = parser.parse_args()
    config = load_config()
    for residents in args.residents:
        borough = args.work / f"borough-{residents}-{args.years}y-{args.seed}"
        if not (borough / "truth" / "world.json").exists():
            generate_borough(borough, residents=residents, years=args.years, as_of=args.as_of, seed=args.seed)
        home = args.work / f"home-{residents}"
        shutil.rmtree(home, ignore_errors=True)
        clock = StageClock()
        load = os.getloadavg()[0]
        print(f"\n=== training on {residents:,} residents, {args.years} years (load average {load:.1f}) ===")
        with PeakMemory() as memory:
            result = run_training(borough / "extracts", args.as_of, home, config, progress=clock)
        finished = time.perf_counter()
        total = finished - clock.started
        stages = clock.stages(finished)
        print(f"whole training run: {total:.1f} s, peak memory {memory.peak_mib / 1024:.2f} GiB")
        for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
            print(f"  {seconds:8.1f} s  {name}")
        print(f"rows: {result.rows}")
        record = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "residents": residents,
            "years": args.years,
            "seconds": round(total, 1),
            "peak_gib": round(memory.peak_mib / 1024, 2),
            "stages": stages,
            "rows": result.rows,
            "load_average_before": round(load, 2),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        RESULTS.write_text(json.dumps([*existing, record], indent=1) + "\n")


if __name__ == "__main__":
    main()
