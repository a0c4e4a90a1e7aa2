"""`imgscan scan IMAGE`: the report in one or more formats, the fix script, and the exit code of the gate.
`run_scan` is also how the listings and `diff` scan an image: one set of options, one clock."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from imgscan.check import Severity
from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, crashes
from imgscan.cli.options import IMAGE_HELP, Groups, add_command, output_file, severities
from imgscan.cli.outputs import together, warn, write
from imgscan.cli.validation import inside
from imgscan.gate import crashed
from imgscan.ignore import DEFAULT as DEFAULT_IGNORE
from imgscan.report import Report

if TYPE_CHECKING:
    from imgscan.cli.options import Subcommands
    from imgscan.context import ScanContext
    from imgscan.kinds import Kind
    from imgscan.loader import LoadedChecks
    from imgscan.scan import Options, ScanResult

SCAN_FORMATS = ("csv", "html", "json", "junit", "sarif", "table")


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    parents = [groups.common, groups.when, groups.firmware, groups.gate]
    made = add_command(sub, "scan", parents, "scan an image and report findings")
    made.add_argument("image", type=Path, help=IMAGE_HELP)
    made.add_argument(
        "-f",
        "--format",
        action="append",
        choices=SCAN_FORMATS,
        metavar="FORMAT",
        help=f"{'|'.join(SCAN_FORMATS)} (repeatable; default: the ones -o's names say, else table)",
    )
    made.add_argument(
        "-o",
        "--output",
        action="append",
        type=output_file,
        default=[],
        metavar="FILE",
        help="where the matching --format goes (repeatable; a format without one goes to stdout; without -f, "
        "the name says the format: .json, .sarif, .html, .csv, .xml (junit), .txt (table))",
    )
    made.add_argument(
        "--severity",
        type=severities,
        metavar="SEVERITY|LIST",
        help="show only findings of this severity or worse (medium: medium, high, critical), or of exactly the "
        "listed ones (high,critical); a finding not shown still counts for --fail-on, and the report says how many "
        "were hidden",
    )
    made.add_argument(
        "--fix-script",
        type=output_file,
        metavar="FILE",
        help="write the registry fixes of the findings to FILE (.reg or .ps1); imgscan never applies them",
    )
    cache = made.add_mutually_exclusive_group()  # both at once: which did the user mean?
    cache.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="keep catalog verdicts here, so that a rescan judges only new catalogs "
        "(default: $XDG_CACHE_HOME/imgscan, else ~/.cache/imgscan; never next to the image)",
    )
    cache.add_argument("--no-cache", action="store_true", help="judge every catalog, and keep no verdicts")


def run(args: argparse.Namespace) -> int:
    formats = args.format  # one per -o, and at most one more for stdout (main checked them against -o's names)
    from imgscan.collector import young_collections_only
    from imgscan.fixes import fix_script
    from imgscan.loader import load_checks

    checks = load_checks(args.plugins)
    # the scan's heap lives on while its cache notes what it reused and its views are rendered: a full
    # collection there walked all of it (8% of a cached rescan of a 20,000-catalog image)
    with young_collections_only():
        result = run_scan(args, checks=checks)
        with together():  # every report and the fix script, or none of them
            for index, fmt in enumerate(formats):
                target = args.output[index] if index < len(args.output) else None
                write(target, _view(fmt, result.report, checks, args.fail_on))
            if args.fix_script:
                write(args.fix_script, fix_script(result.findings, args.fix_script.suffix.lower()))
    warn(result.report["errors"], result.report["warnings"], args.quiet)
    if result.checks_completed == 0:
        print(f"imgscan: error: {args.image}: no check could run", file=sys.stderr)
        return EXIT_ERROR
    if broken := crashed(result.report):  # a check that did not finish hides what it would have found
        print(f"imgscan: error: {crashes(broken, args.image)}", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_FINDINGS if result.gate(args.fail_on) else EXIT_CLEAN


def run_scan(
    args: argparse.Namespace,
    image: Path | None = None,
    checks: LoadedChecks | None = None,
    kinds: tuple[Kind[Any], ...] = (),
    evidence: tuple[Path, ...] = (),
) -> ScanResult:
    """Scan with the command's options (and `kinds` read beyond the checks'); a bad ignore file stops here,
    before the (long) scan. `scan` keeps its catalogs' verdicts in a cache (a load setting: it changes how
    long a read takes, never what it finds); the listings and diff judge every catalog as before.
    `evidence`: every image of the command (diff's two), none of which may supply the default ignore file."""
    from dataclasses import replace

    from imgscan.cli.cache import default_dir, scan_cache
    from imgscan.loader import load_checks
    from imgscan.scan import scan

    image = image or args.image
    options = _options(args, evidence or (image,))
    cached = hasattr(args, "no_cache") and not args.no_cache
    with scan_cache((args.cache_dir or default_dir()) if cached else None, image, args.quiet) as cache:
        settings = replace(options.load, verdict_cache=cache)
        options = replace(options, kinds=kinds, load=settings)
        return scan(image, scan_context(args), checks or load_checks(args.plugins), options)


def scan_context(args: argparse.Namespace) -> ScanContext:
    """The scan context of a command, made from the one clock: the day of the run is --as-of's default and
    the day ignore entries expire against."""
    from imgscan.context import ScanContext
    from imgscan.signing.firmware_db import UNKNOWN

    today = datetime.now(timezone.utc).date()
    return ScanContext(
        as_of=args.as_of or today,
        horizon_days=args.horizon,
        today=today,
        # packages and catalogs run no Secure Boot check, so they offer no --target-firmware or --target-dbx
        firmware=getattr(args, "target_firmware", UNKNOWN),
        dbx=getattr(args, "target_dbx", None),
    )


def _ignore_file(args: argparse.Namespace, images: tuple[Path, ...]) -> Path | None:
    """--ignore, else the working directory's .imgscanignore.yaml, unless that file lies inside an image of the
    command (an extracted image or collection scanned from within; either side of a diff): the evidence does
    not choose what is accepted. A file given with --ignore is the user's choice, wherever it is."""
    if getattr(args, "ignore", None):
        return cast(Path, args.ignore)
    if not DEFAULT_IGNORE.is_file():
        return None
    found = Path(os.path.realpath(DEFAULT_IGNORE))
    if any(inside(found, image) for image in images):
        if not args.quiet:
            _say_once(
                f"imgscan: warning: {found}: not used, it is inside an image this command reads (the evidence does not "
                f"choose which findings are accepted); pass --ignore {found} to use it"
            )
        return None
    return DEFAULT_IGNORE


@functools.cache
def _say_once(line: str) -> None:
    """A warning on stderr once per run, however many images (diff's two sides) lead to it."""
    print(line, file=sys.stderr)


def _options(args: argparse.Namespace, images: tuple[Path, ...]) -> Options:
    from imgscan.artefacts import LoadSettings
    from imgscan.ignore import load as load_ignore
    from imgscan.image import Selection
    from imgscan.scan import Options

    ignore_path = _ignore_file(args, images)
    return Options(
        selection=Selection(args.index, args.image_name),
        ignore=load_ignore(ignore_path) if ignore_path else [],
        ignore_source=str(ignore_path or ""),
        severities=getattr(args, "severity", None),
        load=LoadSettings(jobs=args.jobs),
    )


def _view(fmt: str, report: Report, checks: LoadedChecks, fail_on: Severity) -> str:
    """One scan report view; each gets the report, the loaded rules and the --fail-on threshold."""
    if fmt == "table":
        from imgscan.views.table import to_table

        return to_table(report)
    if fmt == "json":
        from imgscan.views.json_view import to_json

        return to_json(report)
    if fmt == "sarif":
        from imgscan.views.sarif import to_sarif

        return to_sarif(report, checks.rules, fail_on)
    if fmt == "junit":
        from imgscan.views.junit import to_junit

        return to_junit(report, checks.checks, fail_on)
    if fmt == "csv":
        from imgscan.views.csv_view import to_csv

        return to_csv(report)
    from imgscan.views.html import to_html

    return to_html(report, fail_on)
