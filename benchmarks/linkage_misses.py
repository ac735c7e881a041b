"""Where the missed pairs are: why two records of one person ended in two persons.

Recall alone says how many true pairs linkage missed, not why. This script
scores every pair blocking compares (whatever its weight), clusters them as
the night would, and puts each missed true pair in the first stage that
lost it, judged over *that person's own records* (a pair can be joined
through a third record of the same person, so a pair no rule compares
directly is not lost if the person's records are connected another way):

- ``never compared``: no chain of compared pairs joins the two records;
- ``below threshold``: compared, but no chain of pairs at or above the
  threshold joins them;
- ``vetoed``: joined only through pairs the household or identifier guards
  refuse;
- ``split by clustering``: a chain of accepted pairs joins them, yet the
  chaining guard (a conflict with a third record, a weak bridge) cut them.

Missed pairs are also counted by the richness class of the pair's poorer
record, and for ``never compared`` and ``below threshold`` by what the two
records hold in common (phone, e-mail, street, postcode, names). Counts
only: no values are printed.

    .venv/bin/python benchmarks/linkage_misses.py --world sparse_crm --residents 6000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import polars as pl

from early_warning.config import load_config
from early_warning.paths import RunPaths
from early_warning.synthetic import generate_borough
from early_warning.synthetic.sparse import RICHNESS
from early_warning.synthetic.worlds import world_names
from features.ingest import ingest_extracts
from features.linkage import load_linkage_settings, pairwise_scores
from features.linkage.clustering import cluster_records, reliable_comparisons, veto_expressions
from features.linkage.evaluation import MISS_STAGES, missed_pair_stages
from features.linkage.prep import prepare_people
from features.linkage.settings import LinkageSettings
from features.linkage.splink_runner import score_pairs

AS_OF = date(2026, 3, 31)
STAGES = MISS_STAGES
#: What two records may hold in common, as SQL-free polars tests over a joined pair.
SHARED = {
    "phone": "phone_std",
    "email": "email_std",
    "street": "street_std",
    "postcode": "postcode_std",
    "address numbers": "addr_numbers",
    "surname": "last_name_std",
    "first name": "first_name_std",
    "first initial": "first_initial",
}


def missed_pairs(
    prepared: pl.DataFrame,
    truth: pl.DataFrame,
    scored: pl.DataFrame,
    clusters: pl.DataFrame,
    settings: LinkageSettings,
    reliable: frozenset[str],
) -> pl.DataFrame:
    """Missed pairs with their stage (``missed_pair_stages``), poorer class, direct weight and shared fields."""
    ids = (
        prepared.select("unique_id", "source", "source_person_id")
        .join(
            truth.select("source", "source_person_id", "true_person_id", "richness"),
            on=["source", "source_person_id"],
        )
        .join(clusters, on="unique_id")
    )
    household, conflict = veto_expressions(scored, reliable)
    above = scored.filter(settings.is_match())
    accepted = scored.filter(settings.is_match() & ~household & ~conflict)
    missed = missed_pair_stages(ids, scored, above, accepted)
    rank = {name: i for i, name in enumerate(RICHNESS)}
    richness = ids.select("unique_id", "richness")
    poorer = (
        pl.when(pl.col("richness").replace_strict(rank) >= pl.col("richness_r").replace_strict(rank))
        .then("richness")
        .otherwise("richness_r")
    )
    direct = scored.select("unique_id_l", "unique_id_r", "match_weight")
    cols = list(SHARED.values())
    left = prepared.select("unique_id", *cols)
    out = (
        missed.join(richness, left_on="a", right_on="unique_id")
        .join(richness, left_on="b", right_on="unique_id", suffix="_r")
        .with_columns(poorer=poorer)
        .join(direct, left_on=["a", "b"], right_on=["unique_id_l", "unique_id_r"], how="left")
        .join(left, left_on="a", right_on="unique_id")
        .join(left, left_on="b", right_on="unique_id", suffix="_r")
    )
    return out.with_columns(
        **{f"same_{name}": (pl.col(c) == pl.col(f"{c}_r")).fill_null(False) for name, c in SHARED.items()}
    ).drop(*cols, *[f"{c}_r" for c in cols])


#: Match weights the sweep clusters at (the default threshold, 0.9, is a weight of 3.17).
SWEEP = (0.0, 1.0, 2.0, 3.17, 4.0, 6.0)


def _persons(prepared: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    return (
        prepared.select("source", "source_person_id", "unique_id")
        .join(clusters, on="unique_id")
        .select(pl.col("cluster").alias("person_id"), "source", "source_person_id")
    )


def threshold_sweep(
    scored: pl.DataFrame,
    prepared: pl.DataFrame,
    truth: pl.DataFrame,
    settings: LinkageSettings,
    reliable: frozenset[str],
) -> list[dict[str, float]]:
    """Pairwise precision and recall if the same pairs were clustered at each weight in :data:`SWEEP`."""
    rows = []
    for weight in SWEEP:
        at = settings.model_copy(update={"match_weight_threshold": weight})
        scores = pairwise_scores(
            _persons(prepared, cluster_records(scored, prepared, at, reliable).clusters), truth
        )
        rows.append(
            {"weight": weight, "precision": round(scores.precision, 4), "recall": round(scores.recall, 4)}
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=6000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--world", default="sparse_crm", choices=world_names())
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/early-warning-bench"))
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the counts here as JSON")
    args = parser.parse_args(argv)

    name = f"borough_{args.residents}_{args.seed}"
    out = args.workdir / (name if args.world == "baseline" else f"{args.world}_{name}")
    run = RunPaths(home=out / "home", as_of=AS_OF)
    if not run.canonical_people.exists():
        generate_borough(
            out, residents=args.residents, years=args.years, as_of=AS_OF, seed=args.seed, world=args.world
        )
        ingest_extracts(out / "extracts", AS_OF, run, load_config())
    people = pl.read_parquet(run.canonical_people)
    truth = pl.read_parquet(out / "truth" / "person_records.parquet")
    settings = load_linkage_settings(args.config)
    everything = settings.model_copy(
        update={"match_weight_threshold": -1000.0, "clerical_review_per_band": 0}
    )
    prepared = prepare_people(people)
    scored = score_pairs(prepared, everything)
    reliable = reliable_comparisons(scored.model, settings.hard_rule_max_m)
    clustering = cluster_records(scored.pairs, prepared, settings, reliable)
    persons = _persons(prepared, clustering.clusters)
    overall = pairwise_scores(persons, truth)
    print(
        f"{args.world} seed {args.seed}: precision {overall.precision:.4f} recall {overall.recall:.4f} "
        f"({overall.true_pairs - overall.correct_pairs} of {overall.true_pairs} true pairs missed)"
    )
    missed = missed_pairs(prepared, truth, scored.pairs, clustering.clusters, settings, reliable)
    with pl.Config(tbl_rows=80, tbl_cols=20, tbl_width_chars=200, fmt_str_lengths=40):
        print(missed.group_by("stage").len().sort("len", descending=True))
        print(
            missed.pivot(on="stage", index="poorer", values="a", aggregate_function="len")
            .fill_null(0)
            .sort(pl.col("poorer").replace_strict({n: i for i, n in enumerate(RICHNESS)}))
        )
        shared_cols = [f"same_{n}" for n in SHARED]
        print(missed.group_by("stage").agg(pl.len(), *[pl.col(c).sum() for c in shared_cols]).sort("stage"))
        below = missed.filter(pl.col("stage") == STAGES[1])
        print("below threshold, weight of the direct pair (null: not compared directly):")
        print(
            below.group_by(pl.col("match_weight").floor().alias("weight, rounded down"))
            .len()
            .sort("weight, rounded down")
        )
        never = missed.filter(pl.col("stage") == STAGES[0])
        print("never compared, by what the two records share:")
        print(never.group_by("poorer", *shared_cols[:4]).len().sort("len", descending=True).head(30))
    sweep = threshold_sweep(scored.pairs, prepared, truth, settings, reliable)
    print("what another threshold would trade (the same scored pairs, clustered again):")
    for row in sweep:
        print(
            f"  match weight >= {row['weight']:5.2f}: precision {row['precision']:.4f} recall {row['recall']:.4f}"
        )
    if args.json:
        record = {
            "world": args.world,
            "seed": args.seed,
            "residents": args.residents,
            "precision": overall.precision,
            "recall": overall.recall,
            "true_pairs": overall.true_pairs,
            "threshold_sweep": sweep,
            "missed": missed.group_by("stage", "poorer").len().sort("stage", "poorer").to_dicts(),
        }
        with args.json.open("a") as f:
            f.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
