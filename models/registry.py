"""MLflow tracking and the model registry - the ONLY module that imports mlflow.

``import mlflow`` costs seconds, so it happens inside the functions here,
never at import time; ``from models.registry import load_champion`` is cheap.

Everything lives under the project's home: the tracking store is
``sqlite:///<home>/mlflow/mlflow.db`` and artefacts go to
``<home>/mlflow/artifacts`` (the experiment's explicit artifact location).
One registered model (``registered_model_name``, default "early-warning")
holds every version; the alias ``champion`` is what the nightly run loads,
``challenger`` marks the latest version that did not replace it. Stages are
not used (deprecated in MLflow 3).

Nothing personal is logged: parameters, metrics and tags are aggregate;
artefacts are aggregate tables, plots, the feature list and the model card;
the model's input example is one row of training medians, not a person.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, NamedTuple

import pandas as pd

from models.training_settings import TrainingSettings

CHAMPION = "champion"
CHALLENGER = "challenger"
KEY_METRICS: tuple[str, ...] = (
    "precision_at_capacity",
    "recall_at_capacity",
    "pr_auc",
    "brier",
    "lead_time_median_days",
    "fairness_gap",
    "fairness_gap_sex",
    "fairness_gap_ethnicity",
    "fairness_gap_age_band",
    "lift_over_best_baseline",
)
#: The models-from-code file MLflow copies into every version: the pyfunc wrapper (no project imports).
PYFUNC_CODE = Path(__file__).with_name("pyfunc_score.py")
#: The artefact holding the fitted pipeline (``models.pyfunc_score.PIPELINE``).
PIPELINE_ARTEFACT = "pipeline"


def tracking_uri(home: str | Path) -> str:
    return f"sqlite:///{(Path(home) / 'mlflow' / 'mlflow.db').resolve()}"


def artifact_location(home: str | Path) -> str:
    return (Path(home) / "mlflow" / "artifacts").resolve().as_uri()


def _mlflow(home: str | Path) -> ModuleType:
    """mlflow, offline, pointed at this home's store."""
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    (Path(home) / "mlflow" / "artifacts").mkdir(parents=True, exist_ok=True)
    import mlflow

    with warnings.catch_warnings():
        # Importing mlflow.pyfunc warns about MLflow's own chat-agent type hints, once per process.
        warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType.*")
        import mlflow.pyfunc

    mlflow.set_tracking_uri(tracking_uri(home))
    mlflow.set_registry_uri(tracking_uri(home))
    return mlflow


def _experiment_id(mlflow: ModuleType, home: str | Path, name: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(mlflow.create_experiment(name, artifact_location=artifact_location(home)))


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def save_pipeline(model: Any, path: Path) -> None:
    """Pickle the fitted pipeline with the project's own transforms *by value*.

    ``models.transforms`` (numpy only) is embedded in the pickle rather than
    referenced by name, so the pipeline unpickles wherever scikit-learn and numpy
    are installed, without this project (MLflow's serving, another team's notebook).
    """
    import cloudpickle

    from models import transforms

    cloudpickle.register_pickle_by_value(transforms)
    try:
        with path.open("wb") as handle:
            cloudpickle.dump(model, handle)
    finally:
        cloudpickle.unregister_pickle_by_value(transforms)


def _signature(input_example: pd.DataFrame) -> Any:
    """Every feature by name, of any numeric type; one float output, ``score``.

    Feature columns are declared ``Any`` rather than ``double`` because MLflow's
    schema enforcement refuses int64 for a double column, and a CSV or frame of
    counts arrives as int64; the wrapper (``models.pyfunc_score``) converts every
    column to float and names any column that is not a number.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    inputs = Schema([ColSpec(AnyType(), str(column)) for column in input_example.columns])
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec("double", "score")]))


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "pandas", "scipy", "cloudpickle")]


class TrainingRun:
    """One training run (a parent MLflow run); search trials are nested runs under it."""

    def __init__(self, home: str | Path, settings: TrainingSettings, run_name: str) -> None:
        self.home = Path(home)
        self.settings = settings
        self.mlflow = _mlflow(home)
        self.experiment_id = _experiment_id(self.mlflow, home, settings.experiment_name)
        self._run = self.mlflow.start_run(experiment_id=self.experiment_id, run_name=run_name)
        self.run_id: str = self._run.info.run_id

    def __enter__(self) -> TrainingRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.mlflow.end_run(status="FAILED" if kind is not None else "FINISHED")

    def log_params(self, params: dict[str, Any]) -> None:
        self.mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})

    def log_metrics(self, metrics: dict[str, float]) -> None:
        self.mlflow.log_metrics(_finite(metrics))

    def set_tags(self, tags: dict[str, str]) -> None:
        self.mlflow.set_tags(tags)

    def rename(self, name: str) -> None:
        """Give the run its telling name once the chosen model is known."""
        self.mlflow.MlflowClient().update_run(self.run_id, name=name[:250])

    def log_trial(self, name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        """A hyper-parameter search trial as a nested run.

        Its metrics are middle-period metrics, logged as ``middle.<metric>`` so they are
        never mistaken for (or compared with) the parent's held-out report-period keys.
        """
        tags = {"run.kind": "trial", "period": "middle"}
        with self.mlflow.start_run(experiment_id=self.experiment_id, run_name=name, nested=True, tags=tags):
            self.mlflow.log_params({k: str(v) for k, v in params.items()})
            self.mlflow.log_metrics(_finite({f"middle.{k}": v for k, v in metrics.items()}))

    def log_scorer(self, name: str, metrics: dict[str, float], period: str = "report") -> None:
        """One scorer's metrics as a nested run under their plain keys (``precision_at_capacity``, ...).

        The champion, the challenger, the rules score and every naive baseline each get
        one such child run, so MLflow's compare view lines the same key up across them
        (and across training runs); the parent keeps ``report.<scorer>.<metric>`` too.
        """
        tags = {"scorer": name, "period": period, "run.kind": "scorer"}
        with self.mlflow.start_run(
            experiment_id=self.experiment_id, run_name=f"{period}: {name}", nested=True, tags=tags
        ):
            self.mlflow.log_metrics(_finite(metrics))

    def attach_model_card(self, version: str, card: str) -> None:
        """The model card naming its own version: the run's ``model_card.md`` and the version's description.

        MLflow shows a version's description (markdown) on the version's page; a
        description holds at most 5,000 characters, so a longer card is cut there with a
        pointer to the full file.
        """
        self.mlflow.log_text(card, "model_card.md")
        if len(card) > 5000:
            pointer = f"\n\n... the full card is model_card.md in run {self.run_id}."
            card = card[: 5000 - len(pointer)] + pointer
        client = self.mlflow.MlflowClient()
        client.update_model_version(self.settings.registered_model_name, version, description=card)
        client.set_model_version_tag(
            self.settings.registered_model_name, version, "model_card", f"runs:/{self.run_id}/model_card.md"
        )

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        self.mlflow.log_artifacts(str(folder), artifact_path=artifact_path)

    def log_extracts(self, extracts_dir: Path, fingerprint: str) -> None:
        """The extracts as the run's MLflow dataset input (name ``extracts``, context ``training``).

        The source is the extracts folder; the digest is the data fingerprint
        (``models.provenance.extracts_fingerprint``) cut to the 36 characters MLflow's
        store allows, the full SHA-256 is the input's ``data.fingerprint`` tag. Only the
        folder's path and the digest are logged, never a row.
        """
        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset

        with warnings.catch_warnings():
            # MLflow registers its local-files source twice (for "" and "file:"); either is this folder.
            warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
            source = resolve_dataset_source(str(Path(extracts_dir).resolve()))
        dataset = MetaDataset(source=source, name="extracts", digest=fingerprint[:36])  # type: ignore[abstract]
        self.mlflow.log_input(dataset, context="training", tags={"data.fingerprint": fingerprint})

    def register_model(self, model: Any, input_example: pd.DataFrame, description: str) -> str:
        """Log the fitted pipeline as a pyfunc model that scores 0-1, and register it as a new version.

        The version works wherever MLflow runs: ``mlflow.pyfunc.load_model`` (or ``mlflow
        models predict/serve``) gives the positive-class probability per row
        (``models.pyfunc_score``), without this project installed.
        """
        import tempfile

        with tempfile.TemporaryDirectory(prefix="early-warning-model-") as tmp:
            pipeline = Path(tmp) / "pipeline.pkl"
            save_pipeline(model, pipeline)
            info = self.mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_CODE),
                artifacts={PIPELINE_ARTEFACT: str(pipeline)},
                signature=_signature(input_example),
                input_example=input_example,
                pip_requirements=_pip_requirements(),
                registered_model_name=self.settings.registered_model_name,
            )
        version = str(info.registered_model_version)
        client = self.mlflow.MlflowClient()
        client.update_model_version(self.settings.registered_model_name, version, description=description)
        return version

    def set_alias(self, alias: str, version: str, reason: str) -> None:
        """The champion gate's decision: the alias moves, and both versions' histories say so.

        ``decision`` and ``decision_reason`` are the gate's and are never changed
        afterwards; a person's later promotion or rollback is appended as a history event.
        """
        client = self.mlflow.MlflowClient()
        name = self.settings.registered_model_name
        client.set_model_version_tag(name, version, "decision", alias)
        client.set_model_version_tag(name, version, "decision_reason", reason[:5000])
        move_alias(
            client,
            name,
            alias,
            version,
            action="registered",
            by=f"champion gate (training run {self.run_id})",
            reason=reason,
        )
        self.mlflow.set_tags({"decision": alias, "decision_reason": reason[:5000], "model_version": version})

    def set_version_tags(self, version: str, tags: dict[str, str]) -> None:
        client = self.mlflow.MlflowClient()
        for key, value in tags.items():
            client.set_model_version_tag(self.settings.registered_model_name, version, key, value[:5000])


def start_training_run(home: str | Path, settings: TrainingSettings, run_name: str) -> TrainingRun:
    return TrainingRun(home, settings, run_name)


def _client(home: str | Path) -> Any:
    return _mlflow(home).MlflowClient()


def _has_model(client: Any, name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        return False
    return True


def _aliases_by_version(client: Any, name: str) -> dict[str, list[str]]:
    """version -> aliases (search results do not always carry aliases; the registered model does)."""
    out: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        out.setdefault(str(version), []).append(alias)
    return out


class Champion(NamedTuple):
    """The champion as the night loads it: the pipeline, and what names it in full."""

    model: Any
    version: str
    name: str
    run_id: str | None


def load_champion(home: str | Path, settings: TrainingSettings) -> Champion | None:
    """The champion of the council's registered model (``settings.registered_model_name``,
    from its ``training.yaml``), or None when no champion is registered.

    Loads the fitted scikit-learn pipeline of ``models:/<name>@champion`` (through
    the pyfunc wrapper, without its schema enforcement), so ``predict_proba`` takes
    the nightly feature table as a pandas frame; the pipeline picks its own columns.
    Load once per night.
    """
    name = settings.registered_model_name
    if not (Path(home) / "mlflow" / "mlflow.db").exists():
        return None
    mlflow = _mlflow(home)
    client = mlflow.MlflowClient()
    if not _has_model(client, name):
        return None
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None
    model = _load_pipeline(mlflow, f"models:/{name}@{CHAMPION}")
    return Champion(model=model, version=str(version.version), name=name, run_id=version.run_id or None)


def _load_pipeline(mlflow: ModuleType, uri: str) -> Any:
    """The fitted scikit-learn pipeline of a version: the pyfunc wrapper's, or (versions
    registered before the wrapper) the scikit-learn flavour's."""
    from mlflow.models import Model

    flavours = Model.load(uri).flavors
    if "sklearn" in flavours:
        return mlflow.sklearn.load_model(uri)
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().pipeline


def list_models(home: str | Path, settings: TrainingSettings) -> list[dict[str, Any]]:
    """Every registered version of the council's model, oldest first: aliases, decision and
    key report-period metrics."""
    if not (Path(home) / "mlflow" / "mlflow.db").exists():
        return []
    client = _client(home)
    name = settings.registered_model_name
    if not _has_model(client, name):
        return []
    aliases = _aliases_by_version(client, name)
    out = []
    for mv in client.search_model_versions(f"name='{name}'"):
        metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
        params = client.get_run(mv.run_id).data.params if mv.run_id else {}
        out.append(
            {
                "version": str(mv.version),
                "aliases": sorted(aliases.get(str(mv.version), [])),
                "model": params.get("chosen_model"),
                "trained_as_of": params.get("as_of"),
                "created": time.strftime("%Y-%m-%d %H:%M", time.gmtime(mv.creation_timestamp / 1000)),
                "decision": mv.tags.get("decision"),
                "reason": mv.tags.get("decision_reason"),
                "promoted": (
                    f"by {mv.tags['promoted_by']} on {mv.tags.get('promoted_at', '?')}: {mv.tags['promoted_reason']}"
                    if mv.tags.get("promoted_reason")
                    else None
                ),
                "run_id": mv.run_id,
                "metrics": {k: metrics[k] for k in KEY_METRICS if k in metrics},
            }
        )
    return sorted(out, key=lambda row: int(row["version"]))


#: Version tags ``history.0001``, ``history.0002``, ...: one per alias change, never rewritten.
HISTORY_PREFIX = "history."


def _now() -> str:
    """UTC to the millisecond, so events a second apart (or less) still sort in order."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def _append_event(client: Any, name: str, version: str, event: dict[str, str]) -> None:
    """Add the next ``history.NNNN`` tag to ``version`` (earlier events are left as they are)."""
    tags = client.get_model_version(name, version).tags
    number = 1 + sum(1 for key in tags if key.startswith(HISTORY_PREFIX))
    client.set_model_version_tag(name, version, f"{HISTORY_PREFIX}{number:04d}", json.dumps(event)[:5000])


def _holder(client: Any, name: str, alias: str) -> str | None:
    return {a: str(v) for a, v in client.get_registered_model(name).aliases.items()}.get(alias)


def move_alias(
    client: Any, name: str, alias: str, version: str, *, action: str, by: str, reason: str
) -> str | None:
    """Point ``alias`` at ``version``; append the change to the history of both versions.

    Returns the version that held the alias before (None if none). The event on the
    new holder says who, when, why and what it replaced; the former holder gets an
    event saying the alias left it, for which version, and why.
    """
    before = _holder(client, name, alias)
    if before == version:
        return before
    client.set_registered_model_alias(name, alias, version)
    event = {"at": _now(), "alias": alias, "action": action, "by": by[:200], "reason": reason[:3000]}
    _append_event(client, name, version, event | {"change": "set", "replaced": before or ""})
    if before is not None:
        _append_event(client, name, before, event | {"change": "removed", "moved_to": version})
    return before


def alias_history(home: str | Path, settings: TrainingSettings) -> list[dict[str, str]]:
    """Every alias change of the council's model, oldest first (from the versions' history tags).

    An alias moving from one version to another is one event (on the version it moved
    to, naming the one it ``replaced``); an alias deleted outright (the challenger alias
    when its version is promoted) is an event with ``change`` "removed"; a person
    confirming the version that is already champion is ``change`` "confirmed".
    """
    if not (Path(home) / "mlflow" / "mlflow.db").exists():
        return []
    client = _client(home)
    name = settings.registered_model_name
    if not _has_model(client, name):
        return []
    events = []
    for mv in client.search_model_versions(f"name='{name}'"):
        for key, value in mv.tags.items():
            if not key.startswith(HISTORY_PREFIX):
                continue
            event = json.loads(value)
            if event.get("change") == "set" or not event.get("moved_to"):
                events.append({"version": str(mv.version), "key": key, **event})
    return sorted(events, key=lambda e: (e["at"], int(e["version"]), e["key"]))


def registered_identical(home: str | Path, settings: TrainingSettings, training_key: str) -> str | None:
    """The version already trained on the same data, configuration and code, or None."""
    if not (Path(home) / "mlflow" / "mlflow.db").exists():
        return None
    client = _client(home)
    name = settings.registered_model_name
    if not _has_model(client, name):
        return None
    same = [
        str(mv.version)
        for mv in client.search_model_versions(f"name='{name}'")
        if mv.tags.get("training.key") == training_key
    ]
    return min(same, key=int) if same else None


def promote_model(
    home: str | Path,
    version: str | int,
    settings: TrainingSettings,
    *,
    reason: str,
    by: str,
) -> dict[str, str]:
    """Make ``version`` the champion: a person's decision, recorded with who, when and why.

    The champion gate's own decision (``decision``, ``decision_reason``) stays on
    the version as it was; the promotion is added beside it (``promoted_by``,
    ``promoted_reason``, ``promoted_at``, the latest promotion), so a reader sees
    both what the gate said and why a person overruled or confirmed it; and every
    promotion or rollback is appended to both versions' history (``history.NNNN``
    tags, :func:`alias_history`), never overwriting an earlier one.

    Promoting the version that is already champion records a confirmation (the
    alias stays). Returns what changed (model, version, previous champion, action
    - promoted, rolled back or confirmed - and time), for the project's audit log.

    Raises:
        ValueError: no such version, or no reason given.
    """
    if not reason.strip():
        raise ValueError("say why: a promotion needs a reason (--reason TEXT), which the registry keeps")
    client = _client(home)
    name = settings.registered_model_name
    known = (
        {str(mv.version): mv for mv in client.search_model_versions(f"name='{name}'")}
        if _has_model(client, name)
        else {}
    )
    version = str(version)
    if version not in known:
        raise ValueError(f"no version {version} of {name!r}; versions: {', '.join(sorted(known)) or 'none'}")
    before = _holder(client, name, CHAMPION)
    if before == version:
        # A person confirming the gate's (or an earlier) choice: recorded, the alias stays.
        action = "confirmed"
        _append_event(
            client,
            name,
            version,
            {"at": _now(), "alias": CHAMPION, "action": action, "by": by[:200], "change": "confirmed",
             "reason": reason.strip()[:3000]},
        )  # fmt: skip
    else:
        action = "rolled back" if before is not None and int(version) < int(before) else "promoted"
        move_alias(client, name, CHAMPION, version, action=action, by=by, reason=reason.strip())
    if _holder(client, name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
        _append_event(
            client,
            name,
            version,
            {"at": _now(), "alias": CHALLENGER, "action": action, "by": by[:200], "change": "removed",
             "reason": "became the champion"},
        )  # fmt: skip
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    # The latest promotion, for the night's summary; the full record is the history events.
    client.set_model_version_tag(name, version, "promoted_by", by[:200])
    client.set_model_version_tag(name, version, "promoted_reason", reason.strip()[:5000])
    client.set_model_version_tag(name, version, "promoted_at", when)
    return {"model": name, "version": version, "previous": before or "", "action": action, "at": when}


def scorer_in_use(home: str | Path, settings: TrainingSettings) -> tuple[str, str]:
    """(what scores tonight, why) in plain words, for the night's summary and the Prefect artefact,
    for the council's registered model (``settings.registered_model_name``).

    Cheap when nothing was ever trained (no MLflow import).
    """
    name = settings.registered_model_name
    if not (Path(home) / "mlflow" / "mlflow.db").exists():
        return "the transparent rules score", "no model has been trained"
    client = _client(home)
    if not _has_model(client, name):
        return "the transparent rules score", "no model has been registered"
    from mlflow.exceptions import MlflowException

    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        versions = client.search_model_versions(f"name='{name}'")
        latest = max(versions, key=lambda mv: int(mv.version), default=None)
        why = "no learned model has passed the champion gate"
        if latest is not None and latest.tags.get("decision_reason"):
            why += f" (latest, version {latest.version}: {latest.tags['decision_reason'].rstrip('.')})"
        return "the transparent rules score", why
    tags = champion.tags
    what = f"model {name} version {champion.version} (run {champion.run_id})"
    if tags.get("promoted_reason"):
        return (
            what,
            f"promoted by {tags.get('promoted_by', '?')} on {tags.get('promoted_at', '?')}: {tags['promoted_reason']}",
        )
    return what, tags.get("decision_reason", "champion")
