"""Benchmark the review app under load: 20 signed-in reviewers on a 100,000-item queue.

Usage::

    python benchmarks/bench_review_app.py [--items 100000] [--users 20] [--duration 45]
        [--databases sqlite postgresql] [--profile]

For each database (SQLite file; PostgreSQL in a schema of its own, dropped
afterwards, when ``EARLY_WARNING_TEST_POSTGRES_URL`` is set) it:

1. builds a queue with SQLAlchemy Core bulk inserts: ``--items`` review items
   across 8 localities (mostly new, some in review or closed), each with a
   case file of realistic size (names, records, ~20 timeline events, a
   household, match evidence) and two nights of history, and one reviewer
   account per virtual user (caseworkers and a few team leads);
2. starts ``early-warning serve`` (exactly what the README's command runs:
   one worker process per core unless ``--workers`` says otherwise) in a
   subprocess on a free port;
3. signs every virtual user in through the real form, then for ``--duration``
   seconds each user (a thread with its own httpx client) alternates between
   the list page (``/queue`` with a mix of pages, filters and sorts) and
   person pages (``/items/{id}`` in their own locality), one request at a
   time with no think time;
4. prints p50/p95/p99 latency and throughput per page, and appends the run to
   ``benchmarks/results/review_app.json``.

The target is p95 < 150 ms per page. ``--profile`` runs the server under
cProfile and prints where its time went. Timings depend on the machine and
what else runs on it: the load average is recorded with each run.
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401  (documents that --profile uses the standard profiler)
import json
import os
import platform
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, make_url, text

from early_warning.settings import Settings
from review_ui.migrations import upgrade_to_head
from review_ui.store import make_engine
from review_ui.store.tables import CaseFile, ItemHistory, ReviewItem, User
from review_ui.web.passwords import hash_password
from review_ui.web.server import worker_count

RESULTS = Path(__file__).parent / "results" / "review_app.json"
POSTGRES_ENV = "EARLY_WARNING_TEST_POSTGRES_URL"
PASSWORD = "benchmark password, not for real use"
SECRET_KEY = "benchmark-secret-key-not-for-production"
TARGET_P95_MS = 150.0

LOCALITIES = [
    "Northgate",
    "Riverside",
    "Eastfield",
    "Westbrook",
    "Hillcrest",
    "Parkside",
    "Millbank",
    "Southmoor",
]
WARDS_PER_LOCALITY = 6
AS_OF = date(2026, 6, 30)
SERVICES = [
    "council_tax",
    "housing_rent",
    "benefits",
    "contact_centre",
    "adult_social_care",
    "homelessness",
    "asb",
]
EVENTS = {
    "council_tax": [
        ("missed_instalment", "Missed a council tax instalment"),
        ("reminder", "Council tax reminder sent"),
    ],
    "housing_rent": [
        ("missed_payment", "Missed a rent payment"),
        ("arrears_letter", "Rent arrears letter sent"),
    ],
    "benefits": [
        ("claim_started", "Started a benefits claim"),
        ("claim_suspended", "Benefits claim suspended"),
    ],
    "contact_centre": [
        ("enquiry", "Enquiry to the contact centre"),
        ("complaint", "Complaint to the contact centre"),
    ],
    "adult_social_care": [("referral", "Referral to adult social care")],
    "homelessness": [("approach", "Approached the housing options team")],
    "asb": [("report", "Anti-social behaviour report")],
}
FIRST = [
    "Jamie",
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Robin",
    "Charlie",
    "Avery",
    "Riley",
    "Quinn",
]
LAST = ["Example", "Sample", "Placeholder", "Fictional", "Madeup", "Testperson", "Notreal", "Synthetic"]


# --- Building the queue -------------------------------------------------------------


def case_file(rng: random.Random, person_id: str, events: int = 20) -> dict[str, Any]:
    """A version-1 case file of realistic size (about 6 KB of JSON) for a fictional person."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    services = rng.sample(SERVICES, k=rng.randint(2, 5))
    timeline = []
    day = AS_OF - timedelta(days=rng.randint(1, 20))
    for _ in range(events):
        service = rng.choice(services)
        event_type, label = rng.choice(EVENTS[service])
        timeline.append(
            {
                "date": day.isoformat(),
                "service": service,
                "event_type": event_type,
                "label": label,
                "amount": round(rng.uniform(20, 400), 2)
                if service in ("council_tax", "housing_rent")
                else None,
                "topic": rng.choice([None, "benefits", "housing", "debt"])
                if service == "contact_centre"
                else None,
                "role": rng.choice(["signal", "signal", "context"]),
            }
        )
        day -= timedelta(days=rng.randint(3, 30))
    street = f"{rng.randint(1, 200)} {rng.choice(LAST)} Road"
    return {
        "version": 1,
        "as_of": AS_OF.isoformat(),
        "person": {
            "names": [name, name.upper()],
            "age": rng.randint(18, 90),
            "address": street,
            "postcode": "ZZ1 1ZZ",
            "ward": "Central",
            "phones": ["07700 900" + f"{rng.randint(0, 999):03d}"],
            "emails": [],
        },
        "records": [
            {
                "source": service,
                "source_person_id": f"{service[:3].upper()}-{person_id}",
                "name": name,
                "address": f"{street}, ZZ1 1ZZ",
                "last_event": AS_OF.isoformat(),
            }
            for service in services
        ],
        "timeline": timeline,
        "household": {
            "address": f"{street}, ZZ1 1ZZ",
            "members": [
                {"description": f"Adult aged {a} to {a + 9}", "services": rng.sample(SERVICES, k=1)}
                for a in rng.sample([20, 30, 40, 50, 60], k=rng.randint(0, 3))
            ],
        },
        "evidence": [
            {
                "left": f"{services[0]} {services[0][:3].upper()}-{person_id}",
                "right": f"{service} {service[:3].upper()}-{person_id}",
                "match_probability": round(rng.uniform(0.95, 0.9999), 4),
                "reasons": [
                    "date of birth: exact match (+7.2)",
                    "surname: exact match (+6.1)",
                    "postcode (+4.0)",
                ],
            }
            for service in services[1:]
        ],
    }


@dataclass
class Reviewer:
    username: str
    role: str
    locality: str


@dataclass
class World:
    reviewers: list[Reviewer]
    #: locality -> open item ids (for person pages)
    items: dict[str, list[int]]
    wards: dict[str, list[str]]
    build_seconds: float
    case_file_bytes: int


def build(url: str, *, items: int, users: int, seed: int = 7) -> World:
    """Migrate an empty database and fill it with ``items`` items and ``users`` reviewers (bulk Core inserts)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    upgrade_to_head(url)
    engine = make_engine(url)
    password_hash = hash_password(PASSWORD)
    now = datetime.now(UTC)
    reviewers: list[Reviewer] = []
    user_rows = []
    for n in range(users):
        locality = LOCALITIES[n % len(LOCALITIES)]
        role = "team_lead" if n % 5 == 4 else "caseworker"
        reviewers.append(Reviewer(f"reviewer{n:02d}", role, locality))
        user_rows.append(
            {
                "username": f"reviewer{n:02d}",
                "display_name": f"Reviewer {n:02d}",
                "role": role,
                "locality": locality,
                "password_hash": password_hash,
                "active": True,
                "created_at": now,
            }
        )
    wards = {
        loc: [f"{loc} {w}" for w in ("North", "South", "East", "West", "Central", "Park")]
        for loc in LOCALITIES
    }
    with engine.begin() as connection:
        connection.execute(insert(User), user_rows)
        user_ids: dict[str, list[int]] = defaultdict(list)
        for user_id, locality in connection.execute(text("SELECT id, locality FROM users")):
            user_ids[locality].append(user_id)

    ids: dict[str, list[int]] = defaultdict(list)
    batch = 2_000
    case_bytes = 0
    item_id = 0
    ranks: dict[str, int] = defaultdict(int)
    for start in range(0, items, batch):
        item_rows, case_rows, history_rows = [], [], []
        for _ in range(start, min(start + batch, items)):
            item_id += 1
            locality = LOCALITIES[item_id % len(LOCALITIES)]
            ranks[locality] += 1
            person_id = f"P{item_id:07d}"
            roll = rng.random()
            status = "new" if roll < 0.80 else ("in_review" if roll < 0.90 else "closed")
            first = AS_OF - timedelta(days=rng.randint(0, 120))
            services = rng.sample(SERVICES, k=rng.randint(2, 4))
            item_rows.append(
                {
                    "id": item_id,
                    "person_id": person_id,
                    "locality": locality,
                    "ward": rng.choice(wards[locality]),
                    "status": status,
                    "score": round(rng.uniform(0.2, 0.99), 4),
                    "rank": ranks[locality],
                    "reasons": [
                        f"Missed {rng.randint(2, 5)} council tax instalments since {first:%-d %B %Y}.",
                        f"Contacted {len(services)} council services in the last 90 days.",
                    ],
                    "services_at_surfacing": services,
                    "services_last_scored": services,
                    "model_version": "rules-score",
                    "first_surfaced_on": first,
                    "last_scored_on": AS_OF
                    if rng.random() < 0.5
                    else AS_OF - timedelta(days=rng.randint(1, 30)),
                    "assigned_to_id": rng.choice(user_ids[locality])
                    if status != "new" and user_ids[locality]
                    else None,
                    "claimed_at": now - timedelta(hours=rng.randint(1, 200)) if status != "new" else None,
                    "closed_at": now - timedelta(hours=rng.randint(1, 100)) if status == "closed" else None,
                    "outcome": rng.choice(["help_offered", "already_supported", "declined"])
                    if status == "closed"
                    else None,
                    "merged_into_id": None,
                    "version": 1,
                }
            )
            if item_rows[-1]["assigned_to_id"] is None and status != "new":
                item_rows[-1].update(status="new", claimed_at=None, closed_at=None, outcome=None)
            if item_rows[-1]["status"] != "closed":
                ids[locality].append(item_id)
            content = case_file(rng, person_id)
            case_bytes += len(json.dumps(content))
            case_rows.append({"person_id": person_id, "as_of": AS_OF, "content": content, "updated_at": now})
            for night in (first, AS_OF):
                history_rows.append(
                    {
                        "item_id": item_id,
                        "as_of": night,
                        "person_id": person_id,
                        "locality": locality,
                        "score": item_rows[-1]["score"],
                        "rank": item_rows[-1]["rank"],
                        "reasons": item_rows[-1]["reasons"],
                        "services": services,
                        "model_version": "rules-score",
                        "merged_into_item_id": None,
                        "recorded_at": now,
                    }
                )
                if first == AS_OF:
                    break
        with engine.begin() as connection:
            connection.execute(insert(ReviewItem), item_rows)
            connection.execute(insert(CaseFile), case_rows)
            connection.execute(insert(ItemHistory), history_rows)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('review_items', 'id'), :n)"), {"n": item_id}
            )
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return World(
        reviewers=reviewers,
        items=dict(ids),
        wards=wards,
        build_seconds=time.perf_counter() - started,
        case_file_bytes=case_bytes // max(items, 1),
    )


# --- The server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: ``early-warning serve`` with every thread profiled (FastAPI runs the route functions in a
#: thread pool, which ``python -m cProfile`` would not see); the merged profile is saved at exit.
PROFILED_SERVE = """
import cProfile, sys, threading
profiles = []
def _start(*_):
    profile = cProfile.Profile()
    profiles.append(profile)
    profile.enable()
threading.setprofile(_start)
main_profile = cProfile.Profile()
profiles.append(main_profile)
output = sys.argv[1]
sys.argv = ["early-warning", *sys.argv[2:]]
from early_warning.cli import main
main_profile.enable()
try:
    main()
finally:
    import pstats
    for profile in profiles:
        profile.disable()
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        try:
            stats.add(profile)
        except TypeError:
            pass
    stats.dump_stats(output)
"""


@contextmanager
def served(url: str, home: Path, *, profile: Path | None, workers: int | None = None) -> Iterator[str]:
    """``early-warning serve`` on ``url`` in a subprocess (optionally under cProfile)."""
    port = free_port()
    command = str(Path(sys.executable).with_name("early-warning"))
    args = [command, "serve", "--home", str(home), "--port", str(port)]
    if workers is not None:
        args += ["--workers", str(workers)]
    if profile is not None:
        args = [sys.executable, "-c", PROFILED_SERVE, str(profile), *args[1:]]
    env = {
        **os.environ,
        "EARLY_WARNING_DATABASE_URL": url,
        "EARLY_WARNING_SECRET_KEY": SECRET_KEY,
        "EARLY_WARNING_SIGN_IN_MAX_FAILURES": "1000",
    }
    log = home / "server.log"
    with log.open("w") as handle:
        process = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the review app did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- The load -----------------------------------------------------------------------

SIGN_IN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in_client(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = SIGN_IN_TOKEN.search(client.get("/sign-in").text)
    assert token, "no sign-in token"
    response = client.post(
        "/sign-in", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    location = response.headers.get("location", "")
    if response.status_code != 303 or location.startswith("/sign-in"):
        raise RuntimeError(f"{username} could not sign in: {response.status_code} {response.text[:200]}")
    return client


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if not ok:
                self.errors[page] += 1


def list_path(rng: random.Random, reviewer: Reviewer, world: World) -> str:
    """A list request as people make them: mostly the first pages, sometimes filtered or sorted."""
    params: dict[str, str] = {}
    if rng.random() < 0.6:
        params["page"] = str(rng.choice([1, 1, 1, 2, 3, 5, 10, 40]))
    if rng.random() < 0.3:
        params["ward"] = rng.choice(world.wards[reviewer.locality])
    if rng.random() < 0.2:
        params["status"] = rng.choice(["new", "in_review"])
    if rng.random() < 0.2:
        params["sort"] = rng.choice(["waiting", "ward"])
    if rng.random() < 0.1:
        params["assigned"] = rng.choice(["me", "unassigned"])
    if reviewer.role == "team_lead" and rng.random() < 0.1:
        params["locality"] = "unknown"
    return "/queue" + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def run_user(
    base: str,
    reviewer: Reviewer,
    world: World,
    samples: Samples,
    start: float,
    stop: float,
    seed: int,
    think: float,
) -> None:
    rng = random.Random(seed)
    client = signed_in_client(base, reviewer.username)
    own = world.items[reviewer.locality]
    try:
        while time.perf_counter() < start:  # warm up until everyone is signed in
            client.get("/queue")
            if think:
                # At the measured pace: a flat-out warm-up left every user firing their first
                # measured request in the same instant, and the paced p95 measured that one burst.
                time.sleep(rng.expovariate(1 / think))
        while (now := time.perf_counter()) < stop:
            if rng.random() < 0.5:
                page, path = "list", list_path(rng, reviewer, world)
            else:
                page, path = "person", f"/items/{rng.choice(own)}"
            began = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - began
            if began >= start:
                samples.add(page, elapsed, response.status_code == 200)
            if think:
                time.sleep(min(rng.expovariate(1 / think), stop - now))
    finally:
        client.close()


def _guarded(failures: list[BaseException], target: Any, *args: Any) -> None:
    try:
        target(*args)
    except BaseException as error:  # reported by measure()
        failures.append(error)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(
    base: str, world: World, *, duration: float, warm_up: float, think: float = 0.0
) -> dict[str, Any]:
    samples = Samples()
    failures: list[BaseException] = []
    start = time.perf_counter() + warm_up
    stop = start + duration
    threads = [
        threading.Thread(
            target=_guarded,
            args=(failures, run_user, base, reviewer, world, samples, start, stop, n, think),
            name=reviewer.username,
        )
        for n, reviewer in enumerate(world.reviewers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} virtual user(s) failed") from failures[0]
    pages: dict[str, Any] = {}
    for page, values in sorted(samples.latencies.items()):
        pages[page] = {
            "requests": len(values),
            "errors": samples.errors.get(page, 0),
            "per_second": round(len(values) / duration, 1),
            "mean_ms": round(statistics.fmean(values) * 1000, 1),
            "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p95_ms": round(percentile(values, 95) * 1000, 1),
            "p99_ms": round(percentile(values, 99) * 1000, 1),
        }
    total = sum(len(values) for values in samples.latencies.values())
    return {"pages": pages, "requests_per_second": round(total / duration, 1)}


# --- Databases and the run ----------------------------------------------------------------


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'review_queue.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        raise SystemExit(f"PostgreSQL needs {POSTGRES_ENV}")
    schema = f"bench_review_{uuid.uuid4().hex[:10]}"
    parsed = make_url(base)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    admin = create_engine(parsed)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def report(kind: str, label: str, result: dict[str, Any]) -> None:
    print(f"[{kind}] {label}: {result['requests_per_second']} requests/s in all", flush=True)
    for page, figures in result["pages"].items():
        verdict = "ok" if figures["p95_ms"] < TARGET_P95_MS else "MISSES the p95 target"
        print(
            f"[{kind}] {label:<12} {page:<7} n={figures['requests']:>6} {figures['per_second']:>6}/s "
            f"p50 {figures['p50_ms']:>7} ms  p95 {figures['p95_ms']:>7} ms  "
            f"p99 {figures['p99_ms']:>7} ms  errors {figures['errors']}  {verdict}",
            flush=True,
        )


def top_functions(profile: Path, count: int = 25) -> str:
    import io

    out = io.StringIO()
    stats = pstats.Stats(str(profile), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(count)
    stats.sort_stats("tottime").print_stats(count)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of measured load per database")
    parser.add_argument("--warm-up", type=float, default=5.0)
    parser.add_argument(
        "--think",
        type=float,
        default=2.0,
        help="after the flat-out run, a second run where each user pauses this many seconds on average "
        "between requests, as people reading a page do (0: skip it)",
    )
    default_databases = ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgresql"], default=default_databases)
    parser.add_argument(
        "--profile", action="store_true", help="run the server under cProfile and print the top"
    )
    parser.add_argument("--no-save", action="store_true", help="do not append to the results file")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes for the server (default: what `early-warning serve` chooses, one per core)",
    )
    args = parser.parse_args(argv)
    if args.profile and args.workers is None:
        args.workers = 1  # the profile is of one process
    workers = worker_count(Settings(), args.workers)

    run: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "items": args.items,
        "users": args.users,
        "duration_seconds": args.duration,
        "server": f"early-warning serve --workers {workers}",
        "workers": workers,
        "target_p95_ms": TARGET_P95_MS,
        "databases": {},
    }
    for kind in args.databases:
        folder = Path(tempfile.mkdtemp(prefix=f"bench_review_{kind}_"))
        try:
            with database(kind, folder) as url:
                print(f"[{kind}] building {args.items:,} items ...", flush=True)
                world = build(url, items=args.items, users=args.users)
                print(
                    f"[{kind}] built in {world.build_seconds:.0f} s (case files ~{world.case_file_bytes:,} bytes each)",
                    flush=True,
                )
                profile = folder / "server.prof" if args.profile else None
                load_before = os.getloadavg()[0]
                with served(url, folder, profile=profile, workers=args.workers) as base:
                    result = measure(base, world, duration=args.duration, warm_up=args.warm_up)
                    if args.think:
                        paced = measure(
                            base, world, duration=args.duration, warm_up=args.warm_up, think=args.think
                        )
                        result["paced"] = {"think_seconds": args.think, **paced}
                result["build_seconds"] = round(world.build_seconds, 1)
                result["case_file_bytes"] = world.case_file_bytes
                result["load_average_before"] = round(load_before, 2)
                result["load_average_after"] = round(os.getloadavg()[0], 2)
                run["databases"][kind] = result
                report(kind, "flat out", result)
                if "paced" in result:
                    report(kind, f"{args.think:g} s think", result["paced"])
                if profile is not None and profile.exists():
                    print(top_functions(profile))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        history = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        history.append(run)
        RESULTS.write_text(json.dumps(history, indent=2) + "\n")
        print(f"appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
