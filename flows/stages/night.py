"""The night a stage works on: where its files are, and the configuration it runs under.

Every stage takes a :class:`Night` and finds its inputs and outputs through
``night.run`` (:class:`early_warning.paths.RunPaths`, the one catalogue of a
night's files), so stages pass only this small, picklable value between
Prefect tasks and Dask workers, never frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from early_warning.config import Config
from early_warning.paths import RunPaths


@dataclass(frozen=True)
class Night:
    """Everything a stage needs to find its inputs: the night, the home and the configuration."""

    home: Path
    as_of: date
    config: Config
    config_dir: Path | None = None

    @property
    def run(self) -> RunPaths:
        return RunPaths(home=self.home, as_of=self.as_of)
