"""Splink's Spark backend: the session, its settings, and where temporary data goes.

Used when ``linkage.yaml`` says ``backend: spark`` (docs/linkage-on-spark.md).
It needs the ``spark`` extra (pyspark 4) and Java 17; nothing is downloaded:

- Splink's Scala similarity functions (``damerau_levenshtein`` and others)
  come from the jar inside the splink wheel, passed as ``spark.jars``, so
  neither Ivy nor Maven is asked for anything;
- DuckDB's Jaro-Winkler, which the model and the blocking rules use, is
  created in the session as Spark SQL (:mod:`features.linkage.spark_sql`);
- a local session binds to 127.0.0.1 and has no web UI.

Splink's intermediate tables hold names, dates of birth and addresses. They
are written under a private folder made for the run (``spark_temp_dir``, or
the run's folder, or the system's temporary folder) and deleted when
scoring ends, whether it succeeded or not. On a cluster that folder is in
the cluster's storage, which must therefore be the council's own.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from pyspark.sql import SparkSession
from splink.backends.spark import SparkAPI, similarity_jar_location

from features.linkage.engines import Engine
from features.linkage.settings import Backend, LinkageSettings
from features.linkage.spark_sql import register_duckdb_functions

logger = logging.getLogger(__name__)

#: Splink's Scala function the model needs; present only if the jar is loaded.
_JAR_FUNCTION = "damerau_levenshtein"


def _is_local(master: str) -> bool:
    return master.startswith("local")


def _is_uri(path: str) -> bool:
    """A cluster file system URI (hdfs://, s3a://, abfss://, ...), not a local path."""
    return "://" in path and not path.startswith("file://")


def session_config(settings: LinkageSettings, local_dir: Path) -> dict[str, str]:
    """Spark settings for a new session; ``settings.spark_config`` is applied last and wins
    (except that ``spark.jars`` there is added to Splink's jar).

    ``local_dir`` holds the driver's spill files and (in local mode) the
    executors' too. A local master gets the offline settings: bound to
    127.0.0.1, no web UI.
    """
    conf = {
        "spark.app.name": "early-warning-linkage",
        "spark.master": settings.spark_master,
        "spark.jars": similarity_jar_location(),
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(settings.spark_shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": str(local_dir / "warehouse"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.local.dir": str(local_dir / "spill"),
    }
    if _is_local(settings.spark_master):
        conf |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.pyspark.python": sys.executable,
        }
    for key, value in settings.spark_config.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        # Extra jars are added to Splink's, never instead of it.
        conf[key] = f"{conf['spark.jars']},{text}" if key == "spark.jars" else text
    return conf


def start_session(settings: LinkageSettings, local_dir: str | Path) -> SparkSession:
    """A new Spark session configured by :func:`session_config`; the caller stops it.

    If a session is already running in this process, Spark returns it and
    ignores settings that only apply at start (master, jars, memory).
    """
    builder: Any = SparkSession.builder
    for key, value in session_config(settings, Path(local_dir)).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextlib.contextmanager
def _session(settings: LinkageSettings, local_dir: Path) -> Iterator[SparkSession]:
    """The active session if there is one (a notebook's, a test's, Databricks'), else a new one.

    A session this function started is stopped on exit; someone else's is
    left running, as found.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    spark = start_session(settings, local_dir)
    try:
        yield spark
    finally:
        spark.stop()


@contextlib.contextmanager
def _run_folders(settings: LinkageSettings, work_dir: str | Path | None) -> Iterator[tuple[Path, str]]:
    """(local folder, checkpoint folder or URI) private to this run, deleted afterwards.

    The local folder holds spill files; Splink's intermediate tables go to
    the checkpoint folder, which is ``spark_temp_dir`` when that is a
    cluster URI (the caller deletes it through Spark, which can reach it).
    """
    base = settings.spark_temp_dir
    if base is not None and base.startswith("file://"):
        base = base.removeprefix("file://")
    parent = base if base is not None and not _is_uri(base) else work_dir
    if parent is not None:
        Path(parent).mkdir(parents=True, exist_ok=True)
    local = Path(tempfile.mkdtemp(prefix="early-warning-linkage-", dir=parent))  # mode 0700
    try:
        if base is not None and _is_uri(base):
            yield local, f"{base.rstrip('/')}/early-warning-linkage-{uuid.uuid4().hex}"
        else:
            yield local, str(local / "checkpoints")
    finally:
        shutil.rmtree(local, ignore_errors=True)


def _delete(spark: SparkSession, path: str) -> None:
    """Delete a folder through Spark's file system layer (local, HDFS, S3, ...)."""
    jvm: Any = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(hadoop_path, True)


class _ArrowSparkAPI(SparkAPI):
    """Splink's SparkAPI, handing Spark small Python tables as Arrow.

    Splink registers a few small tables as Python lists of records (u and
    EM counts); Spark turns such a list into rows only in a Python worker
    process, which on a cluster would need Python on every executor. As an
    Arrow table the same rows are read by the JVM alone, so executors need
    only Java.
    """

    def _table_registration(self, input: Any, table_name: str) -> None:
        if isinstance(input, list) and input and all(isinstance(row, dict) for row in input):
            input = pa.Table.from_pylist(input)
        super()._table_registration(input, table_name)


class SparkEngine(Engine):
    """Splink's SparkAPI over one session, with the night's tables as temporary views."""

    backend: Backend = "spark"

    def __init__(self, spark: SparkSession, settings: LinkageSettings, checkpoint_dir: str) -> None:
        self.spark = spark
        self._views_before = self._temp_views()
        spark.conf.set("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        spark.sparkContext.setCheckpointDir(checkpoint_dir)
        register_duckdb_functions(spark)
        self.db_api = _ArrowSparkAPI(
            spark_session=spark,
            break_lineage_method=settings.spark_break_lineage,
            num_partitions_on_repartition=settings.spark_shuffle_partitions,
        )
        if not spark.catalog.functionExists(_JAR_FUNCTION):
            raise RuntimeError(
                "Splink's similarity jar is not loaded in this Spark session: start it with "
                f"spark.jars={similarity_jar_location()} (see docs/linkage-on-spark.md)"
            )

    def _temp_views(self) -> set[str]:
        return {t.name for t in self.spark.catalog.listTables() if t.isTemporary}

    def load(self, frame: pl.DataFrame, name: str) -> Any:
        # Arrow as Spark reads it: plain (not view) strings.
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        self.spark.createDataFrame(arrow).persist().createOrReplaceTempView(name)
        return self.db_api.register(name)

    def column_names(self, table: Any) -> list[str]:
        return list(self.spark.table(table.physical_name).columns)

    def fetch(self, table: Any, columns: Sequence[str]) -> pl.DataFrame:
        frame = pl.from_arrow(self.spark.table(table.physical_name).select(*columns).toArrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def close(self) -> None:
        """Drop (and uncache) every temporary view made since this engine started."""
        for name in self._temp_views() - self._views_before:
            self.spark.catalog.dropTempView(name)


@contextlib.contextmanager
def spark_engine(settings: LinkageSettings, work_dir: str | Path | None = None) -> Iterator[SparkEngine]:
    """A :class:`SparkEngine` for one scoring call; its tables and folders are gone on exit."""
    with _run_folders(settings, work_dir) as (local, checkpoints), _session(settings, local) as spark:
        engine = SparkEngine(spark, settings, checkpoints)
        try:
            yield engine
        finally:
            engine.close()
            try:
                _delete(spark, checkpoints)
            except Exception:  # the folder's path is not personal data; its contents are
                logger.warning("could not delete Spark's temporary folder %s: delete it by hand", checkpoints)
