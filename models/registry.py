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
#: Type prefixes a skops-saved model may contain; anything else is saved with cloudpickle.
_SKOPS_TRUSTED_PREFIXES: tuple[str, ...] = ("sklearn.", "models.", "numpy.", "scipy.")


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


def _serialization(model: Any) -> dict[str, Any]:
    """skops with the model's own (sklearn/models) types trusted; cloudpickle otherwise."""
    try:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(data=sio.dumps(model))
    except Exception:
        return {"serialization_format": "cloudpickle"}
    if all(t.startswith(_SKOPS_TRUSTED_PREFIXES) for t in untrusted):
        return {"serialization_format": "skops", "skops_trusted_types": untrusted}
    return {"serialization_format": "cloudpickle"}


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "pandas", "scipy", "skops", "polars")]


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

    def log_trial(self, name: str, params: dict[str, Any], metrics: dict[str, float]) -> None:
        """A hyper-parameter search trial as a nested run (middle-period metrics only)."""
        with self.mlflow.start_run(experiment_id=self.experiment_id, run_name=name, nested=True):
            self.mlflow.log_params({k: str(v) for k, v in params.items()})
            self.mlflow.log_metrics(_finite(metrics))

    def log_artifacts(self, folder: Path) -> None:
        self.mlflow.log_artifacts(str(folder))

    def register_model(self, model: Any, input_example: pd.DataFrame, description: str) -> str:
        """Log the fitted pipeline with its signature and register it as a new version."""
        from mlflow.models import infer_signature

        signature = infer_signature(input_example, model.predict_proba(input_example))
        with warnings.catch_warnings():
            # MLflow warns that the sklearn wrapper's ``Any`` type hints are not validated;
            # the explicit signature above is what is enforced.
            warnings.filterwarnings("ignore", message=".*type hint.*", category=UserWarning)
            info = self.mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                input_example=input_example,
                pip_requirements=_pip_requirements(),
                registered_model_name=self.settings.registered_model_name,
                **_serialization(model),
            )
        version = str(info.registered_model_version)
        client = self.mlflow.MlflowClient()
        client.update_model_version(self.settings.registered_model_name, version, description=description)
        return version

    def set_alias(self, alias: str, version: str, reason: str) -> None:
        client = self.mlflow.MlflowClient()
        name = self.settings.registered_model_name
        client.set_registered_model_alias(name, alias, version)
        client.set_model_version_tag(name, version, "decision", alias)
        client.set_model_version_tag(name, version, "decision_reason", reason[:5000])
        self.mlflow.set_tags({"decision": alias, "decision_reason": reason[:5000], "model_version": version})


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

    Loads ``models:/<name>@champion`` as the scikit-learn object itself (no pyfunc
    schema enforcement), so ``predict_proba`` takes the nightly feature table as a
    pandas frame; the pipeline picks its own columns. Load once per night.
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
    model = mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
    return Champion(model=model, version=str(version.version), name=name, run_id=version.run_id or None)


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


def promote_model(
    home: str | Path,
    version: str | int,
    settings: TrainingSettings,
    *,
    reason: str,
    by: str,
) -> None:
    """Make ``version`` the champion: a person's decision, recorded with who, when and why.

    The champion gate's own decision (``decision``, ``decision_reason``) stays on
    the version as it was; the promotion is added beside it (``promoted_by``,
    ``promoted_reason``, ``promoted_at``), so a reader sees both what the gate
    said and why a person overruled or confirmed it.

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
    client.set_registered_model_alias(name, CHAMPION, version)
    if CHALLENGER in _aliases_by_version(client, name).get(version, []):
        client.delete_registered_model_alias(name, CHALLENGER)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    client.set_model_version_tag(name, version, "promoted_by", by[:200])
    client.set_model_version_tag(name, version, "promoted_reason", reason.strip()[:5000])
    client.set_model_version_tag(name, version, "promoted_at", when)


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
