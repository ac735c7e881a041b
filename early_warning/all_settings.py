"""Every configuration file of a council's folder, loaded and checked together.

Each package reads its own file through the one loader
(:func:`early_warning.config.load_file`: defaults overridden key by key, one
error format), but only this module loads *all ten* - the six of
:func:`early_warning.config.load_config` plus ``linkage.yaml``,
``training.yaml``, ``rules_score.yaml`` and the review app's
``review_app.yaml`` - so ``early-warning
config-check`` can say a folder is valid only when every file the night and
training will read is. Problems in several files are reported together, each
naming its file, key and what was expected.

Example:
    >>> settings = load_all()
    >>> sorted(settings.files)[:3]
    ['linkage.yaml', 'localities.yaml', 'mappings.yaml']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from early_warning.config import Config, ConfigError, file_path, load_config
from features.linkage.settings import LINKAGE_FILE, LinkageSettings, load_linkage_settings
from models.rules_score import RULES_FILE, RulesTable, load_rules_table
from models.training_settings import TRAINING_FILE, TrainingSettings, load_training_settings
from review_ui.web.client_address import REVIEW_APP_FILE, ReviewAppFile, load_review_app_settings

#: The files :func:`early_warning.config.load_config` reads.
CORE_FILES = (
    "sources.yaml",
    "mappings.yaml",
    "thresholds.yaml",
    "localities.yaml",
    "routing.yaml",
    "wording.yaml",
)


@dataclass(frozen=True)
class AllSettings:
    """The validated contents of every configuration file, and where each was read from."""

    config: Config
    linkage: LinkageSettings
    training: TrainingSettings
    rules: RulesTable
    review_app: ReviewAppFile
    #: file name -> the path read (the council's copy, or the default).
    files: dict[str, Path]


def load_all(config_dir: str | Path | None = None) -> AllSettings:
    """Load and cross-check all ten configuration files.

    Raises:
        ConfigError: every problem found, one line each (file, key, expected).
    """
    problems: list[str] = []

    def attempt(load: Callable[[], Any]) -> Any:
        try:
            return load()
        except ConfigError as error:
            problems.append(str(error))
            return None

    if config_dir is not None and not Path(config_dir).is_dir():
        raise ConfigError(f"{config_dir}: configuration folder not found")
    config = attempt(lambda: load_config(config_dir))
    linkage = attempt(lambda: load_linkage_settings(config_dir))
    training = attempt(lambda: load_training_settings(config_dir))
    # The points table is checked against the features this configuration makes, when it loaded.
    rules = attempt(lambda: load_rules_table(config_dir, config))
    review_app = attempt(lambda: load_review_app_settings(config_dir))
    if config is not None and linkage is not None:
        unknown = [s for s in linkage.one_record_per_person if s not in config.sources]
        if unknown:
            problems.append(
                f"{file_path(LINKAGE_FILE, config_dir)}: one_record_per_person: no source called "
                f"{', '.join(map(repr, unknown))}; expected some of {', '.join(config.sources)}"
            )
    if config is not None and review_app is not None:
        problems.extend(_unknown_involvements(review_app, config, config_dir))
    if problems:
        raise ConfigError("\n".join(problems))
    names = (*CORE_FILES, LINKAGE_FILE, TRAINING_FILE, RULES_FILE, REVIEW_APP_FILE)
    return AllSettings(
        config=config,
        linkage=linkage,
        training=training,
        rules=rules,
        review_app=review_app,
        files={name: file_path(name, config_dir) for name in sorted(names)},
    )


def _unknown_involvements(
    review_app: ReviewAppFile, config: Config, config_dir: str | Path | None
) -> list[str]:
    """review_app.yaml's ``involvement_open_days`` names only sources and event types sources.yaml has."""
    problems = []
    where = f"{file_path(REVIEW_APP_FILE, config_dir)}: involvement_open_days"
    for source, kinds in review_app.involvement_open_days.items():
        spec = config.sources.get(source)
        if spec is None:
            problems.append(
                f"{where}: no source called {source!r}; expected one of {', '.join(config.sources)}"
            )
            continue
        known = {t for role in ("service", "crisis", "signal") for t in getattr(spec.events, role)}
        problems.extend(
            f"{where}.{source}: no event type {kind!r}; expected one of {', '.join(sorted(known))}"
            for kind in kinds
            if kind not in known
        )
    return problems
