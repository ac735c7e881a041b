"""The night a stage works on: where its files are, and the settings it runs under.

Every stage takes a :class:`Night` and finds its inputs and outputs through
``night.run`` (:class:`early_warning.paths.RunPaths`, the one catalogue of a
night's files), so stages pass only this small, picklable value between
Prefect tasks and Dask workers, never frames.

A night's settings are read once, when the night starts (:meth:`Night.load`,
from the council's ``--config`` folder), and travel with it: the
configuration, ``linkage.yaml``, ``training.yaml`` (which registered model
is the council's) and ``rules_score.yaml`` (the points table scored with
when no model is champion). No stage reads a configuration file itself, so
none can fall back to the built-in defaults behind the council's back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from early_warning.config import Config, load_config
from early_warning.paths import RunPaths
from features.linkage.settings import LinkageSettings, load_linkage_settings
from models.rules_score import RulesTable, load_rules_table
from models.training_settings import TrainingSettings, load_training_settings


@dataclass(frozen=True)
class Night:
    """Everything a stage needs: the night, the home and every setting the night reads."""

    home: Path
    as_of: date
    config: Config
    linkage: LinkageSettings
    training: TrainingSettings
    rules: RulesTable
    config_dir: Path | None = None
    #: Which folder the night's files are in (:class:`RunPaths` ``area``): "" the published
    #: night, as stages called on their own use; the flow builds in the staging folder.
    area: str = ""

    @classmethod
    def load(cls, home: str | Path, as_of: date, config_dir: str | Path | None = None) -> Night:
        """The night ``as_of`` under ``home``, with every setting read from ``config_dir``
        (a council's folder; None: the built-in defaults) once, here.

        Raises:
            ConfigError: naming the file, the key and what was wrong.
        """
        folder = Path(config_dir) if config_dir else None
        config = load_config(folder)
        return cls(
            home=Path(home),
            as_of=as_of,
            config=config,
            linkage=load_linkage_settings(folder),
            training=load_training_settings(folder),
            # The points table is checked against the features this configuration makes.
            rules=load_rules_table(folder, config),
            config_dir=folder,
        )

    @property
    def run(self) -> RunPaths:
        return RunPaths(home=self.home, as_of=self.as_of, area=self.area)

    def in_area(self, area: str) -> Night:
        """The same night with its files in ``area`` (``paths.STAGING``, ``paths.HELD`` or "")."""
        return replace(self, area=area)
