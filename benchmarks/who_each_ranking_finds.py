"""Who does one ranking find that another misses? The people behind a loss, not just its size.

When the rules score finds fewer people in need than a naive ranking on some
world and seed (``evaluate_models.py``), this says who the difference is:
for the borough's report nights (the last three monthly nights, as ``train``
splits them) it surfaces each locality's capacity with the rules score (the
product's Splink linkage, as ``compare_points_tables.Borough`` makes it) and
with a naive ranking (perfect linkage), and prints, for the people in need
that only one of the two surfaced and for the people not in need that took
their places: who they truly are (the generator's persona, the need and
whether it is quiet), what their record shows on the night (services,
arrears, missed payments, the trend) and the rules score's points.

It explains; it changes nothing. Looking at a report seed this way is for
understanding a loss — a points table is chosen on development seeds only
(``compare_points_tables.py``).

    .venv/bin/python benchmarks/who_each_ranking_finds.py --world rare_quiet --seed 302 --residents 8000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import polars as pl
from compare_points_tables import AS_OF, HORIZON_DAYS, Borough  # a script beside this one
from evaluate_models import cohort_per_night

from early_warning.config import Config, load_config
from models import pipelines as pipes
from models.assessment import TRUE_ID, perfect_persons, true_person_of, truth_by_night
from models.evaluation import surface_at_capacity
from models.rules_score import RulesScore, load_rules_table

REPORT_NIGHTS = 3
SHOWN = (
    "distinct_services_90d",
    "signals_365d_total",
    "signal_trend_90d_vs_prior_275d",
    "missed_payments_90d",
    "council_tax_arrears_now",
    "council_tax_arrears_change_180d",
    "rent_arrears_now",
    "rent_arrears_change_180d",
    "hardship_applications_90d",
)


def _surfaced(rows: pl.DataFrame, score: Any, config: Config) -> pl.DataFrame:
    scored = rows.select("person_id", "snapshot", "locality").with_columns(
        pl.Series("score", score, dtype=pl.Float64)
    )
    ranked = surface_at_capacity(scored, config)
    return ranked.with_columns(pl.int_range(1, pl.len() + 1).over("snapshot", "locality").alias("rank"))


def compare(borough: Borough, naive: str) -> dict[str, pl.DataFrame]:
    """Per (true person, night): surfaced by the rules score, by ``naive``, in need, who they are."""
    config = borough.config
    run = borough.run
    events = pl.read_parquet(run.canonical_events)
    people = pl.read_parquet(run.canonical_people)
    gazetteer = pl.read_parquet(run.canonical_gazetteer)
    nights = Borough.nights(events)[-REPORT_NIGHTS:]
    linked, _ = cohort_per_night(
        events, pl.read_parquet(run.persons), people, gazetteer, nights, AS_OF, config
    )
    accepted = people.select("source", "source_person_id")
    perfect_links = perfect_persons(borough.records).join(
        accepted, on=["source", "source_person_id"], how="semi"
    )
    perfect, _ = cohort_per_night(events, perfect_links, people, gazetteer, nights, AS_OF, config)

    model = RulesScore(load_rules_table()).fit(linked.select(load_rules_table().features))
    points = model.points(linked)
    rules = _surfaced(linked, model.predict_proba(linked)[:, 1], config).join(
        linked.select("person_id", "snapshot").with_columns(pl.Series("points", points)),
        on=["person_id", "snapshot"],
    )
    rules = rules.join(
        true_person_of(pl.read_parquet(run.persons), borough.records), on="person_id", how="left"
    )
    baseline = _surfaced(perfect, pipes.NAIVE_BASELINES[naive](perfect, config), config).with_columns(
        pl.col("person_id").str.strip_prefix("T").cast(pl.Int64).alias(TRUE_ID)
    )
    # the rules score's points for everyone, read with perfect linkage, to say where a person stood
    perfect_points = perfect.select("person_id", "snapshot").with_columns(
        pl.Series("points_perfect_linkage", model.points(perfect))
    )
    truth = truth_by_night(borough.episodes, nights, HORIZON_DAYS)
    residents = pl.read_parquet(borough.root / "borough" / "truth" / "residents.parquet").select(
        TRUE_ID, "persona", "tenure", "age"
    )
    episodes = (
        borough.episodes.join(pl.DataFrame({"snapshot": nights}), how="cross")
        .filter(
            (pl.col("onset") <= pl.col("snapshot"))
            & (pl.col("resolved_date").is_null() | (pl.col("resolved_date") > pl.col("snapshot")))
        )
        .group_by(TRUE_ID, "snapshot")
        .agg(
            pl.col("need_type").first(),
            pl.col("quiet").all(),
            (pl.col("snapshot") - pl.col("onset")).dt.total_days().min().alias("days_since_onset"),
        )
    )
    rows = perfect.select("person_id", "snapshot", *SHOWN).with_columns(
        pl.col("person_id").str.strip_prefix("T").cast(pl.Int64).alias(TRUE_ID)
    )
    both = (
        rows.join(perfect_points, on=["person_id", "snapshot"], how="left")
        .join(
            baseline.select(
                TRUE_ID, "snapshot", pl.col("surfaced").alias("naive"), pl.col("rank").alias("naive_rank")
            ),
            on=[TRUE_ID, "snapshot"],
            how="left",
        )
        .join(
            rules.group_by(TRUE_ID, "snapshot")
            .agg(
                pl.col("surfaced").any().alias("rules"),
                pl.col("points").max(),
                pl.col("rank").min().alias("rules_rank"),
                pl.col("locality").first(),
            )
            .select(TRUE_ID, "snapshot", "rules", "points", "rules_rank", "locality"),
            on=[TRUE_ID, "snapshot"],
            how="left",
        )
        .join(truth.select(TRUE_ID, "snapshot", "active_need"), on=[TRUE_ID, "snapshot"], how="left")
        .join(episodes, on=[TRUE_ID, "snapshot"], how="left")
        .join(residents, on=TRUE_ID, how="left")
        .with_columns(pl.col("naive", "rules", "active_need").fill_null(False))
    )
    # how many points it took to be surfaced in each locality on each night, and how many of the
    # rules score's places went to people with no points at all (ties, broken by person id)
    print(
        rules.filter(pl.col("surfaced"))
        .group_by("snapshot", "locality")
        .agg(
            pl.len().alias("places"),
            pl.col("points").min().alias("fewest_points_surfaced"),
            (pl.col("points") == 0).sum().alias("places_with_no_points"),
        )
        .sort("snapshot", "locality")
    )
    need = truth.filter(pl.col("active_need")).select(TRUE_ID, "snapshot", pl.lit(True).alias("_need"))
    for name, shown in (("rules score", rules), (naive, baseline)):
        hits = shown.filter(pl.col("surfaced")).join(need, on=[TRUE_ID, "snapshot"], how="left")
        print(f"{name}: {hits['_need'].fill_null(False).sum()} of {hits.height} surfaced in active need")
    return {
        "need_naive_only": both.filter(pl.col("naive") & ~pl.col("rules") & pl.col("active_need")),
        "need_rules_only": both.filter(~pl.col("naive") & pl.col("rules") & pl.col("active_need")),
        "need_both": both.filter(pl.col("naive") & pl.col("rules") & pl.col("active_need")),
        "no_need_rules": both.filter(pl.col("rules") & ~pl.col("active_need")),
        "no_need_naive": both.filter(pl.col("naive") & ~pl.col("active_need")),
        "rules_surfaced_unmatched": rules.filter(pl.col("surfaced") & pl.col(TRUE_ID).is_null()),
    }


def summary(groups: dict[str, pl.DataFrame]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, frame in groups.items():
        out[name] = {"rows": frame.height}
        if "persona" in frame.columns and frame.height:
            out[name]["persona"] = dict(frame["persona"].value_counts().iter_rows())
            out[name]["median"] = {
                c: frame[c].median() for c in (*SHOWN, "points_perfect_linkage") if c in frame.columns
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--residents", type=int, default=8000)
    parser.add_argument(
        "--naive", default="baseline_highest_arrears_below_threshold", choices=list(pipes.NAIVE_BASELINES)
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/ew-who-finds"))
    args = parser.parse_args()
    config = load_config()
    borough = Borough(
        args.work / f"{args.world}-{args.seed}-{args.residents}",
        args.world,
        args.seed,
        args.residents,
        config,
    )
    groups = compare(borough, args.naive)
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(250)
    pl.Config.set_tbl_rows(100)
    for name, frame in groups.items():
        print(f"\n=== {name}: {frame.height} rows")
        if frame.height:
            print(frame.drop("person_id", strict=False))
    print(json.dumps(summary(groups), indent=1, default=str))


if __name__ == "__main__":
    main()
