"""Clerical review: a stratified sample of the night's candidate pairs, and accuracy from its labels.

Each night :func:`sample_pairs` draws candidate pairs (pairs the blocking
rules compared and Splink scored) for the data team to label "same person",
"not the same" or "can't tell", seeing the two records side by side and no
score. :func:`estimate_accuracy` turns those labels into pairwise precision
and recall of the night's linkage decision, with 95% intervals, overall and
per source pair (the two systems the records came from).

**What is estimated.** A pair is *called* a match when linkage put both
records in one person (the final clusters, after the household and chaining
guards, not just "at or above the threshold"), because that is the decision
the rest of the product acts on. Precision is the share of called pairs
that are one person; recall is the share of pairs that are one person that
were called.

**The population, said plainly.** Only candidate pairs count: pairs that
some blocking rule compared *and* whose match weight is at least the lowest
band edge (``clerical_band_edges[0]``, the "floor"). Two records of one
person that no blocking rule brings together, or that score below the
floor, are invisible here, so the recall is an upper bound on recall over
all pairs of records (the benchmark ``benchmarks/clerical_estimate.py``
measures both on generated boroughs). Pairs in one person that were never
compared (joined through a third record) are not counted either.

**Sampling.** Candidate pairs are split into strata by match-weight band
(the edges in ``linkage.yaml``, with the match threshold's weight always an
edge, so bands lie wholly below or above it) and by whether they were called;
up to ``per_band`` pairs are drawn from each stratum at random (seeded). Each
stratum's population is kept, and per source pair too, so the estimate can
weight every labelled pair by how many pairs it stands for.

**The estimator.** Stratified: each stratum's share of true matches times its
population, summed. The point estimate uses the labelled shares; the 95%
interval is the 2.5th to 97.5th percentile of the same sums when each
stratum's share is drawn from its posterior, Beta(k + a, n - k + a) (k
same-person labels of n; a = :data:`PRIOR`, a little under Jeffreys' 1/2 for
the reason given there). A stratum whose sample is all one answer (40 of 40
"same") still carries uncertainty that way, where a bootstrap would say
none; a stratum labelled in full (a census) carries none. The interval is
widened, if need be, to include the point estimate. Per source pair,
each stratum is post-stratified by source pair; a cell with no labelled pair
borrows its stratum's share.

Assumptions the caller can rely on, and their limits:

- "can't tell" labels are left out and counted; the estimate assumes the
  pairs the data team could not decide are like the others in their stratum;
- the labels are taken as the truth (two people who label the same pair
  differently are not reconciled: the latest label counts);
- recall and precision are of *pairs*, so a big person (many records) weighs
  more than a small one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from early_warning.paths import RunPaths, write_frame

#: The three answers the data team gives, as stored.
SAME, DIFFERENT, CANT_TELL = "same", "different", "cant_tell"
LABELS: tuple[str, ...] = (SAME, DIFFERENT, CANT_TELL)

#: The fields shown side by side (canonical people columns), in display order.
DISPLAY_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "dob",
    "address",
    "postcode",
    "phone",
    "email",
)

#: The sample's columns (one row per sampled pair); ``record_l``/``record_r`` hold the
#: display fields plus ``source`` and ``source_person_id`` as strings.
SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "unique_id_l": pl.Int64(),
    "unique_id_r": pl.Int64(),
    "band": pl.Int32(),
    "band_label": pl.String(),
    "called": pl.Boolean(),
    "stratum_population": pl.Int64(),
    "source_pair": pl.String(),
    "match_weight": pl.Float64(),
    "record_l": pl.Struct({name: pl.String() for name in ("source", "source_person_id", *DISPLAY_FIELDS)}),
    "record_r": pl.Struct({name: pl.String() for name in ("source", "source_person_id", *DISPLAY_FIELDS)}),
}

#: Population per stratum and source pair.
STRATA_SCHEMA: dict[str, pl.DataType] = {
    "band": pl.Int32(),
    "band_label": pl.String(),
    "called": pl.Boolean(),
    "source_pair": pl.String(),
    "population": pl.Int64(),
}

#: Draws from the strata's posteriors for an interval (enough for two decimal places).
DRAWS = 4000
#: Each stratum's prior is Beta(PRIOR, PRIOR). Jeffreys' 0.5 puts a share of about
#: 0.5 / (n + 1) of the *other* answer into a stratum whose n labels all agree (1.6% false
#: matches in a band of 30 "same person" labels), which dragged the precision interval
#: below the truth where linkage is very precise: on generated boroughs (2 worlds x 5
#: seeds, 4 samples each) 0.5 covered the true precision 30 times in 40, 0.25 38 times
#: (recall 40 of 40 for both), 0.1 40 and 39.
PRIOR = 0.25


def weight_of(probability: float) -> float:
    """The match weight (log2 odds) of a match probability."""
    return math.log2(probability / (1 - probability))


def band_edges(edges: Sequence[float], threshold: float) -> list[float]:
    """The band edges in match weight: the configured ones plus the threshold's weight, sorted.

    The first edge is the floor: pairs below it are not in the population.
    """
    return sorted({round(float(e), 6) for e in edges} | {round(weight_of(threshold), 6)})


def band_labels(edges: Sequence[float]) -> list[str]:
    """Plain labels for each band ("3.2 to 6", "20 and above")."""
    text = [f"{e:g}" if float(e).is_integer() else f"{e:.1f}" for e in edges]
    return [f"{a} to {b}" for a, b in zip(text, text[1:], strict=False)] + [f"{text[-1]} and above"]


@dataclass(frozen=True)
class ClericalSample:
    """The night's sample (``SAMPLE_SCHEMA``) and every stratum's population (``STRATA_SCHEMA``).

    ``candidates`` is the whole population the sample was drawn from
    (:func:`stratify_pairs`: ids, weights, bands; no personal data), for
    setting an estimate against the truth in tests and the benchmark.
    """

    pairs: pl.DataFrame
    strata: pl.DataFrame
    candidates: pl.DataFrame | None = None

    @property
    def population(self) -> int:
        return int(self.strata["population"].sum()) if self.strata.height else 0


def _source_pair(left: str, right: str) -> pl.Expr:
    lo = pl.min_horizontal(pl.col(left), pl.col(right))
    hi = pl.max_horizontal(pl.col(left), pl.col(right))
    return pl.concat_str([lo, pl.lit(" + "), hi])


def stratify_pairs(
    pairs: pl.DataFrame,
    clusters: pl.DataFrame,
    sources: pl.DataFrame,
    *,
    threshold: float,
    edges: Sequence[float],
) -> pl.DataFrame:
    """Every candidate pair at or above the floor, with its band, whether it was called and its source pair.

    Args:
        pairs: ``unique_id_l``, ``unique_id_r``, ``match_weight``.
        clusters: ``unique_id``, ``cluster`` (linkage's decision: the same cluster is "called").
        sources: ``unique_id``, ``source``.
        threshold: the match threshold (a probability); its weight becomes a band edge.
        edges: configured band edges in match weight; the lowest is the floor.

    Returns:
        ``unique_id_l``, ``unique_id_r``, ``match_weight``, ``band``, ``band_label``,
        ``called``, ``source_pair``, sorted by the two ids.
    """
    cuts = band_edges(edges, threshold)
    labels = band_labels(cuts)
    side = sources.select("unique_id", "source")
    return (
        pairs.select("unique_id_l", "unique_id_r", "match_weight")
        .filter(pl.col("match_weight") >= cuts[0])
        .join(clusters.select(unique_id_l="unique_id", cluster_l="cluster"), on="unique_id_l")
        .join(clusters.select(unique_id_r="unique_id", cluster_r="cluster"), on="unique_id_r")
        .join(side.select(unique_id_l="unique_id", source_l="source"), on="unique_id_l")
        .join(side.select(unique_id_r="unique_id", source_r="source"), on="unique_id_r")
        .with_columns(
            band=pl.sum_horizontal(
                [(pl.col("match_weight") >= e).cast(pl.Int32) for e in cuts[1:]] or [pl.lit(0)]
            ).cast(pl.Int32),
            called=pl.col("cluster_l") == pl.col("cluster_r"),
            source_pair=_source_pair("source_l", "source_r"),
        )
        .with_columns(
            band_label=pl.col("band").replace_strict(dict(enumerate(labels)), return_dtype=pl.String)
        )
        .select("unique_id_l", "unique_id_r", "match_weight", "band", "band_label", "called", "source_pair")
        .sort("unique_id_l", "unique_id_r")
    )


def sample_pairs(
    pairs: pl.DataFrame,
    clusters: pl.DataFrame,
    records: pl.DataFrame,
    *,
    threshold: float,
    edges: Sequence[float],
    per_band: int,
    seed: int,
) -> ClericalSample:
    """Draw up to ``per_band`` candidate pairs from every stratum (match-weight band x called).

    Args:
        pairs: scored candidate pairs: ``unique_id_l``, ``unique_id_r``,
            ``match_weight`` (at least those at or above the floor; lower ones
            are dropped).
        clusters: ``unique_id``, ``cluster``: linkage's decision (same cluster = called).
        records: ``unique_id``, ``source``, ``source_person_id`` and the
            :data:`DISPLAY_FIELDS` (canonical people values; a missing column is shown empty).
        threshold: the match threshold (a probability); its weight becomes a band edge.
        edges: configured band edges in match weight; the lowest is the floor.
        per_band: pairs drawn per stratum (all of them when the stratum is smaller).
        seed: the random seed (the night's, so running a night again draws the same pairs).

    Returns:
        The sample, and the population of every stratum per source pair.

    Example:
        >>> sample = sample_pairs(pairs, clusters, people, threshold=0.9, edges=[-4, 0, 8], per_band=10, seed=1)  # doctest: +SKIP
        >>> sample.population == pairs.filter(pl.col("match_weight") >= -4).height  # doctest: +SKIP
        True
    """
    fields = ("source", "source_person_id", *DISPLAY_FIELDS)
    sides = records.select(
        "unique_id",
        *[
            (pl.col(c).cast(pl.String) if c in records.columns else pl.lit(None, pl.String)).alias(c)
            for c in fields
        ],
    )
    scored = stratify_pairs(pairs, clusters, sides, threshold=threshold, edges=edges)
    strata = (
        scored.group_by("band", "band_label", "called", "source_pair")
        .agg(population=pl.len().cast(pl.Int64))
        .sort("band", "called", "source_pair")
        .cast(STRATA_SCHEMA)  # type: ignore[arg-type]
    )
    key = np.random.default_rng(seed).random(scored.height)
    chosen = (
        scored.with_columns(_key=pl.Series(key, dtype=pl.Float64))
        .with_columns(
            _rank=pl.col("_key").rank("ordinal").over("band", "called"),
            stratum_population=pl.len().over("band", "called").cast(pl.Int64),
        )
        .filter(pl.col("_rank") <= per_band)
        .sort("band", "called", "unique_id_l", "unique_id_r")
    )
    for side in ("l", "r"):
        chosen = chosen.join(
            sides.select(
                pl.col("unique_id").alias(f"unique_id_{side}"),
                pl.struct(list(fields)).alias(f"record_{side}"),
            ),
            on=f"unique_id_{side}",
            how="left",
        )
    sample = chosen.select(list(SAMPLE_SCHEMA)).cast(SAMPLE_SCHEMA)  # type: ignore[arg-type]
    return ClericalSample(pairs=sample, strata=strata, candidates=scored)


@dataclass(frozen=True)
class Interval:
    """A point estimate and its 95% interval; all None when there is nothing to estimate."""

    estimate: float | None
    low: float | None
    high: float | None

    def text(self) -> str:
        """``0.99 (0.97-1.00)``, or ``not known``."""
        if self.estimate is None or self.low is None or self.high is None:
            return "not known"
        return f"{self.estimate:.2f} ({self.low:.2f}-{self.high:.2f})"

    def contains(self, value: float) -> bool:
        return self.low is not None and self.high is not None and self.low <= value <= self.high

    def as_dict(self) -> dict[str, float | None]:
        return {
            "estimate": None if self.estimate is None else round(self.estimate, 4),
            "low": None if self.low is None else round(self.low, 4),
            "high": None if self.high is None else round(self.high, 4),
        }


@dataclass(frozen=True)
class Accuracy:
    """Precision and recall from labels, with how many labels they rest on."""

    labelled: int
    cant_tell: int
    precision: Interval
    recall: Interval

    def as_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "cant_tell": self.cant_tell,
            "precision": self.precision.as_dict(),
            "recall": self.recall.as_dict(),
        }


@dataclass(frozen=True)
class AccuracyEstimate:
    """Overall and per source pair (``"council_tax + housing_rent"``)."""

    overall: Accuracy
    by_source_pair: dict[str, Accuracy] = field(default_factory=dict)
    population: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "population": self.population,
            **self.overall.as_dict(),
            "by_source_pair": {name: a.as_dict() for name, a in self.by_source_pair.items()},
        }

    def sentence(self) -> str:
        """For the run summary: counts and rates only."""
        o = self.overall
        return (
            f"from {o.labelled:,} pairs the data team labelled ({o.cant_tell:,} they could not tell): "
            f"precision {o.precision.text()}, recall {o.recall.text()}"
        )


#: Labelled pairs given to :func:`estimate_accuracy`.
LABELLED_SCHEMA: dict[str, pl.DataType] = {
    "band": pl.Int32(),
    "called": pl.Boolean(),
    "source_pair": pl.String(),
    "label": pl.String(),
}


def _cells(strata: pl.DataFrame, labelled: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Population, labelled (n) and same-person (k) per cell of ``keys``."""
    counts = labelled.group_by(keys).agg(
        n=pl.len().cast(pl.Int64), k=(pl.col("label") == SAME).sum().cast(pl.Int64)
    )
    return (
        strata.group_by(keys)
        .agg(population=pl.col("population").sum())
        .join(counts, on=keys, how="left")
        .with_columns(pl.col("n").fill_null(0), pl.col("k").fill_null(0))
        .sort(keys)
    )


def _interval(
    population: np.ndarray,
    called: np.ndarray,
    point_rate: np.ndarray,
    draws: np.ndarray,
) -> tuple[Interval, Interval]:
    """Precision and recall from each cell's rate of true matches (point, and draws x cells)."""

    def ratio(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        matches = rates * population
        tp = (matches * called).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.divide(tp, (population * called).sum(axis=-1))
            recall = np.divide(tp, matches.sum(axis=-1))
        return precision, recall

    if not (population * called).sum():
        precision = Interval(None, None, None)
    else:
        p_point, p_draws = ratio(point_rate)[0], ratio(draws)[0]
        lo, hi = np.quantile(p_draws, [0.025, 0.975])
        precision = Interval(float(p_point), float(min(lo, p_point)), float(max(hi, p_point)))
    r_point, r_draws = ratio(point_rate)[1], ratio(draws)[1]
    r_draws = r_draws[~np.isnan(r_draws)]
    if np.isnan(r_point) or not r_draws.size:
        recall = Interval(None, None, None)
    else:
        lo, hi = np.quantile(r_draws, [0.025, 0.975])
        recall = Interval(float(r_point), float(min(lo, r_point)), float(max(hi, r_point)))
    return precision, recall


def _rates(
    n: np.ndarray, k: np.ndarray, population: np.ndarray, prior_k: np.ndarray, prior_n: np.ndarray, rng: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Point rates and posterior draws per cell; cells with no labels borrow (prior_k, prior_n)."""
    use_k = np.where(n > 0, k, prior_k).astype(float)
    use_n = np.where(n > 0, n, prior_n).astype(float)
    point = np.where(use_n > 0, use_k / np.maximum(use_n, 1), 0.5)
    draws = rng.beta(use_k + PRIOR, use_n - use_k + PRIOR, size=(DRAWS, len(n)))
    census = (n > 0) & (n >= population)
    draws[:, census] = point[census]
    return point, draws


def estimate_accuracy(labelled: pl.DataFrame, strata: pl.DataFrame, *, seed: int = 0) -> AccuracyEstimate:
    """Precision and recall of the night's linkage from the data team's labels.

    Args:
        labelled: one row per labelled pair (``LABELLED_SCHEMA``: ``band``,
            ``called``, ``source_pair``, ``label`` one of :data:`LABELS`);
            the latest label of each pair only.
        strata: the night's populations (``STRATA_SCHEMA``) from :func:`sample_pairs`.
        seed: for the posterior draws (the interval is repeatable).

    Returns:
        Overall and per-source-pair estimates (see the module docstring for
        the estimator and its assumptions). Intervals are None where there is
        nothing to estimate (no called pairs for precision; no labelled match
        for recall).

    Example:
        >>> estimate_accuracy(labelled, sample.strata).overall.precision.text()  # doctest: +SKIP
        '0.99 (0.97-1.00)'
    """
    rng = np.random.default_rng(seed)
    decided = labelled.filter(pl.col("label") != CANT_TELL)
    cant_tell = labelled.height - decided.height
    keys = ["band", "called"]
    overall_cells = _cells(strata, decided, keys)
    population = overall_cells["population"].to_numpy().astype(float)
    n, k = overall_cells["n"].to_numpy(), overall_cells["k"].to_numpy()
    point, draws = _rates(n, k, population, np.zeros_like(n), np.zeros_like(n), rng)
    called = overall_cells["called"].to_numpy().astype(float)
    precision, recall = _interval(population, called, point, draws)
    overall = Accuracy(labelled=decided.height, cant_tell=cant_tell, precision=precision, recall=recall)

    by_pair: dict[str, Accuracy] = {}
    pooled = overall_cells.select(*keys, prior_n="n", prior_k="k")
    cells = _cells(strata, decided, [*keys, "source_pair"]).join(pooled, on=keys, how="left")
    for (name,), part in cells.partition_by("source_pair", as_dict=True, maintain_order=True).items():
        pop = part["population"].to_numpy().astype(float)
        p_point, p_draws = _rates(
            part["n"].to_numpy(),
            part["k"].to_numpy(),
            pop,
            part["prior_k"].to_numpy(),
            part["prior_n"].to_numpy(),
            rng,
        )
        prec, rec = _interval(pop, part["called"].to_numpy().astype(float), p_point, p_draws)
        mine = labelled.filter(pl.col("source_pair") == name)
        mine_decided = int((mine["label"] != CANT_TELL).sum())
        by_pair[str(name)] = Accuracy(
            labelled=mine_decided, cant_tell=mine.height - mine_decided, precision=prec, recall=rec
        )
    return AccuracyEstimate(
        overall=overall, by_source_pair=dict(sorted(by_pair.items())), population=int(population.sum())
    )


#: How many nights' labels the pooled estimate uses: the latest night with a sample and the
#: nights before it. One night's sample (about ten pairs a band) gives wide intervals; a week
#: of labels narrows them about 2.5-fold while the model and the population change little.
POOL_NIGHTS = 7

#: Labelled pairs of several nights, as :func:`pooled_accuracy` takes them: the band by its
#: label (a night's band numbers depend on its threshold's weight; the label says the band).
POOLED_SCHEMA: dict[str, pl.DataType] = {
    "band_label": pl.String(),
    "called": pl.Boolean(),
    "source_pair": pl.String(),
    "label": pl.String(),
}


@dataclass(frozen=True)
class PooledEstimate:
    """:func:`estimate_accuracy` over several nights' labels, and what it left out."""

    estimate: AccuracyEstimate
    #: labelled pairs whose band the latest night does not have (the band edges changed).
    left_out: int


def pooled_accuracy(labelled: pl.DataFrame, strata: pl.DataFrame, *, seed: int = 0) -> PooledEstimate:
    """Precision and recall from the labels of several nights, weighted by the latest night's strata.

    Each labelled pair counts in the latest night's stratum with its band
    (by label) and its side of the decision (``called``); the strata's
    populations, and so the weights, are the latest night's only. The
    assumption, said on the page: within one band of match weight and one
    side of the decision, the share of pairs that are one person changes
    little from night to night (the same model, a population that changes
    slowly). A pair from a band the latest night does not have is left out
    and counted.

    Args:
        labelled: ``POOLED_SCHEMA`` rows, the latest label of each pair, from every night pooled.
        strata: the latest night's strata (``STRATA_SCHEMA``).
        seed: for the posterior draws.
    """
    bands = strata.select("band_label", "band").unique()
    mapped = labelled.join(bands, on="band_label", how="inner")
    usable = mapped.select(list(LABELLED_SCHEMA)).cast(LABELLED_SCHEMA)  # type: ignore[arg-type]
    return PooledEstimate(
        estimate=estimate_accuracy(usable, strata, seed=seed), left_out=labelled.height - mapped.height
    )


def true_accuracy(sampled_population: pl.DataFrame) -> tuple[float | None, float | None]:
    """Exact precision and recall over a labelled *population* (every pair, not a sample).

    ``sampled_population`` has ``called`` and ``label`` for every candidate
    pair in the population; used by tests and the benchmark to set the
    estimate against the truth.
    """
    same = pl.col("label") == SAME
    tp = sampled_population.filter(same & pl.col("called")).height
    called = sampled_population.filter(pl.col("called")).height
    matches = sampled_population.filter(same).height
    return (tp / called if called else None, tp / matches if matches else None)


def night_sample(
    candidates: pl.DataFrame | None,
    clusters: pl.DataFrame,
    people: pl.DataFrame,
    *,
    threshold: float,
    edges: Sequence[float],
    per_band: int,
    night_seed: int,
) -> ClericalSample | None:
    """The night's sample for the data team, or None when clerical review is off.

    ``people`` is the canonical frame linkage was given; a record's ``unique_id``
    is its row position there (as :func:`features.linkage.prep.prepare_people` numbers it).
    """
    if candidates is None or not per_band:
        return None
    records = people.with_row_index("unique_id").with_columns(pl.col("unique_id").cast(pl.Int64))
    return sample_pairs(
        candidates, clusters, records, threshold=threshold, edges=edges, per_band=per_band, seed=night_seed
    )


def write_night_sample(sample: ClericalSample | None, run: RunPaths) -> None:
    """Write (or, with clerical review off, remove) the night's sample and strata.

    They are kept in the night's folder (``run.clerical_sample``, ``run.clerical_strata``;
    personal data: the folder already holds the night's canonical people; the route stage
    copies them into the review queue, the only other place personal data lives).
    """
    for path, frame in (
        (run.clerical_sample, None if sample is None else sample.pairs),
        (run.clerical_strata, None if sample is None else sample.strata),
    ):
        if frame is None:
            path.unlink(missing_ok=True)
        else:
            write_frame(frame, path)


#: Record pairs the data team labelled "same person", as the night reads them back.
SAME_PERSON_SCHEMA: dict[str, pl.DataType] = {
    "source_l": pl.String(),
    "source_person_id_l": pl.String(),
    "source_r": pl.String(),
    "source_person_id_r": pl.String(),
}


def same_person_ids(same_person: pl.DataFrame | None, prepared: pl.DataFrame) -> pl.DataFrame | None:
    """Tonight's ``unique_id_l``/``unique_id_r`` of labelled "same person" record pairs.

    Labels name records by source and source reference (stable across
    nights); pairs with a record not in tonight's extract are dropped.
    None when there are none.
    """
    if same_person is None or same_person.is_empty():
        return None
    ids = prepared.select("unique_id", "source", "source_person_id")
    found = (
        same_person.join(
            ids.rename(
                {"unique_id": "unique_id_l", "source": "source_l", "source_person_id": "source_person_id_l"}
            ),
            on=["source_l", "source_person_id_l"],
        )
        .join(
            ids.rename(
                {"unique_id": "unique_id_r", "source": "source_r", "source_person_id": "source_person_id_r"}
            ),
            on=["source_r", "source_person_id_r"],
        )
        .select(
            pl.min_horizontal("unique_id_l", "unique_id_r").alias("unique_id_l"),
            pl.max_horizontal("unique_id_l", "unique_id_r").alias("unique_id_r"),
        )
        .filter(pl.col("unique_id_l") != pl.col("unique_id_r"))
        .unique()
        .sort("unique_id_l", "unique_id_r")
    )
    return found if found.height else None
