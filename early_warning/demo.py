"""``early-warning demo``: the whole product on a synthetic borough, from nothing.

It is what ``make demo`` runs on a fresh machine, so it needs nothing but
the project itself: it generates a borough under ``<home>/demo`` (re-using
one already generated with the same size and seed), trains and registers a
model in MLflow (unless a champion is already registered), gives every
locality a caseworker (so the demo looks like a staffed council, and no
locality is one "nobody works"), runs the nightly flow for two nights a week
apart (so "new" and "what changed" can be seen), says what went to each
locality's review queue, makes a demo caseworker and team lead for the busiest
locality, prints how to sign in, and serves the review app.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

DEMO_AS_OF = date(2026, 6, 30)
DEMO_YEARS = 3
#: The demo runs two nights, a week apart, so the list shows who is new and what changed
#: since the night before (and an item's history has two nights). The first night only sees
#: what the extracts held by then: every stage is point-in-time.
DEMO_NIGHTS = (DEMO_AS_OF - timedelta(days=7), DEMO_AS_OF)
#: New people a locality is sent a night in the demo (the default configuration sends 4 to 6):
#: two nights then give the busiest locality a page and a half of its list (25 a page), so
#: paging and a realistic morning can be tried.
DEMO_CAPACITY = 20


def demo_config(home: Path) -> Path:
    """The demo's own configuration: the defaults, with every locality's nightly capacity raised."""
    from early_warning.config import load_config

    localities = load_config().localities
    folder = home / "demo" / "config"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Written by `early-warning demo`: the default localities with a larger nightly capacity.",
        f"default_capacity: {DEMO_CAPACITY}",
        "localities:",
        *(f"  {name}: {{capacity: {DEMO_CAPACITY}}}" for name in localities.localities),
    ]
    (folder / "localities.yaml").write_text("\n".join(lines) + "\n")
    return folder


def _borough(home: Path, residents: int, seed: int) -> Path:
    from early_warning.synthetic import generate_borough

    borough = home / "demo" / f"borough-{residents}-seed{seed}"
    marker = borough / "generated.json"
    if marker.exists():
        print(f"Using the synthetic borough already in {borough}")
        return borough
    print(f"Generating a synthetic borough of {residents:,} residents in {borough} ...")
    summary = generate_borough(
        borough, residents=residents, years=DEMO_YEARS, as_of=DEMO_AS_OF, seed=seed, progress=True
    )
    marker.write_text(json.dumps({"rows": summary.total_rows, "seconds": round(summary.seconds, 1)}))
    print(f"Wrote {summary.total_rows:,} rows in {summary.seconds:.1f} s.")
    return borough


def _train(home: Path, extracts: Path) -> None:
    from early_warning.config import load_config
    from flows.runtime import configure_runtime

    configure_runtime(home)
    from early_warning.progress import Progress
    from models.registry import list_models
    from models.training import TooFewLabels, run_training
    from models.training_settings import load_training_settings

    if list_models(home, load_training_settings()):  # the demo runs on the built-in defaults
        print("A model is already registered; not training again (see `early-warning models list`).")
        return
    print("Training models on the borough's history and registering them in MLflow ...")
    try:
        result = run_training(extracts, DEMO_AS_OF, home, load_config(), progress=Progress())
    except TooFewLabels as exc:
        print(str(exc))
        return
    print(f"Registered version {result.version} ({result.chosen_model}) as {result.alias}.")
    print(result.reason)


def _queue_url(home: Path) -> str:
    """The review queue the nights write to ($EARLY_WARNING_DATABASE_URL, else under the home)."""
    from review_ui.store import queue_database_url

    return queue_database_url(home)


def _staff(home: Path, config_dir: Path) -> None:
    """A caseworker in every locality of the demo, before its nights (see ``staff_demo_localities``)."""
    from early_warning.config import load_config
    from review_ui.web.accounts import staff_demo_localities

    localities = list(load_config(config_dir).localities.localities)
    colleagues = staff_demo_localities(_queue_url(home), home, localities)
    if colleagues:
        print(
            f"Each of the {len(localities)} localities has a caseworker "
            f"({', '.join(a.username for a in colleagues)}; sign-ins in {home / 'demo' / 'colleagues.txt'})."
        )


def _serve(home: Path, *, serve: bool) -> None:
    """Make the demo's caseworker and team lead, say how to sign in, and serve the app."""
    from early_warning.settings import get_settings
    from review_ui.web.accounts import ensure_demo_accounts

    settings = get_settings().model_copy(update={"home": home})
    accounts = ensure_demo_accounts(_queue_url(home), home)
    print()
    print(f"The review app: http://{settings.host}:{settings.port}/")
    for account in accounts:
        role = account.role.replace("_", " ")
        print(
            f"  sign in as {account.username} ({role}, {account.locality}) with password {account.password}"
        )
    print(f"  (kept in {home / 'demo' / 'sign-in.txt'}; add your own with `early-warning users add`)")
    if not serve:
        return
    from review_ui.web.server import serve as serve_app

    print("Serving until you press Ctrl-C ...")
    serve_app(settings)


def run_demo(*, home: Path, residents: int, seed: int, train: bool = True, serve: bool = True) -> int:
    """Generate (or reuse) the demo borough, train, run a night, then serve the review app; returns an exit code."""
    from early_warning.cli import run_nightly_flow

    borough = _borough(home, residents, seed)
    if train:
        _train(home, borough / "extracts")
    config_dir = demo_config(home)
    _staff(home, config_dir)
    for night in DEMO_NIGHTS:
        print(f"Running the night of {night.isoformat()} ...")
        outcome = run_nightly_flow(
            extracts=borough / "extracts", as_of=night, home=home, config_dir=config_dir
        )
        print()
        print(outcome.summary())
    run = Path(outcome.stages["run"])
    print()
    print(f"Outputs of the night: {run}")
    print(f"  who was sent for review, with reasons: {run / 'surfaced.parquet'}")
    print(f"  what came in and what was quarantined: {run / 'ingest_report.json'}")
    print(f"The review queue: {home / 'review_queue.sqlite3'}; MLflow: {home / 'mlflow'}")
    _serve(home, serve=serve)
    return 0
