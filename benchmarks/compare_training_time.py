"""Wall time of ``early-warning train`` on one borough, for two versions of the code, alternated.

Why: a change to training (more plots, more MLflow logging, a pyfunc
wrapper) must not make ``train`` much slower, and a single run on a shared
two-core machine says little. This runs the real command - a fresh process
with a fresh home each time, so imports, MLflow start-up and registration are
counted, and no run finds the previous run's model - for each code tree in
turn (a, b, a, b, ...) - or side by side (``--together``: each round's runs start
at the same moment; ``--at-once``: every run at once, when the machine is so busy
that rounds would not finish) - so both share the machine's load alike, and reports
the median and spread of each - wall seconds, and CPU seconds of the process
and its children, which other work on a shared machine disturbs far less.

A code tree is a checkout of this repository (e.g. ``git worktree add
/tmp/before <sha>``); it is put first on ``PYTHONPATH`` for its runs. Each
run's progress lines (``train`` prints each stage with its time) are kept
under ``--work`` for finding where time went. Appends one record to
``benchmarks/results/training-before-after.json``.

    .venv/bin/python benchmarks/compare_training_time.py --extracts BOROUGH/extracts \\
        --as-of 2026-03-31 --code before=/tmp/before --code after=. --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "training-before-after.json"
EARLY_WARNING = Path(sys.executable).with_name("early-warning")


def git_commit(tree: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def _start(tree: Path, extracts: Path, as_of: date, home: Path, log: Path) -> subprocess.Popen[bytes]:
    """One ``early-warning train`` process with a fresh home, niced, with ``tree`` first on the path."""
    shutil.rmtree(home, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(tree.resolve())
    env.pop("EARLY_WARNING_HOME", None)
    command = ["nice", "-n", "10", str(EARLY_WARNING), "train", "--extracts", str(extracts)]
    command += ["--as-of", as_of.isoformat(), "--home", str(home)]
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tree)


def _finish(process: subprocess.Popen[bytes], started: float, log: Path) -> tuple[float, float]:
    """Wait for the process: its wall seconds, and the CPU seconds it and its children used (far
    less sensitive than wall time to other work on the machine)."""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{process.args} exited {process.returncode}; see {log}")
    return seconds, usage.ru_utime + usage.ru_stime


def stage_seconds(log: Path) -> dict[str, float]:
    """Seconds per stage from ``train``'s progress lines (``[   12 s] ...`` / ``[3.2 min] ...``);
    a stage lasts until the next line; the snapshot lines are one "replay snapshots" stage."""
    marks: list[tuple[float, str]] = []
    for line in log.read_text(errors="replace").splitlines():
        found = re.match(r"\[\s*([\d.]+) (s|min)\] (.*)", line)
        if found:
            value = float(found[1]) * (60 if found[2] == "min" else 1)
            name = (
                "replay snapshots" if found[3].startswith("snapshot ") else re.sub(r"\d[\d,]*", "N", found[3])
            )
            marks.append((value, name))
    out: dict[str, float] = {}
    for (start, name), (end, _) in zip(marks, marks[1:], strict=False):
        out[name] = round(out.get(name, 0.0) + end - start, 1)
    return out


def stage_medians(logs: list[Path]) -> dict[str, float]:
    """The median over runs of each stage's seconds (the last stage, which runs to exit, is not timed)."""
    per_run = [stage_seconds(log) for log in logs]
    names = {name for run in per_run for name in run}
    return {
        name: round(statistics.median(run.get(name, 0.0) for run in per_run), 1) for name in sorted(names)
    }


def summary(seconds: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(seconds), 1),
        "min": round(min(seconds), 1),
        "max": round(max(seconds), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extracts", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument(
        "--code", action="append", required=True, help="NAME=DIR, a checkout to time; give two"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--together",
        action="store_true",
        help="start each round's runs at the same moment (a and b side by side)",
    )
    parser.add_argument(
        "--at-once",
        action="store_true",
        help="start every run at once (when the machine is too busy for rounds)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/compare-training-time"))
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.code)
    times: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    loads: list[float] = []
    args.work.mkdir(parents=True, exist_ok=True)
    runs = [(r, name, Path(tree)) for r in range(1, args.repeat + 1) for name, tree in trees.items()]
    batches = [runs] if args.at_once else [runs[i : i + len(trees)] for i in range(0, len(runs), len(trees))]
    if not args.together and not args.at_once:
        batches = [[run] for run in runs]
    for batch in batches:
        loads.append(os.getloadavg()[0])
        started = time.perf_counter()
        logs = {(r, name): args.work / f"{name}-{r}.log" for r, name, _ in batch}
        homes = {(r, name): args.work / f"home-{name}-{r}" for r, name, _ in batch}
        processes = [
            (r, name, _start(tree, args.extracts.resolve(), args.as_of, homes[r, name], logs[r, name]))
            for r, name, tree in batch
        ]
        with ThreadPoolExecutor(len(processes)) as pool:  # each run's own end time
            waits = [pool.submit(_finish, process, started, logs[r, name]) for r, name, process in processes]
            ended = [wait.result() for wait in waits]
        for (r, name, _), (seconds, cpu_seconds) in zip(processes, ended, strict=True):
            times[name].append(round(seconds, 1))
            cpu[name].append(round(cpu_seconds, 1))
            print(
                f"round {r} {name}: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU "
                f"(load average {loads[-1]:.1f} at start; log {logs[r, name]})",
                flush=True,
            )
    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "extracts": str(args.extracts),
        "as_of": args.as_of.isoformat(),
        "code": {name: git_commit(Path(tree)) for name, tree in trees.items()},
        "seconds": times,
        "cpu_seconds": cpu,
        "summary": {name: summary(values) for name, values in times.items()},
        "cpu_summary": {name: summary(values) for name, values in cpu.items()},
        "stage_medians_seconds": {
            name: stage_medians(sorted(args.work.glob(f"{name}-*.log"))) for name in trees
        },
        "mode": "at once" if args.at_once else "side by side per round" if args.together else "alternated",
        "load_average_before_each_batch": [round(x, 2) for x in loads],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    names = list(trees)
    if len(names) == 2:
        for key, what in (("summary", "wall"), ("cpu_summary", "CPU")):
            first, second = (record[key][n]["median"] for n in names)
            record[f"{what.lower()}_ratio_of_medians"] = round(second / first, 3)
            print(f"median {what}: {names[0]} {first} s, {names[1]} {second} s: ratio {second / first:.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps([*existing, record], indent=1) + "\n")
    print(json.dumps({"wall": record["summary"], "cpu": record["cpu_summary"]}))


if __name__ == "__main__":
    main()
