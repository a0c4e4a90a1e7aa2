"""Command line: `imgscan scan|packages|catalogs|timeline IMAGE`, `preflight IMAGE UPDATE...`, `fleet INPUT...`,
`diff OLD NEW`, `images WIM`, `explain CODE`, `rules`, `plugins`: the parser, assembled from the command
families' modules, and the run of one command with its exit code (see imgscan.cli.exits)."""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

import imgscan.cli.diff as diff
import imgscan.cli.fleet as fleet
import imgscan.cli.info as info
import imgscan.cli.listings as listings
import imgscan.cli.preflight as preflight
import imgscan.cli.scan as scan
from imgscan import __version__, interrupt
from imgscan.cli import outputs, stderr
from imgscan.cli.exits import EXIT_CLEAN, EXIT_CODES, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, internal_error, interruption
from imgscan.cli.options import Parser, groups
from imgscan.cli.validation import check_fleet, check_outputs, check_plugins, check_selection, check_writable, report_files
from imgscan.errors import ImgscanError

__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_INTERNAL", "build_parser", "main"]

# Commands import what they need when they run: `--version`, `--help`, `explain` and `plugins`
# must not pay for dissect, the fleet engine and the report views (bench/startup.py measures it).
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scan": scan.run,
    "packages": listings.run_listing,
    "catalogs": listings.run_listing,
    "timeline": listings.run_timeline,
    "preflight": preflight.run,
    "diff": diff.run,
    "fleet": fleet.run,
    "images": info.run_images,
    "explain": info.run_explain,
    "rules": info.run_rules,
    "plugins": info.run_plugins,
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="imgscan",
        description="Predict Windows Update failures from an offline Windows disk or golden image.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"imgscan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    shared = groups()
    for family in (scan, listings, preflight, diff, fleet, info):  # the order --help lists them in
        family.add_parsers(sub, shared)
    return parser


def configure_logging(verbose: bool, debug: bool) -> None:
    """imgscan speaks through its own one-line messages; library logs (dissect's warnings about
    every hive it cannot open, for one) stay hidden unless -v or --debug."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.CRITICAL + 1
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """The CLI; it owns the process's SIGINT and SIGTERM handling (see imgscan.interrupt). A run that ends in
    neither 0 nor 1 leaves no earlier run's report where it was told to write its own (outputs.discard_stale)."""
    code = EXIT_INTERNAL  # an exception that is none of those below
    try:
        interrupt.install()  # first (inside: imgscan.launch caught a signal until now): one line and exit 130
        stderr.guard()  # a reader of stderr that went away does not change the exit code
        outputs.begin()
        code = _main(argv)
        return code
    except KeyboardInterrupt as exc:
        print(f"imgscan: {interruption(exc)}", file=sys.stderr)
        code = exc.exit_code if isinstance(exc, interrupt.Interrupted) else 128 + signal.SIGINT
        return code
    except SystemExit as exc:  # a usage error (2), --help or --version (0)
        code = exc.code if isinstance(exc.code, int) else EXIT_CLEAN if exc.code is None else EXIT_ERROR
        raise
    finally:
        # the run is over, finished or interrupted: what is left of the process is the clean-up at exit, which a
        # late Ctrl-C must neither cut short nor turn into exit 130 after the reports were written
        interrupt.ignore()
        if code not in (EXIT_CLEAN, EXIT_FINDINGS):
            outputs.discard_stale()


def run() -> NoReturn:
    """The `imgscan` console script and `python -m imgscan`: `main`, the exit handlers, then the process
    ends at once.

    Once `main` returns, everything the run owns is closed (reports written whole, caches committed,
    worker pools shut down, temporary folders removed by the code that made them) but what libraries
    registered for exit (multiprocessing removes its socket folder in TMPDIR, logging flushes); those
    run. What interpreter exit would still do after them is free a scan's heap (a record per catalog,
    file and package) object by object, 5% of a rescan of a 20,000-catalog image (bench/catalogs.py):
    that is skipped with os._exit, as mypy's command does, once the streams are flushed. A report that
    cannot be flushed whole makes the exit code an error, as a failed write does."""
    code = main()
    atexit._run_exitfuncs()  # typeshed and CPython 3.8-3.13 have it: the handlers `sys.exit` would run
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the reader went away or the disk is full: what is left of the output is lost
            code = max(code, EXIT_ERROR)
    os._exit(code)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = subcommands.choices[args.command]
    outputs.expect(report_files(args, command), args.quiet)  # from here on, a usage error leaves no earlier report
    if unknown:  # say it in the subcommand's words, not the top-level ones
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    check_fleet(args, command)  # an option that would be ignored, before what the others check
    check_outputs(args, command)
    check_plugins(args, command)
    check_selection(args, command)
    check_writable(args, command)  # last: it makes a file in each report's folder
    configure_logging(args.verbose, args.debug)
    if args.quiet or args.no_progress:
        from imgscan import progress

        progress.ENABLED["progress"] = False
    try:
        return COMMANDS[args.command](args)
    except Exception as exc:
        if (stopped := interrupt.received()) is not None:
            raise stopped from exc  # a worker or wimlib the same Ctrl-C ended: the interruption is what happened
        if args.debug:  # the traceback first, then the same line and exit code as without --debug
            traceback.print_exc()
        if isinstance(exc, ImgscanError):
            print(f"imgscan: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        print(f"imgscan: {internal_error(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
