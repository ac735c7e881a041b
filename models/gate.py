"""The champion gate: a learned model replaces the rules score only when it surely finds more.

A council has no ground truth to catch a model that learned the wrong thing,
so training must. On the held-out report period, at each locality's
capacity (what a night's list would really hold), the candidate must be more
precise than the transparent rules score **and** every naive baseline, and a
bootstrap over people must agree in at least ``min_win_share`` of resamples
(default 90%). It must also widen no fairness gap beyond the tolerance
compared with the scorer it would replace, and the people it would surface
must go on to show need (a label, a service taking them on, or signs of need
in two services) at least as often as those of the scorer in use, and *surely*
more often than the rules score's (the same bootstrap, on need shown instead
of the label): a training label is narrow (crises are rare), and a model can
win on it while finding fewer people in need — exactly what happened in the
first wave. A learned model replaces a points table anyone can read only
when it is surely better at both what it was trained for and need in general. Otherwise the scorer already in
use (the rules score, or an earlier champion) stays, and :attr:`GateResult.sentence`
says so in one plain sentence with the figures.

The bootstrap resamples *people*, not rows: a person surfaced on three
snapshots is one draw, so a few busy people cannot make a model look surely
better. It is a Poisson bootstrap (each person's weight ~ Poisson(1),
independently), which lets the people no scorer surfaced be left out exactly:
they add nothing to any list's hits or size. Pure: no MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from models.labels import NEED_SHOWN

RULES_SCORE = "rules_score"


@dataclass(frozen=True)
class GateResult:
    """What the gate decided and why.

    Attributes:
        passed: the candidate beat every opponent surely and widened no gap.
        candidate: the learned model's name.
        precision: precision at capacity on the report period per scorer.
        win_share: per opponent, the share of resamples in which the candidate was
            strictly more precise.
        widened: fairness attributes whose gap the candidate widened beyond tolerance.
        in_use: what stays in use when the candidate fails ("the rules score", "version 3").
    """

    passed: bool
    candidate: str
    precision: dict[str, float]
    win_share: dict[str, float]
    widened: list[str] = field(default_factory=list)
    in_use: str = "the rules score"
    min_win_share: float = 0.9
    #: (candidate, in use): the share of each list that went on to show need (``models.labels.NEED_SHOWN``).
    need_shown: tuple[float, float] | None = None
    #: The share of resamples in which the candidate's list showed need more often than the
    #: rules score's (None when the lists carry no ``need_shown`` column).
    need_win_share: float | None = None

    @property
    def not_surely_more_need(self) -> bool:
        return self.need_win_share is not None and self.need_win_share < self.min_win_share

    @property
    def shows_less_need(self) -> bool:
        return self.need_shown is not None and self.need_shown[0] < self.need_shown[1]

    @property
    def sentence(self) -> str:
        """One plain sentence for the console, the registry and the model card."""
        found = f"The learned model ({_label(self.candidate)}) found {self.precision[self.candidate]:.2f} at capacity"
        rules = self.precision.get(RULES_SCORE)
        others = f", the rules score {rules:.2f}" if rules is not None else ""
        baselines = {k: v for k, v in self.precision.items() if k.startswith("baseline_")}
        if baselines:
            best = max(baselines, key=lambda k: baselines[k])
            others += f", the best simple ranking ({_label(best)}) {baselines[best]:.2f}"
        if self.passed:
            weakest = min(self.win_share.values(), default=1.0)
            return (
                f"{found}{others}; it was ahead of each in at least {weakest:.0%} of resamples, "
                "so it becomes the champion."
            )
        why = []
        behind = [k for k, share in self.win_share.items() if share < self.min_win_share]
        if behind:
            shares = ", ".join(f"{_label(k)} {self.win_share[k]:.0%}" for k in behind)
            why.append(
                f"it was not surely ahead (ahead in {shares} of resamples; {self.min_win_share:.0%} needed)"
            )
        if self.widened:
            why.append(f"it widens the fairness gap on {', '.join(self.widened)}")
        if self.shows_less_need and self.need_shown is not None:
            why.append(
                f"fewer of the people it would surface went on to show need ({self.need_shown[0]:.2f} "
                f"against {self.need_shown[1]:.2f})"
            )
        elif self.not_surely_more_need and self.need_win_share is not None:
            why.append(
                "the people it would surface did not surely go on to show need more often than the rules "
                f"score's (ahead in {self.need_win_share:.0%} of resamples)"
            )
        because = f" ({'; '.join(why)})" if why else ""
        return f"{found}{others}{because}; {self.in_use} stays in use."


def _label(name: str) -> str:
    return name.removeprefix("baseline_").replace("_", " ")


def per_person_counts(surfaced: pl.DataFrame, column: str = "label") -> pl.DataFrame:
    """``person_id, shown, hits``: rows surfaced and positive rows (``column`` is 1) surfaced, per person."""
    return (
        surfaced.filter(pl.col("surfaced"))
        .group_by("person_id")
        .agg(pl.len().alias("shown"), (pl.col(column) == 1).sum().alias("hits"))
    )


def bootstrap_win_shares(
    candidate: pl.DataFrame,
    opponents: dict[str, pl.DataFrame],
    resamples: int,
    seed: int,
    column: str = "label",
) -> dict[str, float]:
    """Per opponent, the share of people-resamples in which the candidate's precision at capacity is higher.

    Each frame is a scorer's report rows after ``surface_at_capacity`` (``person_id``,
    ``surfaced`` and ``column``, the label by default). A resample where a list is empty
    counts as precision 0.
    """
    counts = {"candidate": per_person_counts(candidate, column)} | {
        k: per_person_counts(v, column) for k, v in opponents.items()
    }
    people = pl.concat([c.select("person_id") for c in counts.values()]).unique().sort("person_id")
    if people.is_empty():
        return dict.fromkeys(opponents, 0.0)
    rng = np.random.default_rng(seed)
    weights = rng.poisson(1.0, size=(resamples, people.height)).astype(np.float64)

    def precision(frame: pl.DataFrame) -> np.ndarray:
        aligned = people.join(frame, on="person_id", how="left").fill_null(0)
        shown = weights @ aligned["shown"].to_numpy().astype(np.float64)
        hits = weights @ aligned["hits"].to_numpy().astype(np.float64)
        return np.divide(hits, shown, out=np.zeros_like(hits), where=shown > 0)

    mine = precision(counts["candidate"])
    return {k: float(np.mean(mine > precision(counts[k]))) for k in opponents}


def champion_gate(
    candidate: str,
    surfaced: dict[str, pl.DataFrame],
    *,
    widened: list[str],
    in_use: str,
    resamples: int,
    min_win_share: float,
    seed: int,
    need_shown: tuple[float, float] | None = None,
) -> GateResult:
    """Decide whether ``candidate`` may become champion.

    Args:
        candidate: the learned model's name (a key of ``surfaced``).
        surfaced: every scorer's report rows after ``surface_at_capacity``: the
            candidate, ``rules_score`` and the naive baselines (``baseline_*``).
        widened: fairness attributes the candidate widens beyond tolerance
            (``models.selection.widened_gaps``), against the scorer in use.
        in_use: how to name what stays in use when the candidate fails.
        resamples, min_win_share, seed: the bootstrap (``training.yaml`` ``gate``).
        need_shown: the share of the candidate's list and of the list in use that went on
            to show need in the horizon (a label, a service taking them on, or signs in two
            services). A training label is narrow (a crisis is rare); a candidate that wins
            on it by surfacing people whose need shows less is refused. Besides, when the
            lists carry a ``need_shown`` column, the candidate's must show need more often
            than the rules score's in ``min_win_share`` of the same people-resamples.
    """
    precision = {name: _precision(frame) for name, frame in surfaced.items()}
    opponents = {k: v for k, v in surfaced.items() if k != candidate}
    shares = bootstrap_win_shares(surfaced[candidate], opponents, resamples, seed)
    passed = all(share >= min_win_share for share in shares.values()) and not widened
    passed = passed and not (need_shown is not None and need_shown[0] < need_shown[1])
    need_win_share = _need_win_share(candidate, surfaced, resamples, seed)
    passed = passed and not (need_win_share is not None and need_win_share < min_win_share)
    return GateResult(
        passed=passed,
        candidate=candidate,
        precision=precision,
        win_share=shares,
        widened=list(widened),
        in_use=in_use,
        min_win_share=min_win_share,
        need_shown=need_shown,
        need_win_share=need_win_share,
    )


def _need_win_share(
    candidate: str, surfaced: dict[str, pl.DataFrame], resamples: int, seed: int
) -> float | None:
    """How often, over people-resamples, the candidate's list showed need more often than the rules score's."""
    rules = surfaced.get(RULES_SCORE)
    mine = surfaced[candidate]
    if rules is None or NEED_SHOWN not in mine.columns or NEED_SHOWN not in rules.columns:
        return None
    return bootstrap_win_shares(mine, {RULES_SCORE: rules}, resamples, seed, column=NEED_SHOWN)[RULES_SCORE]


def _precision(surfaced: pl.DataFrame) -> float:
    shown = surfaced.filter(pl.col("surfaced"))
    return float(shown["label"].mean()) if shown.height else 0.0  # type: ignore[arg-type]


def simple_rankings_ahead(
    surfaced: dict[str, pl.DataFrame],
    need_shown: dict[str, float],
    *,
    resamples: int,
    min_win_share: float,
    seed: int,
) -> list[str]:
    """Plain sentences for the data team: naive rankings that surely beat the rules score here.

    The gate protects the night from a learned model that is not surely better; this
    looks the other way. In a council where need is rare and quiet, a one-line ranking
    (highest arrears below a service's threshold) can find more than the rules score's
    points table. The night's scorer does not change: a person should look at the
    points table (``rules_score.yaml``). A ranking counts only if it is ahead of the rules
    score in ``min_win_share`` of resamples over people and its list shows need at least
    as often. ``surfaced`` holds ``rules_score`` and the ``baseline_*`` lists.
    """
    rules = surfaced[RULES_SCORE]
    out = []
    for name, frame in surfaced.items():
        if not name.startswith("baseline_"):
            continue
        share = bootstrap_win_shares(frame, {RULES_SCORE: rules}, resamples, seed)[RULES_SCORE]
        shows = need_shown.get(name, 0.0) >= need_shown.get(RULES_SCORE, 0.0)
        if share >= min_win_share and shows:
            out.append(
                f"The simple ranking '{_label(name)}' found {_precision(frame):.2f} at capacity against the rules "
                f"score's {_precision(rules):.2f} (ahead in {share:.0%} of resamples): the rules table may "
                "under-weight what it ranks by for this council; a person should look at rules_score.yaml."
            )
    return out
