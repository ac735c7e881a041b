"""Train, compare and register a model: the data team's ``train`` command.

``run_training`` chains: ingest the extracts into a training folder under the
home (``<home>/training/runs/<as_of>/``), resolve persons with the real
linkage (``features.linkage``), replay monthly snapshots point in time
(``models.labels``), split by time, fit the candidates on the training
period, calibrate and choose on the middle period, evaluate everything on the
held-out report period only (``models.evaluation``), and log and register the
chosen model in MLflow (``models.registry``, the only module that imports
mlflow). The chosen model becomes ``champion`` only if it beats the current
champion re-scored on the same report period without widening the recall
gap of sex, ethnicity or age band beyond ``fairness_tolerance`` (smoothed
ratios to the pooled rate, see ``models.evaluation``); otherwise it is
registered as ``challenger`` with the reason, naming any attribute whose gap
widened. Fairness tables leave the run only with small cells suppressed.

Models read person features only (``features.person_features``), not graph
features: replaying the household graph for every snapshot is too slow for
now. Every pipeline selects its own columns, so the nightly table's extra
columns are ignored.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from early_warning.config import Config
from features.person_features import feature_descriptions
from models import pipelines as pipes
from models.artefacts import input_example, write_artefacts
from models.evaluation import Evaluation, evaluate, surface_at_capacity
from models.gate import GateResult, champion_gate, simple_rankings_ahead
from models.labels import LABEL, Split
from models.provenance import (
    code_fingerprint,
    extracts_fingerprint,
    frame_fingerprint,
    git_commit,
    package_version,
    settings_fingerprint,
)
from models.selection import choose, fit_candidates, importances, promotion_decision, widened_gaps
from models.training_data import Progress, TrainingData, prepare_training_data, score_rows
from models.training_settings import TrainingSettings, load_training_settings

if TYPE_CHECKING:
    from features.linkage.settings import LinkageSettings
    from models.registry import Champion
    from models.rules_score import RulesTable

__all__ = [
    "AlreadyRegistered",
    "TooFewLabels",
    "TrainingResult",
    "list_models",
    "load_champion",
    "promote_model",
    "promotion_decision",
    "run_training",
]

logger = logging.getLogger(__name__)
#: The configuration files training reads (each the council's copy, or the default).
CONFIG_FILES: tuple[str, ...] = (
    "sources.yaml",
    "mappings.yaml",
    "thresholds.yaml",
    "localities.yaml",
    "routing.yaml",
    "wording.yaml",
    "linkage.yaml",
    "training.yaml",
    "rules_score.yaml",
)
#: Fewer positive training rows than this and nothing is learned (the rules score stays).
MIN_TRAIN_POSITIVES = 5


class TooFewLabels(ValueError):
    """Too few people reached a label in the training period to learn anything."""


class AlreadyRegistered(ValueError):
    """A version was already trained on the same extracts, review outcomes, configuration, search
    and code (``training.key`` on each version): training again would only register a copy."""

    def __init__(self, version: str, name: str) -> None:
        self.version = version
        super().__init__(
            f"Version {version} of {name} was trained on the same extracts, review outcomes, "
            "configuration and code: nothing new to learn, so no model was trained or registered. "
            "Change a setting, or train on newer extracts."
        )


def list_models(home: str | Path, settings: TrainingSettings) -> list[dict[str, Any]]:
    """Every registered version with aliases and key metrics (see ``models.registry``)."""
    from models.registry import list_models as _list

    return _list(home, settings)


def promote_model(
    home: str | Path, version: str | int, settings: TrainingSettings, *, reason: str, by: str
) -> dict[str, str]:
    """Make ``version`` the champion: the data team's decision, with who and why (see ``models.registry``)."""
    from models.registry import promote_model as _promote

    return _promote(home, version, settings, reason=reason, by=by)


def load_champion(home: str | Path, settings: TrainingSettings) -> Champion | None:
    """The champion pipeline, version, name and run for the nightly run, or None (see ``models.registry``)."""
    from models.registry import load_champion as _load

    return _load(home, settings)


@dataclass
class TrainingResult:
    """What a training run did; every number is from the held-out report period unless named.

    ``fairness`` is the published table (small cells suppressed); ``fairness_gaps``
    the chosen model's gap per attribute.
    """

    run_id: str
    version: str
    alias: str
    reason: str
    chosen_model: str
    split: Split
    report: dict[str, dict[str, float]]
    middle: dict[str, dict[str, float]]
    champion_before: dict[str, Any] | None
    lift_over_best_baseline: float | None
    rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    fairness: pl.DataFrame | None = None
    fairness_gaps: pl.DataFrame | None = None
    calibration: pl.DataFrame | None = None
    gate: GateResult | None = None
    #: Sentences for the data team: simple rankings surely ahead of the rules score here.
    advice: list[str] = field(default_factory=list)
    data_fingerprint: str = ""
    #: person_id, snapshot, locality, label and each scorer's score on the report period
    #: (pseudonymous ids only; for the benchmark's truth comparison, never logged).
    report_scores: pl.DataFrame | None = None


def _champion_on_report(
    home: Path, settings: TrainingSettings, data: TrainingData, config: Config
) -> dict[str, Any] | None:
    """The current champion re-scored on this run's report period (None when there is none)."""
    from models.registry import load_champion

    loaded = load_champion(home, settings)
    if loaded is None:
        return None
    model, version = loaded.model, loaded.version
    try:
        ev = evaluate(
            "champion",
            score_rows(model, data.period("report")),
            config,
            fairness=settings.fairness_rules(),
        )
    except Exception as exc:
        return {"version": version, "error": f"{type(exc).__name__}: {exc}"}
    return {"version": version, "metrics": ev.metrics}


def _need_shown(new: dict[str, float], in_use: dict[str, float]) -> tuple[float, float] | None:
    key = "precision_need_shown_at_capacity"
    return (new[key], in_use[key]) if key in new and key in in_use else None


def _decide(
    chosen: str,
    surfaced: dict[str, pl.DataFrame],
    report: dict[str, Evaluation],
    champion_before: dict[str, Any] | None,
    settings: TrainingSettings,
) -> tuple[str, str, GateResult | None]:
    """(alias, reason, gate): the champion gate, then the comparison with the champion in use.

    ``surfaced`` is every scorer's report rows after ``surface_at_capacity`` (computed once).
    """
    from models.registry import CHALLENGER, CHAMPION

    if champion_before is not None and "error" in champion_before:
        return (
            CHALLENGER,
            (
                f"the current champion (version {champion_before['version']}) could not be re-scored on "
                f"this period ({champion_before['error']}); a person must compare and promote"
            ),
            None,
        )
    new = report[chosen].metrics
    in_use_metrics = champion_before["metrics"] if champion_before else report[pipes.RULES].metrics
    # The candidate against what would stay in use (the rules score) and every naive ranking;
    # the other learned family is not an opponent, and the champion is compared below.
    opponents = [pipes.RULES, *pipes.NAIVE_BASELINES]
    gate = champion_gate(
        chosen,
        {name: surfaced[name] for name in [chosen, *opponents]},
        widened=widened_gaps(new, in_use_metrics, settings.fairness_tolerance),
        in_use=f"version {champion_before['version']}" if champion_before else "the rules score",
        resamples=settings.gate.bootstrap_resamples,
        min_win_share=settings.gate.min_win_share,
        seed=settings.gate.seed,
        need_shown=_need_shown(new, in_use_metrics),
    )
    if not gate.passed:
        return CHALLENGER, gate.sentence, gate
    if champion_before is None:
        return CHAMPION, gate.sentence, gate
    alias, reason = promotion_decision(new, champion_before["metrics"], settings.fairness_tolerance)
    if alias == CHAMPION:
        return alias, f"{gate.sentence} It also {reason}.", gate
    return alias, f"{reason[0].upper()}{reason[1:]}; version {champion_before['version']} stays in use.", gate


def run_training(
    extracts_dir: str | Path,
    as_of: date,
    home: str | Path,
    config: Config,
    search: int = 0,
    *,
    settings: TrainingSettings | None = None,
    rules: RulesTable | None = None,
    linkage: LinkageSettings | None = None,
    config_dir: str | Path | None = None,
    persons: pl.DataFrame | None = None,
    reviews: pl.DataFrame | None = None,
    previous_persons: pl.DataFrame | None = None,
    link_constraints: pl.DataFrame | None = None,
    clerical_same_person: pl.DataFrame | None = None,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train on a night's extracts, evaluate on the held-out period, log and register in MLflow.

    Args:
        extracts_dir: the night's extracts (DATA_CONTRACT.md section 1).
        as_of: the training night; labels need events up to it, so the last snapshot is
            ``as_of - horizon_days``.
        home: the product's home; MLflow lives under ``<home>/mlflow``.
        config: the validated configuration (sources, thresholds, capacities).
        search: extra random hyper-parameter settings per model family (nested runs).
        settings, rules, linkage: the council's ``training.yaml``, points table and
            ``linkage.yaml``, as the command read them once from its ``--config`` folder;
            each one not given is read from ``config_dir`` (None: the built-in defaults).
        config_dir: a council's configuration folder, for the settings not given.
        persons: tests only - persons to use instead of running the real linkage.
        reviews: the review queue's outcomes (``models.labels.OUTCOME_COLUMNS``: person id,
            dates and outcome word, never the note), read by the caller.
        previous_persons: the newest night's ``persons.parquet``, so training ids are the
            queue's ids.
        link_constraints, clerical_same_person: the queue's reviewers' "not / the same person"
            statements and the data team's "same person" pairs, read by the caller as the
            night's link stage reads them, so training's persons are the night's.
        progress: told each stage as it starts (the command line prints it with times).
    """
    from features.linkage.settings import load_linkage_settings
    from models.model_card import render_model_card
    from models.registry import registered_identical, start_training_run
    from models.rules_score import load_rules_table

    home = Path(home)
    say = progress or (lambda message: None)
    settings = settings or load_training_settings(config_dir)
    rules = rules or load_rules_table(config_dir, config)
    linkage = linkage or load_linkage_settings(config_dir)
    timings: dict[str, float] = {}
    say("fingerprinting the extracts, configuration and code")
    fingerprint = extracts_fingerprint(extracts_dir)
    config_fingerprint = settings_fingerprint(
        settings.model_dump(), rules.model_dump(), linkage.model_dump(), config.model_dump()
    )
    code = code_fingerprint()
    training_key = settings_fingerprint(
        fingerprint,
        config_fingerprint,
        code,
        frame_fingerprint(reviews),
        search,
        frame_fingerprint(link_constraints),
        frame_fingerprint(clerical_same_person),
    )
    if (same := registered_identical(home, settings, training_key)) is not None:
        raise AlreadyRegistered(same, settings.registered_model_name)
    started = time.perf_counter()
    data = prepare_training_data(
        Path(extracts_dir),
        as_of,
        home,
        config,
        settings,
        persons,
        reviews=reviews,
        previous_persons=previous_persons,
        progress=say,
        linkage_settings=linkage,
        link_constraints=link_constraints,
        clerical_same_person=clerical_same_person,
    )
    timings["seconds.data"] = time.perf_counter() - started
    rules_table = rules.model_dump()
    rows = {
        f"{name}_{what}": int(frame.height if what == "rows" else frame[LABEL].sum())
        for name in ("train", "middle", "report")
        for frame in [data.period(name)]
        for what in ("rows", "positives")
    }
    if rows["train_positives"] < MIN_TRAIN_POSITIVES:
        raise TooFewLabels(
            f"only {rows['train_positives']} cohort rows in the training period reached a label "
            f"({settings.label_rules().describe()}): too few to learn from, so no model was trained "
            "and the rules score stays in use. More history or a larger area is needed."
        )

    say("opening the MLflow run")
    with start_training_run(
        home, settings, run_name=f"train {as_of.isoformat()} cfg {config_fingerprint[:8]}"
    ) as run:
        run.log_extracts(Path(extracts_dir), fingerprint)
        started = time.perf_counter()
        say(f"fitting {len(pipes.MODEL_NAMES)} model families ({1 + search} settings each)")
        models, middle, trials = fit_candidates(data, config, settings, search, rules_table, run.log_trial)
        timings["seconds.fit"] = time.perf_counter() - started
        chosen = choose(middle)
        name = run_name(chosen, data.split, config_fingerprint, fingerprint)
        run.rename(name)

        started = time.perf_counter()
        say("evaluating every scorer and naive baseline on the held-out report period")
        report_rows = data.period("report")
        scored: dict[str, pl.DataFrame] = {
            name: score_rows(model, report_rows, data.features) for name, model in models.items()
        }
        for name, baseline in pipes.NAIVE_BASELINES.items():
            scored[name] = report_rows.with_columns(
                pl.Series("score", baseline(report_rows, config), dtype=pl.Float64)
            )
        report: dict[str, Evaluation] = {
            name: evaluate(
                name,
                rows_,
                config,
                fairness=settings.fairness_rules(),
                probabilistic=name in models,
            )
            for name, rows_ in scored.items()
        }
        best_baseline = max(report[b].metrics["precision_at_capacity"] for b in pipes.NAIVE_BASELINES)
        new = report[chosen].metrics
        lift = new["precision_at_capacity"] / best_baseline if best_baseline > 0 else None
        champion_before = _champion_on_report(home, settings, data, config)
        say("the champion gate: bootstrap over people against the rules score and naive baselines")
        surfaced = {name: surface_at_capacity(rows_, config) for name, rows_ in scored.items()}
        alias, reason, gate = _decide(chosen, surfaced, report, champion_before, settings)
        advice = simple_rankings_ahead(
            {name: surfaced[name] for name in [pipes.RULES, *pipes.NAIVE_BASELINES]},
            {name: report[name].metrics.get("precision_need_shown_at_capacity", 0.0) for name in report},
            resamples=settings.gate.bootstrap_resamples,
            min_win_share=settings.gate.min_win_share,
            seed=settings.gate.seed,
        )
        say("permutation importances of the learned model")
        importance = importances(models[chosen], data, settings)
        timings["seconds.evaluate"] = time.perf_counter() - started

        with tempfile.TemporaryDirectory(prefix="early-warning-config-") as tmp:
            files_fingerprint = write_config_files(Path(tmp), config_dir)
            run.log_artifacts(Path(tmp), artifact_path="config")
        run.set_tags(
            {
                "data.fingerprint": fingerprint,
                "data.extracts": str(Path(extracts_dir).resolve()),
                "config.fingerprint": config_fingerprint,
                "config.files.fingerprint": files_fingerprint,
                "config.folder": str(Path(config_dir).resolve()) if config_dir else "built-in defaults",
                "code.version": package_version(),
                **({"mlflow.source.git.commit": commit} if (commit := git_commit()) else {}),
                "labels": settings.label_rules().describe()[:5000],
                **({"advice": " ".join(advice)[:5000]} if advice else {}),
            }
        )
        run.log_params(
            {
                "as_of": as_of.isoformat(),
                "chosen_model": chosen,
                "chosen_params": json.dumps(middle[chosen].extra.get("params", {})),
                **hyperparameters(middle),
                "horizon_days": settings.horizon_days,
                "labels_enforcement": settings.labels.enforcement,
                "labels_other_need_days": settings.labels.other_need_days,
                "labels_use_review_outcomes": settings.labels.use_review_outcomes,
                "gate_min_win_share": settings.gate.min_win_share,
                "gate_bootstrap_resamples": settings.gate.bootstrap_resamples,
                "linkage": data.linkage,
                "features": len(data.features),
                "search": search,
                "fairness_tolerance": settings.fairness_tolerance,
                "min_group_size": settings.min_group_size,
                "min_group_positives": settings.min_group_positives,
                "fairness_smoothing": settings.fairness_smoothing,
                "suppress_below": settings.suppress_below,
                **data.split.describe(),
                **{f"snapshots_{k}": len(getattr(data.split, k)) for k in ("train", "middle", "report")},
                **rows,
                **data.reviews,
            }
        )
        metrics = {f"report.{name}.{k}": v for name, ev in report.items() for k, v in ev.metrics.items()}
        metrics |= {f"middle.{name}.{k}": v for name, ev in middle.items() for k, v in ev.metrics.items()}
        metrics |= dict(new)
        if lift is not None:
            metrics["lift_over_best_baseline"] = lift
        if gate is not None:
            metrics |= {f"gate.win_share.{k}": v for k, v in gate.win_share.items()}
        if champion_before is not None and "metrics" in champion_before:
            metrics |= {f"report.champion_before.{k}": v for k, v in champion_before["metrics"].items()}
        run.log_metrics(metrics | timings)
        started = time.perf_counter()
        for name_, ev in report.items():
            run.log_scorer(name_, ev.metrics)
        if champion_before is not None and "metrics" in champion_before:
            run.log_scorer(f"champion v{champion_before['version']}", champion_before["metrics"])
        card_facts: dict[str, Any] = {
            "model_name": chosen,
            "as_of": as_of,
            "horizon_days": settings.horizon_days,
            "split": data.split.describe(),
            "feature_descriptions": {f: feature_descriptions(config).get(f, "") for f in data.features},
            "report": {name: ev.metrics for name, ev in report.items()},
            "fairness": report[chosen].published_fairness,
            "gaps": report[chosen].gaps,
            "rules": report[chosen].rules,
            "decision": alias,
            "reason": reason,
            "linkage": data.linkage,
            "labels": settings.label_rules().describe(),
        }
        card = render_model_card(version=None, **card_facts)
        with tempfile.TemporaryDirectory(prefix="early-warning-artefacts-") as tmp:
            write_artefacts(
                Path(tmp),
                data=data,
                config=config,
                report=report,
                middle=middle,
                chosen=chosen,
                trials=trials,
                importance=importance,
                card=card,
                surfaced=surfaced[chosen],
            )
            run.log_artifacts(Path(tmp))
        say("registering the model in MLflow")
        version = run.register_model(
            models[chosen],
            input_example(data),
            description=f"{chosen}, trained on {as_of.isoformat()}: {reason}",
        )
        run.set_version_tags(
            version,
            {
                "training.key": training_key,
                "data.fingerprint": fingerprint,
                "config.fingerprint": config_fingerprint,
                "code": code,
                "run_name": name,
            },
        )
        run.set_alias(alias, version, reason)
        run.attach_model_card(version, render_model_card(version=version, **card_facts))
        # Logging the scorers, plots, configuration, model card and the model itself.
        timings["seconds.log_and_register"] = time.perf_counter() - started
        run.log_metrics({"seconds.log_and_register": timings["seconds.log_and_register"]})
        run_id = run.run_id
    logger.info(
        "training: version %s of %s is %s (%s)", version, settings.registered_model_name, alias, reason
    )
    return TrainingResult(
        run_id=run_id,
        version=version,
        alias=alias,
        reason=reason,
        chosen_model=chosen,
        split=data.split,
        report={name: ev.metrics for name, ev in report.items()},
        middle={name: ev.metrics for name, ev in middle.items()},
        champion_before=champion_before,
        lift_over_best_baseline=lift,
        rows=rows,
        timings=timings,
        fairness=report[chosen].published_fairness,
        fairness_gaps=report[chosen].gaps,
        calibration=report[chosen].calibration,
        gate=gate,
        advice=advice,
        data_fingerprint=fingerprint,
        report_scores=_report_scores(scored),
    )


def run_name(chosen: str, split: Split, config_fingerprint: str, data_fingerprint: str) -> str:
    """What tells runs apart at a glance: family, data period, configuration and data fingerprints.

    e.g. ``gradient_boosting 2023-04-30..2026-01-31 cfg 1a2b3c4d data 9f8e7d``.
    """
    first, last = min(split.train), max(split.report)
    return f"{chosen} {first}..{last} cfg {config_fingerprint[:8]} data {data_fingerprint[:6]}"


def hyperparameters(middle: dict[str, Evaluation]) -> dict[str, Any]:
    """Each learned family's chosen hyper-parameters, one MLflow param each (``<family>.<name>``)."""
    return {
        f"{family}.{name}": value
        for family, ev in middle.items()
        if family != pipes.RULES
        for name, value in sorted(ev.extra.get("params", {}).items())
    }


def write_config_files(folder: Path, config_dir: str | Path | None) -> str:
    """Copy every configuration file training read (the council's copy or the default) into
    ``folder``; return the SHA-256 over their names and bytes (the first 16 hex digits).

    Configuration holds no personal data: sources, thresholds, points, settings.
    """
    import hashlib
    import shutil

    from early_warning.config import file_path

    digest = hashlib.sha256()
    for name in CONFIG_FILES:
        path = file_path(name, config_dir)
        if path.exists():
            shutil.copyfile(path, folder / name)
            digest.update(name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _report_scores(scored: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per (person, report snapshot): locality, label and every scorer's score (no features)."""
    names = list(scored)
    base = scored[names[0]].select("person_id", "snapshot", "locality", LABEL)
    return base.with_columns(*[scored[name]["score"].alias(name) for name in names])
