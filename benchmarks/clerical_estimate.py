"""Does clerical review's estimate contain the truth? Measured on generated boroughs.

For each world and seed: generate a borough, run linkage as the night does
(which draws the clerical sample, :mod:`features.linkage.clerical`), label
every sampled pair from the borough's truth (standing in for the data team:
"same person" when both records are one generated resident), estimate
precision and recall with 95% intervals, and set them beside the true
pairwise precision and recall over the same population (every candidate
pair at or above the floor, every one labelled from the truth). Also prints
the recall over *all* pairs of records (blocking misses and pairs below the
floor included), which the estimate does not claim to measure.

Writes ``benchmarks/results/clerical.json`` (one JSON document). Nothing is asserted.

    .venv/bin/python benchmarks/clerical_estimate.py --residents 5000 --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from features.ingest import ingest_extracts
from features.linkage import load_linkage_settings, pairwise_scores, resolve_persons
from features.linkage.clerical import DIFFERENT, SAME, estimate_accuracy, true_accuracy

RESULTS = Path(__file__).parent / "results" / "clerical.json"
AS_OF = date(2026, 3, 31)


def _truth_labels(pairs: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """``label`` for each pair from the generated truth (the simulated data team)."""
    return (
        pairs.join(ids.select(unique_id_l="unique_id", true_l="true_person_id"), on="unique_id_l", how="left")
        .join(ids.select(unique_id_r="unique_id", true_r="true_person_id"), on="unique_id_r", how="left")
        .with_columns(
            label=pl.when(pl.col("true_l") == pl.col("true_r"))
            .then(pl.lit(SAME))
            .otherwise(pl.lit(DIFFERENT))
        )
    )


def one_borough(world: str, seed: int, residents: int, per_band: int, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{world}_{residents}_{seed}"
    run = RunPaths(home=out / "home", as_of=AS_OF)
    if not (run.canonical_people).exists():
        generate_borough(out, residents=residents, years=1, as_of=AS_OF, seed=seed, world=world)
        ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    truth = pl.read_parquet(out / "truth" / "person_records.parquet")
    settings = load_linkage_settings().model_copy(update={"clerical_review_per_band": per_band})
    started = time.perf_counter()
    result = resolve_persons(people, previous=None, as_of=AS_OF, settings=settings)
    seconds = time.perf_counter() - started
    sample = result.clerical
    assert sample is not None
    assert sample.candidates is not None
    ids = (
        people.with_row_index("unique_id")
        .with_columns(pl.col("unique_id").cast(pl.Int64))
        .join(truth.select("source", "source_person_id", "true_person_id"), on=["source", "source_person_id"])
        .select("unique_id", "true_person_id")
    )
    labelled = _truth_labels(sample.pairs, ids).select("band", "called", "source_pair", "label")
    found = estimate_accuracy(labelled, sample.strata, seed=seed)
    true_p, true_r = true_accuracy(_truth_labels(sample.candidates, ids))
    everything = pairwise_scores(result.persons, truth)
    row = {
        "world": world,
        "seed": seed,
        "residents": residents,
        "records": people.height,
        "per_band": per_band,
        "strata": int(sample.strata.select("band", "called").unique().height),
        "population": sample.population,
        "labelled": found.overall.labelled,
        "linkage_seconds": round(seconds, 1),
        "estimate": found.overall.as_dict(),
        "true_precision": None if true_p is None else round(true_p, 4),
        "true_recall": None if true_r is None else round(true_r, 4),
        "precision_interval_contains_truth": true_p is not None and found.overall.precision.contains(true_p),
        "recall_interval_contains_truth": true_r is not None and found.overall.recall.contains(true_r),
        "all_pairs_precision": round(everything.precision, 4),
        "all_pairs_recall": round(everything.recall, 4),
    }
    print(
        f"{world:<10} seed {seed}: {row['labelled']} labelled of {row['population']:,} candidate pairs; "
        f"precision {found.overall.precision.text()} vs true {true_p:.4f} "
        f"[{'in' if row['precision_interval_contains_truth'] else 'OUT'}]; "
        f"recall {found.overall.recall.text()} vs true {true_r:.4f} "
        f"[{'in' if row['recall_interval_contains_truth'] else 'OUT'}]; "
        f"all-pairs recall {everything.recall:.4f}",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--worlds", nargs="+", default=["baseline", "sparse_crm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--per-band", type=int, default=30, help="pairs labelled per stratum")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/early-warning-clerical"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = [
        one_borough(world, seed, args.residents, args.per_band, args.workdir)
        for world in args.worlds
        for seed in args.seeds
    ]
    contained = {
        "precision": sum(r["precision_interval_contains_truth"] for r in rows),
        "recall": sum(r["recall_interval_contains_truth"] for r in rows),
        "of": len(rows),
    }
    print(f"intervals containing the truth: {contained}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    document = {"when": datetime.now().isoformat(timespec="seconds"), "contained": contained, "runs": rows}
    args.results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
