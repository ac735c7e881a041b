"""Which points table finds more people in need? Compared on development boroughs, every night.

The rules score learns nothing, so it can be measured on every monthly
night of a borough, not only the three report nights ``evaluate_models.py``
holds out for learned models: far more people surfaced, far less noise when
two tables differ by a few people. For each world and seed: generate a
borough, ingest it and resolve persons with the real Splink linkage (as
``train`` does), then, for every night from a year of history to 180 days
before the end, score the early-warning cohort with each points table and
surface each locality's capacity; the naive rankings get perfect linkage,
as in ``evaluate_models.py``. Measures are ``models.assessment``'s: the share
surfaced truly in a need episode that night, the share who reached a crisis
within 180 days, recall of those crises, known leak.

**Development seeds only** (1, 2, 3 by default): a table chosen by looking at
report seeds is tuned to them. Boroughs, links and feature tables are kept
under ``--work`` and reused, so trying another table takes seconds.

    .venv/bin/python benchmarks/compare_points_tables.py --worlds rare_quiet \\
        --residents 10000 --tables early_warning/config/defaults/rules_score.yaml my_table.yaml

Appends one JSON document per run to ``benchmarks/results/points-tables.json``; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from evaluate_models import cohort_per_night  # a script beside this one (benchmarks/ is on sys.path)

from early_warning.config import Config, load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from early_warning.synthetic.worlds import world_names, world_settings
from features.ingest import ingest_extracts
from features.linkage import load_linkage_settings
from features.person_features import feature_columns
from models import pipelines as pipes
from models.assessment import (
    TRUE_ID,
    assess,
    crises_in_cohort,
    perfect_persons,
    true_person_of,
    truth_by_night,
)
from models.labels import snapshot_dates
from models.rules_score import RulesScore, parse_rules_table
from models.training_data import resolve_training_persons

RESULTS = Path(__file__).parent / "results" / "points-tables.json"
AS_OF = date(2026, 3, 31)
HORIZON_DAYS = 180
HISTORY_DAYS = 365
DEVELOPMENT_SEEDS = (1, 2, 3)


def _cohort_rows(
    events: pl.DataFrame,
    persons: pl.DataFrame,
    people: pl.DataFrame,
    gazetteer: pl.DataFrame,
    nights: list[date],
    config: Config,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every night's early-warning cohort with its features and locality; who was known that night
    (``evaluate_models.cohort_per_night``, with localities as of :data:`AS_OF`)."""
    return cohort_per_night(events, persons, people, gazetteer, nights, AS_OF, config)


class Borough:
    """One generated, linked development borough and its cached feature tables."""

    def __init__(self, root: Path, world: str, seed: int, residents: int, config: Config) -> None:
        self.root, self.config = root, config
        self.run = RunPaths(root / "home" / "training", AS_OF)  # where `train` keeps its night
        truth = root / "borough" / "truth"
        if not self.run.persons.exists():
            generate_borough(
                root / "borough", residents=residents, years=3, as_of=AS_OF, seed=seed,
                settings=world_settings(world),
            )  # fmt: skip
            self.run.root.mkdir(parents=True, exist_ok=True)
            ingest_extracts(root / "borough" / "extracts", AS_OF, self.run, config)
            people = pl.read_parquet(self.run.canonical_people)
            resolve_training_persons(people, AS_OF, self.run, None, load_linkage_settings(None))
        self.records = pl.read_parquet(truth / "person_records.parquet")
        self.episodes = pl.read_parquet(truth / "episodes.parquet")

    def tables(self) -> dict[str, pl.DataFrame]:
        """Cohort rows with the product's linkage and with perfect linkage, known people, mapping."""
        cache = self.root / "feature-tables"
        names = ("linked", "perfect", "known", "mapping")
        wanted = set(feature_columns(self.config))
        if all((cache / f"{n}.parquet").exists() for n in names) and wanted <= set(
            pl.read_parquet_schema(cache / "linked.parquet")
        ):
            return {n: pl.read_parquet(cache / f"{n}.parquet") for n in names}
        events = pl.read_parquet(self.run.canonical_events)
        people = pl.read_parquet(self.run.canonical_people)
        gazetteer = pl.read_parquet(self.run.canonical_gazetteer)
        persons = pl.read_parquet(self.run.persons)
        nights = self.nights(events)
        linked, _ = _cohort_rows(events, persons, people, gazetteer, nights, self.config)
        accepted = people.select("source", "source_person_id")
        perfect_links = perfect_persons(self.records).join(
            accepted, on=["source", "source_person_id"], how="semi"
        )
        perfect, known = _cohort_rows(events, perfect_links, people, gazetteer, nights, self.config)
        out = {
            "linked": linked,
            "perfect": perfect,
            "known": known,
            "mapping": true_person_of(persons, self.records),
        }
        cache.mkdir(exist_ok=True)
        for name, frame in out.items():
            frame.write_parquet(cache / f"{name}.parquet")
        return out

    @staticmethod
    def nights(events: pl.DataFrame) -> list[date]:
        start = events["event_date"].min()
        assert isinstance(start, date)
        return snapshot_dates(start, AS_OF, HORIZON_DAYS, HISTORY_DAYS)


def measure(borough: Borough, tables: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each points table's and each naive ranking's measures over every night of ``borough``."""
    config = borough.config
    frames = borough.tables()
    linked, perfect = frames["linked"], frames["perfect"]
    nights = linked["snapshot"].unique().sort().to_list()
    truth = truth_by_night(borough.episodes, nights, HORIZON_DAYS)
    known = frames["known"].select(
        pl.col("person_id").str.strip_prefix("T").cast(pl.Int64).alias(TRUE_ID), "snapshot"
    )
    residents = borough.records.filter(pl.col("in_extract"))[TRUE_ID].unique()
    denominator = crises_in_cohort(truth, known, residents)
    out: dict[str, dict[str, float]] = {}
    for name, table in tables.items():
        model = RulesScore(table).fit(linked.select(table.features))
        rows = linked.select("person_id", "snapshot", "locality").with_columns(
            pl.Series("score", model.predict_proba(linked.select(table.features))[:, 1])
        )
        out[name] = assess(rows, frames["mapping"], truth, known, denominator, config)
    perfect_mapping = (
        perfect.select("person_id")
        .unique()
        .with_columns(pl.col("person_id").str.strip_prefix("T").cast(pl.Int64).alias(TRUE_ID))
    )
    for name, ranking in pipes.NAIVE_BASELINES.items():
        rows = perfect.select("person_id", "snapshot", "locality").with_columns(
            pl.Series("score", ranking(perfect, config), dtype=pl.Float64)
        )
        out[f"{name} (perfect linkage)"] = assess(rows, perfect_mapping, truth, known, denominator, config)
    out["_facts"] = {"nights": float(len(nights)), "crises_in_cohort": float(denominator)}
    return out


def markdown(documents: list[dict[str, Any]]) -> str:
    """A table of the first two points tables of each run beside the best naive ranking (perfect linkage)."""
    lines = [
        "| world | seed | residents | nights | active need: first / second table / best naive (perfect linkage) "
        "| crisis within 180 d: first / second / best naive | recall: first / second | second >= best naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for document in documents:
        first, second = list(document["tables"])[:2]
        for record in document["records"]:
            m = record["measures"]
            naive = {k: v for k, v in m.items() if k.startswith("baseline_")}
            best_name, best = max(naive.items(), key=lambda kv: kv[1]["precision_active_need"])
            best_crisis = max(v["precision_crisis"] for v in naive.values())
            a, b = m[first], m[second]
            label = best_name.removeprefix("baseline_").split(" ")[0].replace("_", " ")
            verdict = "yes" if b["precision_active_need"] >= best["precision_active_need"] else "**no**"
            lines.append(
                f"| {record['world']} | {record['seed']} | {document['residents']:,} | "
                f"{m['_facts']['nights']:.0f} | {a['precision_active_need']:.3f} / "
                f"{b['precision_active_need']:.3f} / {best['precision_active_need']:.3f} ({label}) | "
                f"{a['precision_crisis']:.3f} / {b['precision_crisis']:.3f} / {best_crisis:.3f} | "
                f"{a['recall_crisis']:.3f} / {b['recall_crisis']:.3f} | {verdict} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worlds", nargs="+", default=["rare_quiet", "wont_pay_busy", "baseline", "sparse_crm"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEVELOPMENT_SEEDS))
    parser.add_argument("--residents", type=int, default=8000)
    parser.add_argument("--tables", type=Path, nargs="+", default=[], help="points tables (YAML) to compare")
    parser.add_argument("--work", type=Path, default=Path("/tmp/ew-points-tables"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--table-from", type=Path, default=None, help="only print the table of this results file"
    )
    args = parser.parse_args()
    if args.table_from is not None:
        print(markdown(json.loads(args.table_from.read_text())))
        return
    if len(args.tables) < 1:
        parser.error("give at least one points table with --tables")
    unknown = set(args.worlds) - set(world_names())
    if unknown:
        parser.error(f"unknown worlds: {', '.join(sorted(unknown))}")
    if set(args.seeds) - set(DEVELOPMENT_SEEDS):
        print("warning: seeds other than 1-3 are report seeds; do not choose a table by looking at them")
    config = load_config()
    tables = {
        path.stem: parse_rules_table(yaml.safe_load(path.read_text()), str(path), config)
        for path in args.tables
    }
    records = []
    for world in args.worlds:
        for seed in args.seeds:
            root = args.work / f"{world}-{seed}-{args.residents}"
            measured = measure(Borough(root, world, seed, args.residents, config), tables)
            records.append({"world": world, "seed": seed, "measures": measured})
            print(f"\n=== {world} seed {seed}: {measured['_facts']['nights']:.0f} nights")
            for name, m in measured.items():
                if not name.startswith("_"):
                    print(
                        f"  {name:62s} need {m['precision_active_need']:.3f}  crisis "
                        f"{m['precision_crisis']:.3f}  recall {m['recall_crisis']:.3f}  "
                        f"known {m['known_leak']:.0f} of {m['surfaced']:.0f}"
                    )
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "residents": args.residents,
        "as_of": AS_OF.isoformat(),
        "tables": {name: table.model_dump() for name, table in tables.items()},
        "records": records,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(args.results.read_text()) if args.results.exists() else []
    args.results.write_text(json.dumps([*earlier, document], indent=1) + "\n")


if __name__ == "__main__":
    main()
