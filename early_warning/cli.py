"""The ``early-warning`` command.

One sub-command per thing a user does: generate a synthetic borough, run a
night, check a council's configuration, run the demo. Heavy libraries are
imported inside each handler so that ``early-warning --help`` and the quick
commands start at once (NOTES.md: mlflow and prefect take seconds to import).

Exit codes: 0 done; 1 the work ran but something needs attention (a source
was skipped); 2 the command could not run (bad arguments or configuration).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

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
        f"Generating a synthetic borough: {args.residents:,} residents, {args.years} years "
        f"to {args.as_of}, seed {args.seed} -> {args.out}"
    )
    summary = generate_borough(
        args.out,
        residents=args.residents,
        years=args.years,
        as_of=args.as_of,
        seed=args.seed,
        progress=not args.quiet,
    )
    for path, rows in summary.rows.items():
        print(f"  {rows:>12,}  {path}")
    print(f"Wrote {summary.total_rows:,} rows in {summary.seconds:.1f} s.")
    return EXIT_OK


def _cmd_nightly(args: argparse.Namespace) -> int:
    from early_warning.config import load_config
    from early_warning.paths import resolve_home
    from flows.nightly import run_nightly

    config = load_config(args.config)
    outcome = run_nightly(
        extracts=args.extracts,
        as_of=args.as_of,
        home=resolve_home(args.home),
        config=config,
        progress=not args.quiet,
    )
    print(outcome.summary())
    return EXIT_ATTENTION if outcome.needs_attention else EXIT_OK


def _cmd_config_check(args: argparse.Namespace) -> int:
    from early_warning.config import load_config

    config = load_config(args.config)
    where = args.config or "the built-in defaults"
    print(
        f"Configuration in {where} is valid: {len(config.sources)} sources, "
        f"{len(config.thresholds.services)} services, "
        f"{len(config.localities.localities)} localities."
    )
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from early_warning.demo import run_demo
    from early_warning.paths import resolve_home

    return run_demo(home=resolve_home(args.home), residents=args.residents, seed=args.seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="early-warning",
        description=(
            "Find residents known to no council service whose contacts, seen together, "
            "show need - and hand them to people for review. Never to enforcement."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser(
        "generate",
        help="write a synthetic borough's extracts and ground truth",
        description="Write a synthetic borough: DIR/extracts in the data contract's shape and DIR/truth.",
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
    gen.set_defaults(handler=_cmd_generate)

    nightly = commands.add_parser(
        "nightly",
        help="run one night: read and check the extracts, then the later stages",
        description="Run one night's job on a folder of extracts, writing under <home>/runs/<as-of>/.",
    )
    nightly.add_argument("--extracts", type=Path, required=True, help="the folder of the night's extracts")
    nightly.add_argument("--as-of", type=_iso_date, required=True, help="the night, YYYY-MM-DD")
    nightly.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_common(nightly)
    nightly.set_defaults(handler=_cmd_nightly)

    config = commands.add_parser(
        "config-check",
        help="check a council's configuration files and say what is wrong",
        description="Load and validate the configuration; errors name the file, the key and what was expected.",
    )
    _add_common(config)
    config.set_defaults(handler=_cmd_config_check)

    demo = commands.add_parser(
        "demo",
        help="generate a small borough and run a night on it",
        description="Generate a synthetic borough under <home>/demo and run the nightly job on it.",
    )
    demo.add_argument(
        "--residents", type=_positive_int, default=20_000, help="number of residents (default 20000)"
    )
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    _add_common(demo)
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from early_warning.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"Configuration problem:\n{exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
