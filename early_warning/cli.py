"""The ``early-warning`` command.

One sub-command per thing a user does: generate a synthetic borough, run a
night, check a council's configuration, run the demo. Heavy libraries are
imported inside each handler so that ``early-warning --help`` and the quick
commands start at once (NOTES.md: mlflow and prefect take seconds to import).

Exit codes: ``nightly`` and ``release`` use :mod:`early_warning.exit_codes`
(0 routed, 1 failed, 2 unusable, 3 held, 4 already running); the other
commands: 0 done; 1 the work ran but something needs attention; 2 the command
could not run (bad arguments or configuration).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_ATTENTION = 1
EXIT_UNUSABLE = 2


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="where runs, models and the queue are kept (default: $EARLY_WARNING_HOME or ./.early-warning)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a folder with the council's own configuration files (default: the built-in defaults)",
    )


def _cmd_generate(args: argparse.Namespace) -> int:
    from early_warning.synthetic import generate_borough

    print(
        f"Generating a synthetic borough ({args.world} world): {args.residents:,} residents, "
        f"{args.years} years to {args.as_of}, seed {args.seed} -> {args.out}"
    )
    summary = generate_borough(
        args.out,
        residents=args.residents,
        years=args.years,
        as_of=args.as_of,
        seed=args.seed,
        world=args.world,
        progress=not args.quiet,
    )
    for path, rows in summary.rows.items():
        print(f"  {rows:>12,}  {path}")
    print(f"Wrote {summary.total_rows:,} rows in {summary.seconds:.1f} s.")
    return EXIT_OK


NIGHTLY_EPILOG = """\
exit codes (one meaning each; cron and systemd can alert on them):
  0  ROUTED          the whole night ran and its list reached the review queue
  1  FAILED          a stage stopped on an error: nothing was routed, the
                     previous night's files are intact; the traceback is in
                     <home>/logs/nightly.jsonl (the night's ERROR line);
                     safe to re-run
  2  UNUSABLE        could not start: bad arguments or unreadable settings
  3  HELD            the extracts failed a check (sources.yaml `checks`):
                     nothing was routed, yesterday's list stays; fix the
                     extracts and re-run, or `early-warning release NIGHT
                     --reason TEXT`
  4  ALREADY_RUNNING another night holds this home: nothing was done

The last line printed is the verdict: ROUTED, HELD or FAILED, and why.
"""


def run_nightly_flow(
    *,
    extracts: Path,
    as_of: date,
    home: Path,
    config_dir: Path | None,
    dask_address: str | None = None,
    dask_local: int | None = None,
    release: bool = False,
) -> Any:
    """Run the nightly Prefect flow in this process (Prefect's local API unless PREFECT_API_URL is set).

    With ``dask_address`` (a running Dask scheduler) or ``dask_local`` (that many local
    worker processes) the per-locality stages fan out over Dask (docs/scale-out.md).
    ``release`` routes the held night ``as_of`` from its held folder.

    Returns the routed night's :class:`flows.report.NightlyOutcome`.

    Raises:
        NightHeld: the extracts failed a check; nothing was routed.
        StageFailed: a stage stopped on an error (its cause has the traceback).
    """
    from flows.runtime import configure_runtime

    configure_runtime(home)
    from flows.night_lock import night_lock
    from flows.nightly import nightly
    from flows.report import NightHeld, NightlyOutcome
    from flows.runners import dask_runner, prefect_api_for

    flow = nightly
    if dask_address or dask_local:
        flow = nightly.with_options(task_runner=dask_runner(address=dask_address, local_workers=dask_local))
    # The lock before Prefect starts: a second night must not even open Prefect's database.
    with night_lock(home, as_of.isoformat()) as taken, prefect_api_for(flow.task_runner, home):
        if taken.message:
            print(taken.message, file=sys.stderr)
        state = flow(
            extracts=str(extracts.resolve()),
            as_of=as_of.isoformat(),
            home=str(home.resolve()),
            config_dir=str(config_dir.resolve()) if config_dir else None,
            release=release,
            return_state=True,
        )
        result = state.result(raise_on_failure=False)
    if state.is_completed() and isinstance(result, dict):
        return NightlyOutcome.from_dict(result)
    if state.name == "Held" and isinstance(result, dict):
        raise NightHeld(result)
    if isinstance(result, BaseException):
        raise result
    raise RuntimeError(state.message or f"the night ended {state.name}")


def _check_night_settings(config_dir: Path | None) -> None:
    """Read every file a night reads from ``config_dir``: a broken one stops the command here,
    before Prefect starts. The flow reads them again, once, when the night starts
    (:meth:`flows.stages.Night.load`), because a schedule's night may run days later."""
    from flows.stages import Night

    Night.load(Path("."), date.today(), config_dir)


def _rerun_command(args: argparse.Namespace) -> str:
    """The command that runs this night again, as the verdict line suggests it."""
    words = ["early-warning nightly", f"--extracts {args.extracts}", f"--as-of {args.as_of.isoformat()}"]
    words += [f"--home {args.home}"] if args.home else []
    words += [f"--config {args.config}"] if args.config else []
    return " ".join(words)


def _release_command(args: argparse.Namespace) -> str:
    home = f" --home {args.home}" if args.home else ""
    return f'early-warning release {args.as_of.isoformat()} --reason "..."{home}'


class _TracebacksToLog:
    """While a night runs, log records that carry a traceback, and the flow's and tasks'
    errors (Prefect's "task run failed", "finished in state Failed"), are kept off the
    console: the person on call reads one verdict line there. They are in the home's log
    file (``<home>/logs/nightly.jsonl``, :mod:`flows.night_log`) for whoever debugs it -
    already, for the loggers the file follows, or written there by this filter."""

    def __init__(self) -> None:
        import logging

        self.consoles = [
            h for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler"
        ]

    def filter(self, record: Any) -> bool:
        import logging

        from flows.night_log import logged_to_file, to_file_only

        run_logger = record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
        if record.exc_info or (run_logger and record.levelno >= logging.ERROR):
            if not logged_to_file(record.name):
                to_file_only(record)
            return False
        return True

    def __enter__(self) -> _TracebacksToLog:
        for console in self.consoles:
            console.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for console in self.consoles:
            console.removeFilter(self)


def _judge_night(args: argparse.Namespace, home: Path, *, release: bool = False) -> int:
    """Run the night (or release a held one) and end with one verdict line and its exit code."""
    from early_warning import exit_codes
    from early_warning.progress import stages_on_terminal
    from flows.runtime import configure_runtime

    configure_runtime(home)
    import flows.nightly  # noqa: F401 - Prefect sets up its logging on import; filter it below
    from flows.night_lock import NightAlreadyRunning
    from flows.night_log import log_failure, log_path, night_logging
    from flows.nightly import StageFailed
    from flows.report import NightHeld, held_lines, verdict_failed, verdict_held, verdict_routed
    from flows.runners import NoPrefectServer

    log = log_path(home)
    # The log file is open from here, before Prefect starts, so a start-up failure is in it too.
    with night_logging(home, args.as_of.isoformat()):
        try:
            with _TracebacksToLog(), stages_on_terminal(show=not getattr(args, "quiet", False)):
                outcome = run_nightly_flow(
                    extracts=args.extracts,
                    as_of=args.as_of,
                    home=home,
                    config_dir=args.config,
                    dask_address=getattr(args, "dask_address", None),
                    dask_local=getattr(args, "dask_local", None),
                    release=release,
                )
        except NightAlreadyRunning as exc:
            print(str(exc), file=sys.stderr)
            return exit_codes.ALREADY_RUNNING
        except NoPrefectServer as exc:
            print(f"Cannot fan out: {exc}", file=sys.stderr)
            return exit_codes.UNUSABLE
        except NightHeld as held:
            print("\n".join(held_lines(held.outcome)))
            print(verdict_held(held.outcome, _release_command(args), _rerun_command(args)))
            return exit_codes.HELD
        except Exception as exc:  # every failure gets the same verdict; the traceback goes to the log
            stage, reason = (
                (exc.stage, exc.reason) if isinstance(exc, StageFailed) else ("start-up", str(exc))
            )
            log_failure(f"the night failed in {stage}", exc)
            print(verdict_failed(stage, reason, str(log), _rerun_command(args)), file=sys.stderr)
            return exit_codes.FAILED
    print(outcome.summary())
    print(verdict_routed(outcome))
    return exit_codes.ROUTED


def _cmd_nightly(args: argparse.Namespace) -> int:
    from early_warning.paths import resolve_home

    _check_night_settings(args.config)
    return _judge_night(args, resolve_home(args.home))


def _cmd_release(args: argparse.Namespace) -> int:
    """Route a night its checks held, after recording who released it and why in the audit log."""
    import getpass
    import json

    from early_warning import exit_codes
    from early_warning.paths import (
        RELEASE_RECORD,
        RunPaths,
        nights_through,
        read_json,
        resolve_home,
        write_text,
    )
    from review_ui.store import queue_database_url
    from review_ui.store.audit import record_night_released
    from review_ui.web.accounts import _session

    home = resolve_home(args.home)
    reason = (args.reason or "").strip()
    held = RunPaths(home=home, as_of=args.as_of).held()
    if not reason:
        print("Say why the night may be routed: early-warning release NIGHT --reason TEXT", file=sys.stderr)
        return exit_codes.UNUSABLE
    if not held.run_summary.exists():
        print(f"No held night {args.as_of} under {held.root.parent}: nothing to release.", file=sys.stderr)
        return exit_codes.UNUSABLE
    newer = [
        n.as_of for n in nights_through(home, date.max) if n.as_of > args.as_of and n.run_summary.exists()
    ]
    if newer:
        print(
            f"Night {max(newer)} has been routed since; releasing {args.as_of} would put an older list "
            "in front of caseworkers. Nothing was done.",
            file=sys.stderr,
        )
        return exit_codes.UNUSABLE
    _check_night_settings(args.config)
    kept = read_json(held.run_summary)
    settings = _web_settings(args)
    with _session(settings.database_url or queue_database_url(home)) as db:
        record_night_released(
            session=db,
            night=args.as_of.isoformat(),
            by=getpass.getuser(),
            reason=reason,
            failed_checks=len(kept["audit"]["failed"]),
        )
    record = {"night": args.as_of.isoformat(), "by": getpass.getuser(), "reason": reason}
    write_text(json.dumps(record, indent=2), held.root / RELEASE_RECORD)
    args.extracts = Path(read_json(held.ingest_report)["extracts_dir"])
    print(
        f"Releasing night {args.as_of} ({len(kept['audit']['failed'])} failed check(s)); recorded in the audit log."
    )
    return _judge_night(args, home, release=True)


def _cmd_bench(args: argparse.Namespace) -> int:
    from early_warning.bench import append_result, run_bench, table
    from early_warning.config import load_config
    from early_warning.paths import resolve_home

    load_config(args.config)
    cache = resolve_home(args.home) / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    result = run_bench(
        residents=args.residents,
        years=args.years,
        seed=args.seed,
        as_of=args.as_of,
        cache=cache,
        config_dir=args.config,
        incremental=args.incremental,
        nightly_process=args.nightly_process,
    )
    print(table(result))
    append_result(result, args.results)
    print(f"Figures appended to {args.results}")
    return EXIT_OK


def _cmd_schedule(args: argparse.Namespace) -> int:
    from early_warning.paths import resolve_home
    from flows.schedule import serve_nightly

    _check_night_settings(args.config)
    serve_nightly(
        extracts=args.extracts,
        home=resolve_home(args.home),
        config_dir=args.config,
        cron=args.cron,
        timezone=args.timezone,
        port=args.port,
    )
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from early_warning.paths import resolve_home
    from early_warning.status import gather, render
    from review_ui.store import queue_database_url

    settings = _web_settings(args)
    home = resolve_home(args.home)
    print(render(gather(home, settings.database_url or queue_database_url(home))))
    return EXIT_OK


def _newest_persons(home: Path, as_of: date) -> Any:
    """The newest night's persons on or before ``as_of`` (so training ids are the queue's), or None."""
    import polars as pl

    from early_warning.paths import nights_through

    newest = next((night for night in nights_through(home, as_of) if night.persons.exists()), None)
    return pl.read_parquet(newest.persons) if newest else None


def _cmd_train(args: argparse.Namespace) -> int:
    from early_warning.all_settings import load_all
    from early_warning.paths import resolve_home
    from early_warning.progress import Progress
    from flows.runtime import configure_runtime

    home = resolve_home(args.home)
    configure_runtime(home)
    from models.training import AlreadyRegistered, TooFewLabels, run_training
    from review_ui.store import queue_database_url
    from review_ui.store.training_outcomes import read_review_outcomes

    settings = load_all(args.config)  # every file, once; passed down, never read again deeper in
    progress = Progress()
    print(f"Training on {args.extracts} as of {args.as_of} (MLflow under {home / 'mlflow'}) ...")
    reviews = read_review_outcomes(queue_database_url(home))
    progress(f"{reviews.height:,} review outcomes read from the review queue (read-only; no notes)")
    link_constraints, clerical_same_person = _queue_linkage_evidence(home, settings.linkage)
    try:
        result = run_training(
            args.extracts,
            args.as_of,
            home,
            settings.config,
            args.search,
            settings=settings.training,
            rules=settings.rules,
            linkage=settings.linkage,
            config_dir=args.config,
            reviews=reviews,
            previous_persons=_newest_persons(home, args.as_of),
            link_constraints=link_constraints,
            clerical_same_person=clerical_same_person,
            progress=progress,
        )
    except TooFewLabels as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ATTENTION
    except AlreadyRegistered as exc:
        print(str(exc))
        return EXIT_OK
    report = result.report.get(result.chosen_model, {})
    print(f"Held-out report period: snapshots {result.split.report[0]} to {result.split.report[-1]}")
    print(
        f"Best learned model: {result.chosen_model}; precision at capacity "
        f"{report.get('precision_at_capacity', float('nan')):.3f}, recall at capacity "
        f"{report.get('recall_at_capacity', float('nan')):.3f}"
    )
    print(result.reason)
    for sentence in result.advice:
        print(f"Note: {sentence}")
    print(f"Registered version {result.version} as {result.alias}.")
    print(f"Open MLflow to compare runs: early-warning mlflow --home {home}")
    return EXIT_OK


def _queue_linkage_evidence(home: Path, linkage: Any) -> tuple[Any, Any]:
    """What the night's link stage reads from the queue, read the same way for training:
    reviewers' "not / the same person" statements, and the data team's "same person" pairs
    when the council's ``linkage.yaml`` has ``train_m_from_clerical_labels`` on (read-only)."""
    from review_ui.store import queue_database_url
    from review_ui.store.clerical import read_same_person_records
    from review_ui.store.link_constraints import read_link_constraints

    url = queue_database_url(home)
    same = read_same_person_records(url) if linkage.train_m_from_clerical_labels else None
    return read_link_constraints(url), same


def _open_audit_log(home: Path) -> Any:
    """A session on the project's audit log: the review queue's database.

    That is ``EARLY_WARNING_DATABASE_URL`` when set (PostgreSQL in production), else the SQLite
    file under ``home`` - the same database the review app and the night write their entries
    to. It is opened *before* the alias moves, so a promotion that cannot be audited is refused
    rather than made unrecorded. Raises RuntimeError naming the database (password hidden).
    """
    from sqlalchemy import make_url, text
    from sqlalchemy.exc import SQLAlchemyError

    from review_ui.store import queue_database_url
    from review_ui.web.accounts import _session

    url = queue_database_url(home)
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        shown = "an unreadable URL"
    try:
        db = _session(url)
        db.execute(text("SELECT 1"))
        db.rollback()
    except (SQLAlchemyError, ValueError, OSError) as exc:
        raise RuntimeError(
            f"cannot open the audit log at {shown} (EARLY_WARNING_DATABASE_URL, or the home's SQLite): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. Nothing was promoted."
        ) from exc
    return db


def _audit_alias_move(db: Any, actor: str, change: dict[str, str], reason: str) -> None:
    """The promotion or rollback in the project's audit log (opened by :func:`_open_audit_log`)."""
    from review_ui.store.audit import AuditAction, append_audit

    append_audit(
        session=db,
        actor=actor,
        action=AuditAction.MODEL_ALIAS_MOVED,
        detail={**change, "alias": "champion", "reason": reason[:500]},
        source="early-warning models promote",
    )
    db.commit()


def _print_history(home: Path, settings: Any) -> int:
    from models.registry import alias_history

    events = alias_history(home, settings)
    if not events:
        print(f"No alias of {settings.registered_model_name} has ever been set.")
        return EXIT_OK
    for event in events:
        if event.get("change") == "removed":
            moved = f"removed from v{event['version']}"
        elif event.get("change") == "confirmed":
            moved = f"== v{event['version']} (unchanged)"
        else:
            moved = f"-> v{event['version']}" + (
                f" (replacing v{event['replaced']})" if event.get("replaced") else ""
            )
        print(
            f"{event['at']}  {event['alias']:<10} {moved}  {event['action']} by {event['by']}: {event['reason']}"
        )
    return EXIT_OK


def _print_versions(rows: list[dict[str, Any]]) -> None:
    if not any("champion" in row["aliases"] for row in rows):
        print("No version is champion: the nightly run uses the transparent rules score.")
    for row in rows:
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in row["metrics"].items())
        aliases = ",".join(row["aliases"]) or "-"
        print(
            f"v{row['version']:<4} {aliases:<11} {row['model'] or '?':<10} trained as of {row['trained_as_of']}  "
            f"{metrics}"
        )
        if row["reason"]:
            print(f"      {row['decision']}: {row['reason']}")
        if row.get("promoted"):
            print(f"      promoted {row['promoted']}")


def _cmd_models(args: argparse.Namespace) -> int:
    import getpass

    from early_warning.paths import resolve_home
    from flows.runtime import configure_runtime

    home = resolve_home(args.home)
    configure_runtime(home)
    from models.registry import list_models, promote_model
    from models.training_settings import load_training_settings

    settings = load_training_settings(args.config)  # the council's registered model name

    if args.action == "promote":
        if args.version is None or not (args.reason or "").strip():
            print(
                "Say which version to promote and why: early-warning models promote VERSION --reason TEXT",
                file=sys.stderr,
            )
            return EXIT_UNUSABLE
        by = args.by or getpass.getuser()
        try:
            audit_log = _open_audit_log(home)
        except RuntimeError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_UNUSABLE
        with audit_log:
            try:
                change = promote_model(home, args.version, settings, reason=args.reason, by=by)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return EXIT_UNUSABLE
            _audit_alias_move(audit_log, by, change, args.reason.strip())
        was = (
            f" (was version {change['previous']})"
            if change["previous"] not in ("", change["version"])
            else ""
        )
        print(
            f"Version {args.version} is now the champion{was}: {change['action']} by {by}; "
            "tonight's run will use it. Reason recorded in the registry and the audit log."
        )
        return EXIT_OK
    if args.action == "history":
        return _print_history(home, settings)
    rows = list_models(home, settings)
    if not rows:
        print("No model is registered; the nightly run uses the transparent rules score.")
        return EXIT_OK
    _print_versions(rows)
    return EXIT_OK


def _cmd_mlflow(args: argparse.Namespace) -> int:
    """Serve MLflow's UI on the project's own store (loopback by default) until Ctrl-C."""
    import os
    import subprocess

    from early_warning.paths import resolve_home
    from flows.runtime import configure_runtime

    home = resolve_home(args.home)
    configure_runtime(home)
    from models.registry import artifact_location, tracking_uri

    (home / "mlflow" / "artifacts").mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", tracking_uri(home),
        "--default-artifact-root", artifact_location(home),
        "--host", args.host, "--port", str(args.port), "--workers", "1",
    ]  # fmt: skip
    print(f"MLflow for {home / 'mlflow'}: http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return EXIT_OK


def _cmd_config_check(args: argparse.Namespace) -> int:
    from early_warning.all_settings import load_all

    settings = load_all(args.config)
    config = settings.config
    where = args.config or "the built-in defaults"
    own = [name for name, path in settings.files.items() if args.config and path.parent == Path(args.config)]
    print(
        f"Configuration in {where} is valid: all {len(settings.files)} files "
        f"({', '.join(own) + ' from the folder, the rest' if own else 'all'} from the defaults); "
        f"{len(config.sources)} sources, {len(config.thresholds.services)} services, "
        f"{len(config.localities.localities)} localities, {len(settings.rules.rules)} rules-score rules."
    )
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from early_warning.demo import run_demo
    from early_warning.paths import resolve_home

    return run_demo(
        home=resolve_home(args.home),
        residents=args.residents,
        seed=args.seed,
        train=not args.no_train,
        serve=not args.no_serve,
    )


def _web_settings(args: argparse.Namespace) -> Any:
    from early_warning.paths import resolve_home
    from early_warning.settings import get_settings

    chosen = get_settings()
    # --config wins over EARLY_WARNING_CONFIG, as --home wins over EARLY_WARNING_HOME.
    return chosen.model_copy(update={"home": resolve_home(args.home), "config": args.config or chosen.config})


def _cmd_serve(args: argparse.Namespace) -> int:
    from review_ui.web.server import serve, worker_count

    settings = _web_settings(args)
    workers = worker_count(settings, args.workers)
    print(
        f"Serving the review app at http://{args.host or settings.host}:{args.port or settings.port}/ "
        f"with {workers} worker process{'es' if workers > 1 else ''}"
    )
    serve(settings, host=args.host, port=args.port, workers=workers)
    return EXIT_OK


def _cmd_audit_protect(args: argparse.Namespace) -> int:
    """``audit protect``: the DBA's one-off step that takes ``audit_log`` away from the app's role."""
    from sqlalchemy import make_url

    from review_ui.store import make_engine
    from review_ui.store.audit_owner import DEFAULT_OWNER_ROLE, AuditOwnerError, protect_audit_log

    if not args.dba_url:
        print(
            "audit protect needs --dba-url: a PostgreSQL superuser's connection to the app's database",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    app_role = args.app_role
    if app_role is None:
        app_url = _web_settings(args).database_url
        app_role = make_url(app_url).username if app_url else None
    if not app_role:
        print(
            "audit protect: say which role the app connects as (--app-role), or set the app's "
            "database URL (EARLY_WARNING_DATABASE_URL) with its user",
            file=sys.stderr,
        )
        return EXIT_UNUSABLE
    engine = make_engine(args.dba_url)
    try:
        done = protect_audit_log(engine, app_role=app_role, owner_role=args.owner_role or DEFAULT_OWNER_ROLE)
    except AuditOwnerError as error:
        print(f"audit protect: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    finally:
        engine.dispose()
    created = " (created, NOLOGIN)" if done.owner_role_created else ""
    print(
        f"audit_log in schema {done.schema} is owned by {done.owner_role}{created}; "
        f"{done.app_role} may INSERT and SELECT on it only."
    )
    if done.app_owns_schema:
        print(
            f"ATTENTION: {done.app_role} owns schema {done.schema}, so it can still drop the whole table. "
            f"Make the DBA the schema's owner and GRANT USAGE, CREATE ON SCHEMA {done.schema} TO {done.app_role}.",
            file=sys.stderr,
        )
        return EXIT_ATTENTION
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 15 characters): ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords were different")
    return first


def _cmd_audit(args: argparse.Namespace) -> int:
    from review_ui.store import queue_database_url
    from review_ui.store.audit import verify_audit_chain
    from review_ui.web.accounts import _session

    if args.action == "protect":
        return _cmd_audit_protect(args)
    settings = _web_settings(args)
    url = settings.database_url or queue_database_url(settings.home)
    with _session(url) as db:
        check = verify_audit_chain(db)
    if check.intact:
        print(f"The audit log is intact: {check.checked} entries checked, each chained to the one before.")
        return EXIT_OK
    print(
        f"The audit log has been altered: entry {check.broken_id} is the first that fails ({check.reason}). "
        "Keep a copy of the database as it is and tell whoever is responsible for the service's security.",
        file=sys.stderr,
    )
    return EXIT_ATTENTION


def _cmd_users(args: argparse.Namespace) -> int:
    from review_ui.store import queue_database_url, set_user_active
    from review_ui.web.accounts import CLI_ACTOR, _session, add_user, list_users

    settings = _web_settings(args)
    url = settings.database_url or queue_database_url(settings.home)
    try:
        if args.action == "add":
            if not args.username or not args.role:
                raise ValueError("say who: early-warning users add NAME --role ROLE [--locality L]")
            user = add_user(
                url,
                username=args.username,
                role=args.role,
                locality=args.locality,
                display_name=args.display_name,
                password=_read_password(args),
            )
            where = f" in {user.locality}" if user.locality else ""
            print(f"Added {user.username} as {user.role}{where}.")
        elif args.action == "list":
            for user in list_users(url):
                state = "" if user.active else " (deactivated)"
                print(f"{user.username:24} {user.role:14} {user.locality or '-':20}{state}")
        else:
            if not args.username:
                raise ValueError(f"say who: early-warning users {args.action} NAME")
            with _session(url) as db:
                set_user_active(
                    session=db, username=args.username, active=args.action == "activate", changed_by=CLI_ACTOR
                )
            print(f"{args.username} is now {'active' if args.action == 'activate' else 'deactivated'}.")
    except (ValueError, LookupError) as exc:
        print(f"Could not {args.action} the user: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="early-warning",
        description=(
            "Find residents known to no council service whose contacts, seen together, "
            "show need - and hand them to people for review. Never to enforcement."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    import textwrap

    from early_warning.synthetic.worlds import WORLDS  # light: no numpy or polars

    gen = commands.add_parser(
        "generate",
        help="write a synthetic borough's extracts and ground truth",
        description="Write a synthetic borough: DIR/extracts in the data contract's shape and DIR/truth "
        "(truth/world.json names the world and its settings).",
        epilog="worlds (--world NAME):\n\n"
        + "\n\n".join(
            textwrap.fill(
                f"{w.name}: {w.description}", width=78, initial_indent="  ", subsequent_indent="    "
            )
            for w in WORLDS.values()
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument(
        "--residents", type=_positive_int, default=20_000, help="number of residents (default 20000)"
    )
    gen.add_argument(
        "--years", type=_positive_int, default=3, help="years of history before --as-of (default 3)"
    )
    gen.add_argument(
        "--as-of", type=_iso_date, required=True, help="the night the extracts are taken, YYYY-MM-DD"
    )
    gen.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same files")
    gen.add_argument("--out", type=Path, required=True, help="folder to write extracts/ and truth/ into")
    gen.add_argument("--quiet", action="store_true", help="no progress bars")
    gen.add_argument(
        "--world",
        choices=list(WORLDS),
        default="baseline",
        metavar="NAME",
        help=f"which kind of council to simulate, one of: {', '.join(WORLDS)} (default baseline; "
        "described below)",
    )
    gen.set_defaults(handler=_cmd_generate)

    nightly = commands.add_parser(
        "nightly",
        help="run one night: read and check the extracts, then the later stages",
        description="Run one night's job on a folder of extracts: build it under <home>/runs/.staging/, "
        "check the extracts (sources.yaml `checks`), route it and move it into <home>/runs/<as-of>/ - or hold "
        "it, routing nothing, under <home>/runs/.held/<as-of>/.",
        epilog=NIGHTLY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    nightly.add_argument("--extracts", type=Path, required=True, help="the folder of the night's extracts")
    nightly.add_argument("--as-of", type=_iso_date, required=True, help="the night, YYYY-MM-DD")
    nightly.add_argument("--quiet", action="store_true", help="print less")
    on_dask = nightly.add_mutually_exclusive_group()
    on_dask.add_argument(
        "--dask-address",
        metavar="ADDRESS",
        default=None,
        help="fan the per-locality stages out over the Dask scheduler at ADDRESS (tcp://host:8786); "
        "needs PREFECT_API_URL (default: $EARLY_WARNING_DASK_ADDRESS, else no fan-out)",
    )
    on_dask.add_argument(
        "--dask-local",
        metavar="N",
        type=_positive_int,
        default=None,
        help="fan them out over a temporary Dask cluster of N worker processes on this machine",
    )
    _add_common(nightly)
    nightly.set_defaults(handler=_cmd_nightly)

    release = commands.add_parser(
        "release",
        help="route a night its checks held, saying why (recorded in the audit log)",
        description=(
            "Route the night NIGHT that the extracts' checks held (<home>/runs/.held/NIGHT/), from the files "
            "it built, after recording who released it (your user name) and why in the review app's audit "
            "log. The other way out of a held night is to fix the extracts and run the night again."
        ),
        epilog=NIGHTLY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    release.add_argument("as_of", metavar="NIGHT", type=_iso_date, help="the held night, YYYY-MM-DD")
    release.add_argument("--reason", required=True, help="why the night may be routed as it is")
    _add_common(release)
    release.set_defaults(handler=_cmd_release)

    bench = commands.add_parser(
        "bench",
        help="time each stage of a night on a synthetic borough, with peak memory and the floor",
        description=(
            "Generate (or reuse, from <home>/bench) a synthetic borough, time reading its extracts once "
            "(the floor), then run every stage of the nightly run on it in a fresh home, and report "
            "seconds, CPU seconds and peak memory per stage; then time real early-warning nightly "
            "processes on it from start to exit, without and with a running Prefect server."
        ),
    )
    bench.add_argument("--residents", type=_positive_int, default=100_000, help="default 100000")
    bench.add_argument("--years", type=_positive_int, default=5, help="years of history (default 5)")
    bench.add_argument("--seed", type=int, default=1, help="the borough's random seed (default 1)")
    bench.add_argument(
        "--as-of", type=_iso_date, default=date(2026, 3, 31), help="the night (default 2026-03-31)"
    )
    bench.add_argument(
        "--results",
        type=Path,
        default=Path("benchmarks/results/nightly.json"),
        help="JSON list the figures are appended to (default benchmarks/results/nightly.json)",
    )
    bench.add_argument(
        "--incremental",
        action="store_true",
        help="also run the night before and then the night again, reusing what may be reused",
    )
    bench.add_argument(
        "--no-nightly-process",
        dest="nightly_process",
        action="store_false",
        help="skip timing real early-warning nightly processes (start-up and exit included)",
    )
    _add_common(bench)
    bench.set_defaults(handler=_cmd_bench)

    schedule = commands.add_parser(
        "schedule",
        help="serve the nightly run on a cron schedule (default 02:00 Europe/London)",
        description=(
            "Serve the nightly flow on a schedule until stopped. Each run is for the night it starts on. "
            "Without PREFECT_API_URL a local Prefect server is started under <home>/prefect."
        ),
    )
    schedule.add_argument(
        "--extracts", type=Path, required=True, help="the folder each night's extracts arrive in"
    )
    schedule.add_argument("--cron", default="0 2 * * *", help="cron expression (default '0 2 * * *')")
    schedule.add_argument(
        "--timezone", default="Europe/London", help="time zone of the cron (default Europe/London)"
    )
    schedule.add_argument(
        "--port", type=int, default=4200, help="port for the local Prefect server (default 4200)"
    )
    _add_common(schedule)
    schedule.set_defaults(handler=_cmd_schedule)

    status = commands.add_parser(
        "status",
        help="for the person on call: the last whole night, held or failed nights, sources, queue, disk",
        description=(
            "Read-only: whether a night is running now, the last whole night, held or failed nights with "
            "their reasons, each source's newest record and rows against the whole night before, open "
            "review items, the disk the home uses and the next scheduled run (docs/operations.md)."
        ),
    )
    _add_common(status)
    status.set_defaults(handler=_cmd_status)

    train = commands.add_parser(
        "train",
        help="train and evaluate models on a night's extracts; register the best in MLflow",
        description=(
            "Backtest on monthly snapshots (labels: crisis; enforcement only with other signs of need; "
            "caseworkers' outcomes from the review queue), fit the rules score, a logistic regression and "
            "a calibrated gradient-boosted model, report on the latest held-out period against naive "
            "baselines, log everything to MLflow and register the best learned model. It becomes "
            "'champion' only if it beats the rules score and every naive baseline at capacity in at "
            "least 90%% of bootstrap resamples, without widening a fairness gap; otherwise the rules "
            "score stays in use and train says so."
        ),
    )
    train.add_argument("--extracts", type=Path, required=True, help="the folder of extracts to learn from")
    train.add_argument(
        "--as-of", type=_iso_date, required=True, help="the night the extracts were taken, YYYY-MM-DD"
    )
    train.add_argument(
        "--search",
        type=int,
        default=0,
        metavar="N",
        help="also try N random hyper-parameter settings per model family (nested runs)",
    )
    _add_common(train)
    train.set_defaults(handler=_cmd_train)

    models = commands.add_parser(
        "models",
        help="list registered models, promote or roll back the champion, show the alias history",
        description=(
            "For the data team: list model versions with their metrics and decisions, promote one "
            "(or roll back to an earlier one) with a reason, or print every alias change with who, "
            "when and why."
        ),
    )
    models.add_argument(
        "action",
        choices=["list", "promote", "history"],
        help="list versions, promote VERSION (or an older one: a rollback), or show every alias change",
    )
    models.add_argument("version", nargs="?", help="the version to promote (or roll back to)")
    models.add_argument(
        "--reason", help="promote: why this version should score tonight (kept in the registry)"
    )
    models.add_argument("--by", help="promote: who decided (default: your user name)")
    _add_common(models)
    models.set_defaults(handler=_cmd_models)

    mlflow_ui = commands.add_parser(
        "mlflow",
        help="open the MLflow UI on this home's tracking store and registry",
        description=(
            "Serve MLflow's own UI (runs, metrics, plots, model cards, registered versions) on the "
            "project's store under <home>/mlflow, on 127.0.0.1 by default, until Ctrl-C."
        ),
    )
    mlflow_ui.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    mlflow_ui.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    _add_common(mlflow_ui)
    mlflow_ui.set_defaults(handler=_cmd_mlflow)

    config = commands.add_parser(
        "config-check",
        help="check a council's configuration files and say what is wrong",
        description="Load and validate the configuration; errors name the file, the key and what was expected.",
    )
    _add_common(config)
    config.set_defaults(handler=_cmd_config_check)

    demo = commands.add_parser(
        "demo",
        help="generate a borough, train a model, run a night, fill the review queue",
        description=(
            "Generate a synthetic borough under <home>/demo, train and register a model in MLflow, "
            "run the nightly flow on it and say what was sent to each locality's review queue."
        ),
    )
    demo.add_argument(
        "--residents", type=_positive_int, default=20_000, help="number of residents (default 20000)"
    )
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--no-train", action="store_true", help="skip training: score with the rules score")
    demo.add_argument(
        "--no-serve", action="store_true", help="stop after the night instead of serving the app"
    )
    _add_common(demo)
    demo.set_defaults(handler=_cmd_demo)

    serve = commands.add_parser(
        "serve",
        help="serve the caseworkers' review app (default http://127.0.0.1:8000/)",
        description=(
            "Serve the review app on the review queue (EARLY_WARNING_DATABASE_URL, or SQLite under <home>). "
            "Settings come from EARLY_WARNING_* variables (see the README)."
        ),
    )
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default 8000)")
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes (default EARLY_WARNING_WORKERS, else one per core, at most 4)",
    )
    _add_common(serve)
    serve.set_defaults(handler=_cmd_serve)

    users = commands.add_parser(
        "users",
        help="add, list, deactivate or activate the review app's users",
        description=(
            "Manage sign-ins. 'add' asks for the password twice (or reads one line from standard input "
            "with --password-stdin). Roles: caseworker and team_lead need --locality; administrator; analyst."
        ),
    )
    users.add_argument("action", choices=["add", "list", "deactivate", "activate"])
    users.add_argument("username", nargs="?", help="the sign-in name")
    users.add_argument("--role", choices=["caseworker", "team_lead", "administrator", "analyst"])
    users.add_argument("--locality", default=None, help="the locality team (caseworkers and team leads)")
    users.add_argument("--display-name", default=None, help="the name shown in the app (default: username)")
    users.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _add_common(users)
    users.set_defaults(handler=_cmd_users)

    audit = commands.add_parser(
        "audit",
        help="check that the review app's audit log has not been altered",
        description=(
            "verify: walk the audit log's hash chain and name the first entry that was changed, "
            "removed or slipped in. Exit 0 when intact, 1 when not. "
            "protect (PostgreSQL, once, by a DBA): make a separate role own audit_log and leave the "
            "app's role INSERT and SELECT on it only, so it cannot switch the append-only triggers off."
        ),
    )
    audit.add_argument("action", choices=["verify", "protect"])
    audit.add_argument(
        "--dba-url",
        default=None,
        help=(
            "protect: a PostgreSQL superuser's connection to the app's database and schema "
            "(e.g. postgresql+psycopg://postgres@/earlywarning; give the password by PGPASSWORD or "
            "~/.pgpass, not in the URL)"
        ),
    )
    audit.add_argument(
        "--app-role",
        default=None,
        help="protect: the app's role (default: the user of the app's database URL)",
    )
    audit.add_argument("--owner-role", default=None, help="protect: the role to own audit_log")
    _add_common(audit)
    audit.set_defaults(handler=_cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from early_warning.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    # Everything a command writes (runs, quarantine, the queue, Prefect's and MLflow's
    # databases) can hold personal data: owner-only (0700 folders, 0600 files).
    previous_umask = os.umask(0o077)
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"Configuration problem:\n{exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    finally:
        os.umask(previous_umask)


if __name__ == "__main__":
    sys.exit(main())
