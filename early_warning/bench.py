"""The end-to-end benchmark: ``early-warning bench --residents N``.

It answers the on-call engineer's question "how long, and how much memory,
will tonight take on our machine?" with the product's own code: it generates
(or reuses) a synthetic borough, measures the *floor* - reading and parsing
every extract once, which no pipeline can beat - then runs each stage of the
nightly run in turn, exactly the functions the Prefect tasks call
(:mod:`flows.stages`), timing each and sampling the process's memory.
Orchestration (Prefect's own start-up and bookkeeping) is left out of the
per-stage table, but not out of the report: what a user waits for is a real
``early-warning nightly`` process from start to exit, so the bench also runs
one on the same borough (:func:`time_nightly_processes`) - a one-off night
with no Prefect server, a later night in the same home, and a night against
a running Prefect server, as ``early-warning schedule`` keeps - and reports
each one's wall time beside the seconds its own stages took.

Figures go to a JSON list (one record per run, so runs can be compared over
time) and are printed as the README's table rows.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import psutil

#: Stages in the order the nightly flow runs them.
STAGES = ("ingest", "link", "graph", "features", "thresholds", "score", "route")
MIB = 1024 * 1024


class PeakMemory:
    """Samples the resident memory of this process and its children every ``interval`` seconds.

    ``resource.getrusage`` only knows the peak since the process began; a
    sampler gives each stage its own peak, and counts helper processes (a
    Spark JVM, Dask workers) that ``getrusage`` would miss.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self._interval = interval
        self._process = psutil.Process()
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def _rss(self) -> int:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self) -> int:
        rss = self._rss()
        with self._lock:
            self._peak = max(self._peak, rss)
        return rss

    def reset(self) -> None:
        """Start a new peak from the current level."""
        with self._lock:
            self._peak = 0
        self.sample()

    @property
    def peak_mib(self) -> float:
        with self._lock:
            return self._peak / MIB

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class StageFigure:
    """One stage of one night: wall and CPU seconds, peak memory, and what it reported."""

    stage: str
    seconds: float
    cpu_seconds: float
    peak_mib: float
    summary: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _measured(memory: PeakMemory, figures: list[StageFigure], stage: str) -> Iterator[dict[str, Any]]:
    memory.reset()
    holder: dict[str, Any] = {}
    cpu = time.process_time()
    started = time.perf_counter()
    yield holder
    figures.append(
        StageFigure(
            stage=stage,
            seconds=round(time.perf_counter() - started, 2),
            cpu_seconds=round(time.process_time() - cpu, 2),
            peak_mib=round(memory.peak_mib, 1),
            summary=holder.get("summary", {}),
        )
    )


# --- the borough -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Borough:
    """A generated synthetic borough: where its extracts are and the night they were taken."""

    root: Path
    residents: int
    years: int
    seed: int
    as_of: date
    rows: int
    generated_seconds: float | None

    @property
    def extracts(self) -> Path:
        return self.root / "extracts"


_MARKER = "bench-borough.json"


def borough(
    cache: Path, *, residents: int, years: int, seed: int, as_of: date, log: Callable[[str], None] = print
) -> Borough:
    """The borough for these parameters: reused from ``cache`` if generated before, else generated.

    Generation runs in a child process so its memory is not counted as the
    nightly run's.
    """
    root = cache / f"borough-{residents}-{years}y-seed{seed}-{as_of.isoformat()}"
    marker = root / _MARKER
    if marker.exists():
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        log(f"Reusing the borough in {root}")
        return Borough(root, residents, years, seed, as_of, int(recorded["rows"]), None)
    log(f"Generating a borough of {residents:,} residents over {years} years (seed {seed}) in {root}")
    started = time.perf_counter()
    command = [sys.executable, "-m", "early_warning.cli", "generate", "--quiet"]
    command += ["--residents", str(residents), "--years", str(years), "--seed", str(seed)]
    command += ["--as-of", as_of.isoformat(), "--out", str(root)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = round(time.perf_counter() - started, 1)
    rows = sum(_rows(path) for path in _extract_files(root / "extracts"))
    marker.write_text(json.dumps({"rows": rows, "seconds": seconds}), encoding="utf-8")
    return Borough(root, residents, years, seed, as_of, rows, seconds)


def _extract_files(extracts: Path) -> list[Path]:
    return sorted(p for p in extracts.rglob("*") if p.suffix in (".csv", ".parquet"))


def _read(path: Path) -> pl.DataFrame:
    """Parse one extract with every column as text: the least any reader must do."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def _rows(path: Path) -> int:
    return _read(path).height


# --- the floor ---------------------------------------------------------------------------------


@dataclass
class Floor:
    """Reading the night's extracts once: bytes off the disk, then parsed into columns."""

    files: int
    bytes: int
    rows: int
    read_seconds: float
    parse_seconds: float

    @property
    def seconds(self) -> float:
        return self.parse_seconds


def measure_floor(extracts: Path) -> Floor:
    """Time reading every extract's bytes, then parsing every extract (all columns as text).

    The parse is the floor the whole run is compared with: every pipeline
    has to at least turn the files into columns once. Both are measured on a
    warm page cache, as the nightly stages are.
    """
    files = _extract_files(extracts)
    started = time.perf_counter()
    size = sum(len(path.read_bytes()) for path in files)
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rows = sum(_read(path).height for path in files)
    parse_seconds = time.perf_counter() - started
    return Floor(len(files), size, rows, round(read_seconds, 2), round(parse_seconds, 2))


# --- one night -----------------------------------------------------------------------------------


#: What the stages import on first use.
_STAGE_MODULES = (
    "features.ingest",
    "features.linkage",
    "features.graph",
    "features.person_features",
    "review_ui.queue.case_files",
    "models.thresholds",
    "models.scoring",
    "models.reasons",
    "review_ui.routing",
)


def set_up_home(home: Path, config_dir: Path | None) -> float:
    """Import what the stages use and create a new home's review queue, outside the timings.

    A council's home has its queue from its first night on, and a night's
    process imports its libraries once (scikit-learn, pandas, Splink: seconds);
    a benchmark would otherwise charge both to whichever stage came first, and
    a second night in the same process would look faster for no real reason.
    Returns the seconds it took (reported as set-up, not in the total).
    """
    from flows import stages
    from review_ui.migrations import upgrade_to_head
    from review_ui.store import queue_database_url

    started = time.perf_counter()
    for module in _STAGE_MODULES:
        importlib.import_module(module)
    stages.champion_model(stages.Night.load(home, date.today(), config_dir))
    upgrade_to_head(queue_database_url(home))
    return round(time.perf_counter() - started, 2)


def run_night(
    extracts: Path, *, as_of: date, home: Path, config_dir: Path | None, memory: PeakMemory
) -> list[StageFigure]:
    """Every stage of one night, in the flow's order, through the functions its tasks call."""
    from flows import route, stages

    night = stages.Night.load(home, as_of, config_dir)
    figures: list[StageFigure] = []
    with _measured(memory, figures, "ingest") as out:
        out["summary"] = _small(stages.ingest_stage(night, extracts))
    with _measured(memory, figures, "link") as out:
        out["summary"] = stages.link_stage(night)
    with _measured(memory, figures, "graph") as out:
        out["summary"] = stages.graph_stage(night)
    with _measured(memory, figures, "features") as out:
        out["summary"] = stages.features_stage(night)
    with _measured(memory, figures, "thresholds") as out:
        out["summary"] = stages.thresholds_stage(night)
    with _measured(memory, figures, "score") as out:
        scored = stages.score_stage(night)
        out["summary"] = {k: scored[k] for k in ("cohort", "scored", "model_name")}
    with _measured(memory, figures, "route") as out:
        routed = route.route_stage(night, scored["model_version"])
        out["summary"] = {k: routed[k] for k in ("candidates", "new_items", "updated", "case_files_built")}
    return figures


def _small(ingest: dict[str, Any]) -> dict[str, Any]:
    return {k: ingest[k] for k in ("rows_read", "accepted", "quarantined", "skipped_sources")}


@contextmanager
def _offline_environment(home: Path) -> Iterator[None]:
    """The nightly run's offline settings (:mod:`flows.runtime`) for one home, undone
    afterwards, so a benchmark inside a longer-lived process leaves it as it was."""
    from flows.runtime import configure_runtime

    saved = dict(os.environ)
    try:
        configure_runtime(home)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- the whole benchmark -----------------------------------------------------------------------


@dataclass
class BenchResult:
    """One benchmark run, as stored in the results file."""

    when: str
    residents: int
    years: int
    seed: int
    as_of: str
    extract_rows: int
    floor: dict[str, Any]
    stages: list[dict[str, Any]]
    total_seconds: float
    total_cpu_seconds: float
    peak_mib: float
    ratio_to_floor: float
    machine: dict[str, Any]
    #: Creating a new home's registry and queue (once per installation; not in the total).
    home_set_up_seconds: float
    #: The same night run again after the night before it (a day's new events):
    #: what it reused, its stages, and the fresh run's total divided by its total.
    incremental: dict[str, Any] | None = None
    #: Real ``early-warning nightly`` processes on the same borough, start to exit
    #: (:func:`time_nightly_processes`); None when not asked for.
    nightly_process: dict[str, Any] | None = None


def machine() -> dict[str, Any]:
    """What the figures were measured on, including how busy it was."""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run_bench(
    *,
    residents: int,
    years: int,
    seed: int,
    as_of: date,
    cache: Path,
    config_dir: Path | None,
    incremental: bool = False,
    nightly_process: bool = True,
    log: Callable[[str], None] = print,
) -> BenchResult:
    """Generate or reuse the borough, measure the floor, run one night and return the figures."""
    place = borough(cache, residents=residents, years=years, seed=seed, as_of=as_of, log=log)
    log("Measuring the floor: reading and parsing every extract once")
    floor = measure_floor(place.extracts)
    # A fresh home each time: no earlier night, model or queue to change the work.
    with (
        tempfile.TemporaryDirectory(prefix="night-", dir=cache) as scratch,
        PeakMemory() as memory,
        _offline_environment(Path(scratch)),
    ):
        night_home = Path(scratch)
        home_seconds = set_up_home(night_home, config_dir)
        log(f"Running the night of {as_of} under {night_home}")
        figures = run_night(
            place.extracts, as_of=as_of, home=night_home, config_dir=config_dir, memory=memory
        )
    total = round(sum(f.seconds for f in figures), 2)
    again = _incremental(place, as_of, cache, config_dir, total, log) if incremental else None
    processes = time_nightly_processes(place, as_of, cache, config_dir, log) if nightly_process else None
    return BenchResult(
        when=datetime.now(UTC).isoformat(timespec="seconds"),
        residents=residents,
        years=years,
        seed=seed,
        as_of=as_of.isoformat(),
        extract_rows=place.rows,
        floor=asdict(floor),
        stages=[asdict(f) for f in figures],
        total_seconds=total,
        total_cpu_seconds=round(sum(f.cpu_seconds for f in figures), 2),
        peak_mib=max(f.peak_mib for f in figures),
        ratio_to_floor=round(total / floor.seconds, 1) if floor.seconds else 0.0,
        machine=machine(),
        home_set_up_seconds=home_seconds,
        incremental=again,
        nightly_process=processes,
    )


def _incremental(
    place: Borough,
    as_of: date,
    cache: Path,
    config_dir: Path | None,
    fresh_total: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Run the night before (its events of ``as_of`` not yet valid), then ``as_of`` itself,
    which may reuse the earlier night's linkage model and unchanged features."""
    from early_warning.paths import RunPaths
    from flows.reuse import read_reuse

    with (
        tempfile.TemporaryDirectory(prefix="incremental-", dir=cache) as scratch,
        PeakMemory() as memory,
        _offline_environment(Path(scratch)),
    ):
        night_home = Path(scratch)
        set_up_home(night_home, config_dir)
        log(f"Incremental: running the night of {as_of - timedelta(days=1)} first, under {night_home}")
        run_night(
            place.extracts,
            as_of=as_of - timedelta(days=1),
            home=night_home,
            config_dir=config_dir,
            memory=memory,
        )
        log(f"Incremental: the night of {as_of}, after it")
        figures = run_night(
            place.extracts, as_of=as_of, home=night_home, config_dir=config_dir, memory=memory
        )
        reuse = read_reuse(RunPaths(home=night_home, as_of=as_of))
    total = round(sum(f.seconds for f in figures), 2)
    return {
        "stages": [asdict(f) for f in figures],
        "total_seconds": total,
        "peak_mib": max(f.peak_mib for f in figures),
        "speed_up": round(fresh_total / total, 2) if total else 0.0,
        "reused": reuse,
    }


def _nightly_process(
    extracts: Path, *, as_of: date, home: Path, config_dir: Path | None, api_url: str | None
) -> dict[str, Any]:
    """Run ``early-warning nightly`` as its own process and time it from start to exit.

    The process gets this one's environment without the bench's Prefect
    settings, so it configures Prefect as a user's command would; ``api_url``
    points it at a running Prefect server. Overhead is its wall time less the
    seconds its own stages took (from its ``run_summary.json``): Python and
    library start-up, Prefect's API and its bookkeeping, and exit.
    """
    from early_warning.paths import RunPaths

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    command = [sys.executable, "-m", "early_warning.cli", "nightly", "--quiet"]
    command += ["--extracts", str(extracts), "--as-of", as_of.isoformat(), "--home", str(home)]
    if config_dir:
        command += ["--config", str(config_dir)]
    load = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    finished = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = round(time.perf_counter() - started, 2)
    if finished.returncode not in (0, 1):  # 1: the night ran and needs attention
        raise RuntimeError(f"early-warning nightly failed ({finished.returncode}): {finished.stderr[-2000:]}")
    summary = json.loads(RunPaths(home=home, as_of=as_of).run_summary.read_text(encoding="utf-8"))
    stages = round(sum(summary["seconds_per_stage"].values()), 2)
    return {
        "wall_seconds": wall,
        "stage_seconds": stages,
        "overhead_seconds": round(wall - stages, 2),
        "load_average_1m_at_start": load,
    }


def time_nightly_processes(
    place: Borough, as_of: date, cache: Path, config_dir: Path | None, log: Callable[[str], None]
) -> dict[str, Any]:
    """What a user waits for: ``early-warning nightly`` processes on the borough, start to exit.

    Three nights in one new home: the first (which also creates the home's
    Prefect database and review queue), the same night again with nothing
    configured (a one-off night: Prefect's API served inside the process),
    and once more against a running Prefect server, as ``early-warning
    schedule`` keeps one (its own start-up is paid once, so not counted).
    """
    from flows.runners import free_port
    from flows.schedule import local_prefect_server

    figures: dict[str, Any] = {"command": "early-warning nightly --extracts ... --as-of ... --home ..."}
    with tempfile.TemporaryDirectory(prefix="process-", dir=cache) as scratch:
        home = Path(scratch)
        for name in ("first_night_new_home", "one_off"):
            log(f"Timing an early-warning nightly process ({name.replace('_', ' ')})")
            figures[name] = _nightly_process(
                place.extracts, as_of=as_of, home=home, config_dir=config_dir, api_url=None
            )
        with _offline_environment(home), local_prefect_server(home, free_port()) as api_url:
            log(f"Timing an early-warning nightly process against a running Prefect server ({api_url})")
            figures["with_running_server"] = _nightly_process(
                place.extracts, as_of=as_of, home=home, config_dir=config_dir, api_url=api_url
            )
    return figures


def append_result(result: BenchResult, path: Path) -> None:
    """Add one run to the JSON list at ``path`` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    history.append(asdict(result))
    path.write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")


def table(result: BenchResult) -> str:
    """The figures as a plain-text table, one stage per line."""
    lines = [f"{'stage':<12}{'seconds':>10}{'cpu s':>10}{'peak MiB':>11}"]
    for stage in result.stages:
        lines.append(
            f"{stage['stage']:<12}{stage['seconds']:>10.1f}{stage['cpu_seconds']:>10.1f}{stage['peak_mib']:>11,.0f}"
        )
    lines.append(
        f"{'total':<12}{result.total_seconds:>10.1f}{result.total_cpu_seconds:>10.1f}{result.peak_mib:>11,.0f}"
    )
    floor = result.floor
    lines.append(
        f"floor: {floor['files']} files, {floor['bytes'] / MIB:,.0f} MiB, {floor['rows']:,} rows: "
        f"read {floor['read_seconds']:.1f} s, parsed {floor['parse_seconds']:.1f} s; "
        f"whole run / floor = {result.ratio_to_floor:.1f}"
    )
    if result.incremental:
        again = result.incremental
        lines.append("incremental night (the night before run first):")
        for stage in again["stages"]:
            lines.append(
                f"  {stage['stage']:<10}{stage['seconds']:>10.1f}{stage['cpu_seconds']:>10.1f}{stage['peak_mib']:>11,.0f}"
            )
        lines.append(
            f"  total {again['total_seconds']:.1f} s: {again['speed_up']:.2f} times as fast; reused: {again['reused']}"
        )
    if result.nightly_process:
        lines.append("early-warning nightly as a process, start to exit (what a user waits for):")
        for name, words in (
            ("first_night_new_home", "first night, new home"),
            ("one_off", "one-off night, no server"),
            ("with_running_server", "with a running server"),
        ):
            run = result.nightly_process[name]
            lines.append(
                f"  {words:<28}{run['wall_seconds']:>7.1f} s wall = stages {run['stage_seconds']:.1f} s "
                f"+ {run['overhead_seconds']:.1f} s start-up and exit (load {run['load_average_1m_at_start']})"
            )
    lines.append(f"load average (1 min) at the end: {result.machine['load_average_1m']}")
    return "\n".join(lines)
