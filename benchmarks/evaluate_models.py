"""Does the list find people in need — on every world, not just the one the code grew up on?

For each named world (``early_warning.synthetic.worlds``) and each seed:
generate a borough, run the product's own ``train`` (real Splink linkage,
real MLflow under a fresh home, the champion gate), then compare every
scorer's lists on the held-out report period with the world's ground truth
(``models.assessment``): the rules score, each learned model, the scorer the
night would use (the champion if the gate let one through, else the rules
score), and the three naive baselines **handed perfect linkage**. The
measures: precision at capacity against active need and against crisis
within the horizon, recall at capacity, median lead time, and the known leak
(people surfaced who, with perfect linkage, a service already knew).

Report seeds (401, 402, 403 by default) are never used while developing;
development uses seeds 1-3 (``benchmarks/compare_points_tables.py`` for a
points table). 101-103 and 201-203 were earlier report seeds, looked at
while the gate and then the points table changed, so they are held out no
more; 301-303 were run once after that change and looked at (one loss,
explained in docs/model-evaluation-worlds.md, not tuned to); 401-403 were
first run after it (``benchmarks/results/worlds-401.json``), so the next
report set is 501-503. Every world and seed is printed and appended to
``--results``; ``--markdown`` prints the README table, losses included.

    .venv/bin/python benchmarks/evaluate_models.py --worlds baseline sudden_quiet \\
        --seeds 401 402 403 --residents 8000 --years 3
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
from typing import Any

import polars as pl

from early_warning.config import Config, load_config
from early_warning.synthetic import generate_borough
from early_warning.synthetic.worlds import world_names, world_settings
from features.person_features import build_person_features
from models import pipelines as pipes
from models.assessment import (
    TRUE_ID,
    assess,
    crises_in_cohort,
    perfect_persons,
    true_person_of,
    truth_by_night,
)
from models.attributes import person_attributes
from models.thresholds import early_warning_cohort, known_to_services
from models.training import TrainingResult, run_training
from models.training_settings import load_training_settings

RESULTS = Path(__file__).parent / "results" / "worlds-401.json"
MEASURES = (
    ("precision_active_need", "need@cap"),
    ("precision_crisis", "crisis@cap"),
    ("recall_crisis", "recall"),
    ("lead_time_median_days", "lead d"),
    ("known_leak", "known"),
    ("surfaced", "shown"),
)
NIGHT = "night_uses"


def cohort_per_night(
    events: pl.DataFrame,
    persons: pl.DataFrame,
    people: pl.DataFrame,
    gazetteer: pl.DataFrame,
    nights: list[date],
    as_of: date,
    config: Config,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every night's early-warning cohort with its features and locality (as of ``as_of``),
    and who was known to a service that night (``person_id``, ``snapshot``). Shared with
    ``compare_points_tables.py``, so both measure the same people."""
    localities = person_attributes(persons, people, events, gazetteer, as_of).select("person_id", "locality")
    cohort_rows, known_rows = [], []
    for night in nights:
        known = known_to_services(events.lazy(), persons.lazy(), night, config)
        known_rows.append(known.select("person_id").with_columns(pl.lit(night).alias("snapshot")))
        cohort = early_warning_cohort(persons.lazy(), known)
        features = (
            build_person_features(events.lazy(), persons.lazy(), night, config)
            .join(cohort.lazy(), on="person_id", how="semi")
            .collect()
        )
        cohort_rows.append(features.with_columns(pl.lit(night).alias("snapshot")))
    cohort = pl.concat(cohort_rows).join(localities, on="person_id", how="left")
    return cohort.with_columns(pl.col("locality").fill_null("unknown")), pl.concat(known_rows)


def _perfect_rows(run: Path, records: pl.DataFrame, snapshots: list[date], as_of: date, config: Config):
    """Per report night, the cohort with perfect linkage and its features; who is truly known."""
    events = pl.read_parquet(run / "canonical" / "events.parquet")
    people = pl.read_parquet(run / "canonical" / "people.parquet")
    gazetteer = pl.read_parquet(run / "canonical" / "gazetteer.parquet")
    accepted = people.select("source", "source_person_id")
    persons = perfect_persons(records).join(accepted, on=["source", "source_person_id"], how="semi")
    cohort, known_rows = cohort_per_night(events, persons, people, gazetteer, snapshots, as_of, config)
    known = known_rows.select(
        pl.col("person_id").str.strip_prefix("T").cast(pl.Int64).alias(TRUE_ID), "snapshot"
    )
    return cohort, known


def measure(borough: Path, home: Path, result: TrainingResult, as_of: date, config: Config, horizon: int):
    """Every scorer's measures against the truth, on the report period."""
    run = home / "training" / "runs" / as_of.isoformat()
    records = pl.read_parquet(borough / "truth" / "person_records.parquet")
    episodes = pl.read_parquet(borough / "truth" / "episodes.parquet")
    snapshots = list(result.split.report)
    truth = truth_by_night(episodes, snapshots, horizon)
    cohort, known = _perfect_rows(run, records, snapshots, as_of, config)
    residents = records.filter(pl.col("in_extract"))[TRUE_ID].unique()
    denominator = crises_in_cohort(truth, known, residents)
    mapping = true_person_of(pl.read_parquet(run / "persons.parquet"), records)
    perfect_mapping = (
        cohort.select("person_id")
        .unique()
        .with_columns(pl.col("person_id").str.strip_prefix("T").cast(pl.Int64).alias(TRUE_ID))
    )
    scores = result.report_scores
    assert scores is not None
    out: dict[str, dict[str, float]] = {}
    for name in result.report:
        if name.startswith("baseline_"):
            continue
        rows = scores.select("person_id", "snapshot", "locality", pl.col(name).alias("score"))
        out[name] = assess(rows, mapping, truth, known, denominator, config)
    for name, baseline in pipes.NAIVE_BASELINES.items():
        rows = cohort.select("person_id", "snapshot", "locality").with_columns(
            pl.Series("score", baseline(cohort, config), dtype=pl.Float64)
        )
        out[f"{name} (perfect linkage)"] = assess(rows, perfect_mapping, truth, known, denominator, config)
    used = result.chosen_model if result.alias == "champion" else pipes.RULES
    out[NIGHT] = out[used] | {"scorer": used}  # type: ignore[dict-item]
    out["_facts"] = {
        "crises_in_cohort": float(denominator),
        "report_nights": float(len(snapshots)),
        "persons": float(mapping.height),
    }
    return out


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if value != value else (f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}")
    return str(value)


def _print(world: str, seed: int, result: TrainingResult, measured: dict[str, dict[str, Any]]) -> None:
    print(f"\n=== world {world}, seed {seed}: gate said: {result.reason}")
    print(f"{'scorer':52s}" + "".join(f"{label:>11s}" for _, label in MEASURES))
    for name, m in measured.items():
        if name.startswith("_"):
            continue
        label = f"{name} = {m['scorer']}" if name == NIGHT else name
        print(f"{label:52s}" + "".join(f"{_fmt(m.get(k, '-')):>11s}" for k, _ in MEASURES))


def _best_baseline(m: dict[str, dict[str, Any]], key: str) -> tuple[str, float]:
    pairs = [(k, v[key]) for k, v in m.items() if k.startswith("baseline_")]
    return max(pairs, key=lambda kv: kv[1])


def markdown(records: list[dict[str, Any]]) -> str:
    """The README's world x seed table: the night's scorer against the rules score and the best naive ranking."""
    lines = [
        "| world | seed | night uses | active need at capacity: night / rules / best learned / best naive (perfect linkage) "
        "| crisis within 180 d: night / best naive | recall | lead time, median days | known leak | night >= best naive (and a learned night > rules) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        m = r["measures"]
        night = m[NIGHT]
        learned = max(
            (m[k]["precision_active_need"] for k in (pipes.LOGISTIC, pipes.GRADIENT_BOOSTING) if k in m),
            default=0.0,
        )
        base_name, base = _best_baseline(m, "precision_active_need")
        _, base_crisis = _best_baseline(m, "precision_crisis")
        verdict = "yes" if night["precision_active_need"] >= base else "**no: below the best naive ranking**"
        if (
            night["scorer"] != pipes.RULES
            and night["precision_active_need"] <= m[pipes.RULES]["precision_active_need"]
        ):
            verdict += "; **the learned model chosen does not beat the rules score**"
        lines.append(
            f"| {r['world']} | {r['seed']} | {night['scorer'].replace('_', ' ')} | "
            f"{night['precision_active_need']:.2f} / {m[pipes.RULES]['precision_active_need']:.2f} / {learned:.2f} / "
            f"{base:.2f} ({base_name.removeprefix('baseline_').split(' ')[0].replace('_', ' ')}) | "
            f"{night['precision_crisis']:.2f} / {base_crisis:.2f} | {night['recall_crisis']:.2f} | "
            f"{_fmt(night['lead_time_median_days'])} | {night['known_leak']:.0f} of {night['surfaced']:.0f} | {verdict} |"
        )
    return "\n".join(lines)


def full_markdown(records: list[dict[str, Any]]) -> str:
    """Every scorer of every world and seed, every measure: the table behind the README's summary."""
    lines = [
        "| world | seed | scorer | active need at capacity | crisis within 180 d | recall | lead time, median days "
        "| known leak | surfaced |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        for name, m in r["measures"].items():
            if name.startswith("_"):
                continue
            label = f"night uses: {m['scorer']}" if name == NIGHT else name
            lines.append(
                f"| {r['world']} | {r['seed']} | {label.replace('_', ' ')} | {m['precision_active_need']:.2f} | "
                f"{m['precision_crisis']:.2f} | {m['recall_crisis']:.2f} | {_fmt(m['lead_time_median_days'])} | "
                f"{m['known_leak']:.0f} | {m['surfaced']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=world_names(), choices=world_names())
    parser.add_argument("--seeds", type=int, nargs="+", default=[401, 402, 403])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 31))
    parser.add_argument(
        "--labels",
        choices=["never", "with_other_need", "always"],
        default=None,
        help="override training.yaml's labels.enforcement (to compare label choices)",
    )
    parser.add_argument(
        "--label-services", action="store_true", help="also count a service taking the person on as a label"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep boroughs and homes here")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--markdown", action="store_true", help="print the README table at the end")
    parser.add_argument(
        "--table-from",
        type=Path,
        default=None,
        help="only print the README table of the records in this file",
    )
    parser.add_argument("--full", action="store_true", help="with --table-from: every scorer, every measure")
    args = parser.parse_args()
    if args.table_from is not None:
        records = json.loads(args.table_from.read_text())
        print(full_markdown(records) if args.full else markdown(records))
        return
    config = load_config()
    settings = load_training_settings()
    labels: dict[str, Any] = {"enforcement": args.labels} if args.labels else {}
    if args.label_services:
        labels["services_taking_on"] = True
    # Permutation importances are for the MLflow run only; one repeat on a small sample keeps the
    # benchmark quick without touching any decision or measure.
    settings = settings.model_copy(
        update={
            "labels": settings.labels.model_copy(update=labels),
            "importance_repeats": 1,
            "importance_max_rows": 2000,
        }
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="ew-worlds-"))
    done: list[dict[str, Any]] = []
    for world in args.worlds:
        for seed in args.seeds:
            borough, home = work / f"{world}-{seed}" / "borough", work / f"{world}-{seed}" / "home"
            started = time.perf_counter()
            generate_borough(
                borough, residents=args.residents, years=args.years, as_of=args.as_of, seed=seed,
                settings=world_settings(world),
            )  # fmt: skip
            generated = time.perf_counter() - started
            started = time.perf_counter()
            result = run_training(borough / "extracts", args.as_of, home, config, settings=settings)
            trained = time.perf_counter() - started
            measured = measure(borough, home, result, args.as_of, config, settings.horizon_days)
            _print(world, seed, result, measured)
            record = {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "world": world,
                "seed": seed,
                "residents": args.residents,
                "years": args.years,
                "as_of": args.as_of.isoformat(),
                "labels": settings.labels.model_dump(),
                "chosen_model": result.chosen_model,
                "alias": result.alias,
                "gate": result.reason,
                "train_label_report": result.report,
                "measures": measured,
                "generate_seconds": round(generated, 1),
                "training_seconds": round(trained, 1),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            }
            done.append(record)
            args.results.parent.mkdir(parents=True, exist_ok=True)
            existing = json.loads(args.results.read_text()) if args.results.exists() else []
            text = json.dumps(record, default=str).replace("NaN", "null")
            args.results.write_text(json.dumps([*existing, json.loads(text)], indent=1) + "\n")
    if args.markdown:
        print()
        print(markdown(done))


if __name__ == "__main__":
    main()
