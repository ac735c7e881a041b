"""Measure the trained models on synthetic boroughs the code was not tuned on.

Development used seed 1; this reports on other seeds (default 5 and 6). For
each seed: generate a borough, run the product's training command (real
linkage, real MLflow under a fresh home), and print the held-out report
period's metrics for every model and naive baseline, the chosen model's
calibration and fairness tables, and its lift over the best naive baseline.
Appends one JSON record per seed to ``benchmarks/results/models.json``.

    .venv/bin/python benchmarks/evaluate_models.py --seeds 5 6 --residents 20000 --years 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from early_warning.config import load_config
from early_warning.synthetic import generate_borough
from models.training import run_training

RESULTS = Path(__file__).parent / "results" / "models.json"
COLUMNS = (
    ("precision_at_capacity", "prec@cap"),
    ("recall_at_capacity", "rec@cap"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier"),
    ("expected_calibration_error", "ECE"),
    ("lead_time_median_days", "lead med d"),
    ("lead_time_people", "found"),
    ("fairness_gap", "fair gap"),
)


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 6])
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 31))
    parser.add_argument("--search", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None, help="keep boroughs and homes here")
    args = parser.parse_args()
    config = load_config()
    work = args.work or Path(tempfile.mkdtemp(prefix="ew-bench-models-"))
    for seed in args.seeds:
        borough = work / f"borough-{seed}"
        started = time.perf_counter()
        generate_borough(borough, residents=args.residents, years=args.years, as_of=args.as_of, seed=seed)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        result = run_training(
            borough / "extracts", args.as_of, work / f"home-{seed}", config, search=args.search
        )
        seconds = time.perf_counter() - started
        print(f"\n=== seed {seed}: {args.residents} residents, {args.years} years, as of {args.as_of} ===")
        print(f"split: {result.split.describe()}")
        print(f"rows: {result.rows}")
        print(
            f"chosen on the middle period: {result.chosen_model} -> version {result.version} ({result.alias})"
        )
        print(f"training command: {seconds:.1f} s ({result.timings})")
        print("\nheld-out report period:")
        print(f"{'score':42s}" + "".join(f"{label:>11s}" for _, label in COLUMNS))
        for name, metrics in result.report.items():
            print(f"{name:42s}" + "".join(f"{_fmt(metrics.get(k, '-')):>11s}" for k, _ in COLUMNS))
        print(
            f"\nlift of {result.chosen_model} over the best naive baseline (precision at capacity): "
            f"{_fmt(result.lift_over_best_baseline)}"
        )
        if result.calibration is not None:
            print("\ncalibration (chosen model, equal-count bins):")
            print(result.calibration)
        if result.fairness is not None and result.fairness_gaps is not None:
            print("\nfairness (chosen model; published form, small cells suppressed):")
            with __import__("polars").Config(
                tbl_rows=60, tbl_cols=20, tbl_width_chars=250, fmt_str_lengths=40
            ):
                print(result.fairness)
                print(result.fairness_gaps)
        record = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": seed,
            "residents": args.residents,
            "years": args.years,
            "as_of": args.as_of.isoformat(),
            "search": args.search,
            "model_choice": "middle-period PR-AUC, then precision at capacity",
            "chosen_model": result.chosen_model,
            "alias": result.alias,
            "split": result.split.describe(),
            "rows": result.rows,
            "report": result.report,
            "middle": result.middle,
            "lift_over_best_baseline": result.lift_over_best_baseline,
            "fairness_gaps": result.fairness_gaps.to_dicts() if result.fairness_gaps is not None else None,
            "calibration": result.calibration.to_dicts() if result.calibration is not None else None,
            "generate_seconds": round(generated, 1),
            "training_seconds": round(seconds, 1),
            "timings": result.timings,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        # Fairness gaps are finite by construction; older records may hold the string "inf".
        text = json.dumps(record, default=str).replace("-Infinity", '"-inf"').replace("Infinity", '"inf"')
        existing.append(json.loads(text.replace("NaN", '"nan"')))
        RESULTS.write_text(json.dumps(existing, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
