"""Where Splink runs: DuckDB inside this process, or Spark.

:mod:`features.linkage.splink_runner` trains and predicts the same way on either;
an :class:`Engine` is what differs - it holds the night's tables, hands
Splink its database API, and brings back only the columns asked for (ids,
comparison levels and weights), so names and dates stay in the engine.
``linkage.yaml``'s ``backend`` chooses one; Spark is imported only when
chosen, so a DuckDB-only install needs no pyspark.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from splink import DuckDBAPI

from features.linkage.settings import Backend, LinkageSettings


class Engine(ABC):
    """One scoring call's database: Splink's API plus loading and fetching."""

    backend: Backend
    db_api: Any

    @abstractmethod
    def load(self, frame: pl.DataFrame, name: str) -> Any:
        """Copy ``frame`` into the engine as table ``name``; return it as Splink's table."""

    @abstractmethod
    def column_names(self, table: Any) -> list[str]:
        """Columns of a Splink table, without fetching any rows."""

    @abstractmethod
    def fetch(self, table: Any, columns: Sequence[str]) -> pl.DataFrame:
        """Only ``columns`` of a Splink table, as a polars frame."""


class DuckDBEngine(Engine):
    """An in-memory DuckDB database, sized by ``duckdb_threads`` and ``duckdb_memory_limit``."""

    backend: Backend = "duckdb"

    def __init__(self, settings: LinkageSettings) -> None:
        self.con = duckdb.connect()
        self.con.execute(f"SET threads = {int(settings.duckdb_threads)}")
        self.con.execute("SET memory_limit = ?", [settings.duckdb_memory_limit])
        self.con.execute("SET preserve_insertion_order = false")
        self.db_api = DuckDBAPI(self.con)

    def load(self, frame: pl.DataFrame, name: str) -> Any:
        self.con.register("_arrow_in", frame.to_arrow())
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow_in")
        self.con.unregister("_arrow_in")
        return self.db_api.register(name)

    def column_names(self, table: Any) -> list[str]:
        return [row[0] for row in self.con.sql(f"DESCRIBE {table.physical_name}").fetchall()]

    def fetch(self, table: Any, columns: Sequence[str]) -> pl.DataFrame:
        query = f"SELECT {', '.join(columns)} FROM {table.physical_name}"
        frame = pl.from_arrow(self.con.sql(query).to_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def close(self) -> None:
        self.con.close()


@contextlib.contextmanager
def open_engine(settings: LinkageSettings, work_dir: str | Path | None = None) -> Iterator[Engine]:
    """The engine ``settings.backend`` names, closed (and its temporary data deleted) on exit.

    Args:
        settings: linkage settings (backend and its resources).
        work_dir: a folder for Spark's temporary data when ``spark_temp_dir``
            is not set (e.g. the run's folder); unused by DuckDB, which keeps
            everything in memory.
    """
    if settings.backend == "spark":
        from features.linkage.spark_backend import spark_engine

        with spark_engine(settings, work_dir) as engine:
            yield engine
        return
    duck = DuckDBEngine(settings)
    try:
        yield duck
    finally:
        duck.close()
