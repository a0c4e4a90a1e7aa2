"""Command line: `imgscan scan|packages|catalogs|timeline IMAGE`, `fleet INPUT...`, `diff OLD NEW`, `images WIM`,
`explain CODE`, `plugins`.

Exit codes (the same in every subcommand):
  0  no finding at or above --fail-on (diff: no new one)
  1  at least one finding at or above --fail-on that no ignore entry accepts (diff: a new one)
  2  unreadable input, usage error, or nothing could be checked
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from imgscan import __version__
from imgscan.check import TARGET_FIRMWARE, Json, Severity
from imgscan.errors import ImgscanError, UnreadableImage
from imgscan.ignore import DEFAULT as DEFAULT_IGNORE

if TYPE_CHECKING:
    from imgscan.firmware_db import SignatureDatabase
    from imgscan.loader import LoadedChecks
    from imgscan.scan import Options, ScanResult

T = TypeVar("T")

# Subcommands import what they need when they run: `--version`, `--help`, `explain` and `plugins`
# must not pay for dissect, the fleet engine and the report views (bench/startup.py measures it).

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

SCAN_FORMATS = ("csv", "html", "json", "junit", "sarif", "table")


def _scan_view(fmt: str, report: Json, checks: LoadedChecks, fail_on: Severity) -> str:
    """One scan report view; each gets the report, the loaded rules and the --fail-on threshold."""
    if fmt == "table":
        from imgscan.views.text import to_table

        return to_table(report)
    if fmt == "json":
        from imgscan.views.text import to_json

        return to_json(report)
    if fmt == "sarif":
        from imgscan.views.sarif import to_sarif

        return to_sarif(report, checks.rules)
    if fmt == "junit":
        from imgscan.views.junit import to_junit

        return to_junit(report, checks.rules, fail_on)
    if fmt == "csv":
        from imgscan.views.csv_view import to_csv

        return to_csv(report)
    from imgscan.views.html import to_html

    return to_html(report, fail_on)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r} (use 1 or more)")
    return jobs


def _target_firmware(text: str) -> str:
    from imgscan.firmware_db import firmware_target

    return _firmware_argument(firmware_target, text)


def _target_dbx(text: str) -> SignatureDatabase:
    from imgscan.firmware_db import read_dbx

    return _firmware_argument(read_dbx, text)


def _firmware_argument(read: Callable[[str], T], text: str) -> T:
    """A firmware option's value read by `read`, whose one-line ImgscanError becomes argparse's error."""
    try:
        return read(text)
    except ImgscanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _severities(text: str) -> frozenset[Severity]:
    """`medium`: medium and every worse severity; `high,critical` (spaces allowed): exactly those."""
    try:
        chosen = [Severity.parse(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not chosen:
        raise argparse.ArgumentTypeError(f"no severity in {text!r} (e.g. medium, or high,critical)")
    if len(chosen) == 1:
        return frozenset(s for s in Severity if s >= chosen[0])
    return frozenset(chosen)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgscan",
        description="Predict Windows Update failures from an offline Windows disk or golden image.",
        epilog="Exit codes: 0 clean, 1 findings at/above --fail-on, 2 unreadable input or usage error.",
    )
    parser.add_argument("--version", action="version", version=f"imgscan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show the log of dissect and other libraries")
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no warnings and no progress bars on stderr (errors are still printed)"
    )
    common.add_argument(
        "--no-progress", action="store_true", help="no progress bars (they are off anyway when stderr is not a terminal)"
    )
    common.add_argument("--debug", action="store_true", help="debug log, and tracebacks on errors")
    common.add_argument(
        "--plugins",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also load checks from the *.py files in DIR (repeatable)",
    )

    dates = argparse.ArgumentParser(add_help=False)
    dates.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="DATE",
        help="evaluate the image as of this day (YYYY-MM-DD; default: today, UTC)",
    )
    dates.add_argument(
        "--horizon",
        type=int,
        default=365,
        metavar="DAYS",
        help="also predict failures that start within DAYS after --as-of (default 365)",
    )
    when = argparse.ArgumentParser(add_help=False, parents=[dates])
    when.add_argument("--index", type=int, metavar="N", help="the image of a multi-image WIM to scan")
    when.add_argument("--image-name", metavar="NAME", help="the image of a multi-image WIM to scan, by name")
    when.add_argument(
        "--target-firmware",
        type=_target_firmware,
        default="unknown",
        metavar="{" + ",".join(TARGET_FIRMWARE) + "} or DB_FILE",
        help="the Secure Boot certificates the hosts' firmware holds: 2011-only (not yet updated), 2023 (has "
        "Windows UEFI CA 2023), unknown (default), or the db exported from one of those hosts "
        "((Get-SecureBootUEFI db).Bytes written to a file, or efivarfs' db-d719b2cb-... file)",
    )
    when.add_argument(
        "--target-dbx",
        type=_target_dbx,
        default=None,
        metavar="DBX_FILE",
        help="the Secure Boot dbx exported from one of the hosts ((Get-SecureBootUEFI dbx).Bytes written to a file): "
        "a boot manager it revokes is reported, because those hosts will not start it",
    )
    when.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes that parse and judge catalogs (default: one per core for an image with many catalogs); "
        "the report is the same whatever N",
    )

    threshold = argparse.ArgumentParser(add_help=False)
    threshold.add_argument(
        "--fail-on",
        type=_severity,
        default=Severity.HIGH,
        metavar="SEVERITY",
        help="exit 1 when a finding (fleet: a host's finding) has at least this severity "
        "(info|low|medium|high|critical; default high)",
    )
    gate = argparse.ArgumentParser(add_help=False, parents=[threshold])
    gate.add_argument(
        "--ignore", type=Path, metavar="FILE", help=f"ignore file of accepted findings (default: {DEFAULT_IGNORE} when present)"
    )

    def image_command(name: str, help_text: str, formats: tuple[str, ...], parents: list) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common, when, *parents], help=help_text)
        command.add_argument("image", type=Path, help="VHD, VHDX, VMDK, E01, raw disk/volume image, WIM, or directory")
        command.add_argument("-f", "--format", choices=formats, default="table", help=f"{'|'.join(formats)} (default table)")
        command.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
        return command

    p_scan = sub.add_parser("scan", parents=[common, when, gate], help="scan an image and report findings")
    p_scan.add_argument("image", type=Path, help="VHD, VHDX, VMDK, E01, raw disk/volume image, WIM, or directory")
    p_scan.add_argument(
        "-f",
        "--format",
        action="append",
        choices=SCAN_FORMATS,
        metavar="FORMAT",
        help=f"{'|'.join(SCAN_FORMATS)} (repeatable; default table)",
    )
    p_scan.add_argument(
        "-o",
        "--output",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="where the matching --format goes (repeatable; a format without one goes to stdout)",
    )
    p_scan.add_argument(
        "--severity",
        type=_severities,
        metavar="SEVERITY|LIST",
        help="show only findings of this severity or worse (medium: medium, high, critical), or of exactly the "
        "listed ones (high,critical); a finding not shown still counts for --fail-on, and the report says how many "
        "were hidden",
    )
    p_scan.add_argument(
        "--fix-script",
        type=Path,
        metavar="FILE",
        help="write the registry fixes of the findings to FILE (.reg or .ps1); imgscan never applies them",
    )
    image_command(
        "packages",
        "list installed updates as wmic qfe would, with each package's state and catalog validity",
        ("table", "json"),
        [],
    )
    image_command("catalogs", "list catalogs with signer, timestamp kind and valid_until", ("table", "json"), [])
    image_command(
        "timeline",
        "one ordered list of dated events: installs, catalog dates, log failures, predictions",
        ("table", "json", "csv"),
        [],
    )

    p_diff = sub.add_parser(
        "diff",
        parents=[common, when, gate],
        help="compare two images or saved JSON reports: new, resolved and unchanged findings",
    )
    p_diff.add_argument("old", type=Path, help="the previous image, or its saved `--format json` report")
    p_diff.add_argument("new", type=Path, help="the new image, or its saved report")
    p_diff.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    p_diff.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")

    p_fleet = sub.add_parser(
        "fleet",
        parents=[common, dates, threshold],
        help="scan many images (files, directories, globs, manifest CSV) into a resumable database",
    )
    p_fleet.add_argument("inputs", nargs="*", metavar="INPUT", help="image, directory of images, glob, or manifest.csv")
    p_fleet.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="local worker processes")
    p_fleet.add_argument(
        "--db",
        type=Path,
        default=Path("imgscan-fleet.sqlite"),
        help="results database (default: imgscan-fleet.sqlite in the current directory)",
    )
    p_fleet.add_argument("--resume", action="store_true", help="skip images already in the database (same hash, options)")
    p_fleet.add_argument("--report", action="store_true", help="only render the summary from --db, scan nothing")
    p_fleet.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster instead of locally")
    p_fleet.add_argument(
        "-f",
        "--format",
        choices=("table", "json", "csv", "html"),
        default="table",
        help="table|json|csv|html summary (default table)",
    )
    p_fleet.add_argument("-o", "--output", type=Path, help="write the summary to this file instead of stdout")

    p_images = sub.add_parser("images", parents=[common], help="list the images of a WIM file")
    p_images.add_argument("image", type=Path, help="a .wim, .esd or first .swm file")
    p_images.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    p_explain = sub.add_parser("explain", parents=[common], help="explain an error code: name, message, facility, rules")
    p_explain.add_argument("codes", nargs="+", metavar="CODE", help="0x800b0101, 2148204801, -2146762495 or CERT_E_EXPIRED")
    p_explain.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    p_rules = sub.add_parser(
        "rules",
        parents=[common],
        help="every rule with its severity policy, codes and references",
        description="Every rule of the built-in checks and of --plugins DIR; --format markdown prints the README's rules table.",
    )
    p_rules.add_argument(
        "-f", "--format", choices=("table", "markdown", "json"), default="table", help="table|markdown|json (default table)"
    )
    sub.add_parser(
        "plugins",
        parents=[common],
        help="list the rules of every loaded check",
        description="List every rule of the built-in checks and of --plugins DIR: id, severity, title.",
    )
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


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so temporary directories are removed on the way out."""
    raise KeyboardInterrupt(f"signal {signum}")


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # say it with the subcommand's usage, not the top-level one
        subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subcommands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    configure_logging(args.verbose, args.debug)
    if args.quiet or args.no_progress:
        from imgscan import progress

        progress.ENABLED["progress"] = False
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return COMMANDS[args.command](args)
    except ImgscanError as exc:
        if args.debug:
            raise
        print(f"imgscan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("imgscan: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        print(f"imgscan: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(function: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = function
        return function

    return register


def _write(target: Path | None, text: str) -> None:
    if target:
        target.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _warn(report: Json, quiet: bool = False) -> None:
    if quiet:
        return
    for error in report["errors"]:
        print(f"imgscan: warning: {error['path']}: {error['message']}", file=sys.stderr)
    for warning in report.get("warnings", []):
        print(f"imgscan: warning: {warning}", file=sys.stderr)


def _options(args: argparse.Namespace, today: date) -> Options:
    from imgscan.ignore import load as load_ignore
    from imgscan.image import Selection
    from imgscan.scan import Options

    ignore_path = getattr(args, "ignore", None) or (DEFAULT_IGNORE if DEFAULT_IGNORE.is_file() else None)
    return Options(
        today=today,
        horizon_days=args.horizon,
        selection=Selection(args.index, args.image_name),
        ignore=load_ignore(ignore_path) if ignore_path else [],
        ignore_source=str(ignore_path or ""),
        severities=getattr(args, "severity", None),
        jobs=args.jobs,
        target_firmware=args.target_firmware,
        target_dbx=args.target_dbx,
    )


def _run_scan(args: argparse.Namespace, image: Path | None = None, checks: LoadedChecks | None = None) -> ScanResult:
    """Scan with the command's options; a bad ignore file stops here, before the (long) scan."""
    from imgscan.loader import load_checks
    from imgscan.scan import scan

    today = datetime.now(timezone.utc).date()  # the one clock: --as-of's default and the ignore entries' expiry
    options = _options(args, today)
    as_of = args.as_of or today
    return scan(image or args.image, as_of, checks or load_checks(args.plugins), options)


@_command("scan")
def _scan(args: argparse.Namespace) -> int:
    formats = args.format or ["table"]
    if len(args.output) > len(formats) or len(formats) - len(args.output) > 1:
        print("imgscan: error: give one -o FILE per --format (at most one format may go to stdout)", file=sys.stderr)
        return EXIT_ERROR
    from imgscan.fixes import fix_script
    from imgscan.loader import load_checks

    checks = load_checks(args.plugins)
    result = _run_scan(args, checks=checks)
    for index, fmt in enumerate(formats):
        target = args.output[index] if index < len(args.output) else None
        _write(target, _scan_view(fmt, result.report, checks, args.fail_on))
    if args.fix_script:
        args.fix_script.write_text(fix_script(result.findings, args.fix_script.suffix.lower()), encoding="utf-8")
    _warn(result.report, args.quiet)
    if result.checks_completed == 0:
        print(f"imgscan: error: {args.image}: no check could run", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FINDINGS if result.gate(args.fail_on) else EXIT_CLEAN


@_command("packages")
@_command("catalogs")
def _listing(args: argparse.Namespace) -> int:
    from imgscan.servicing_levels import ssu_level
    from imgscan.views.text import catalogs_table, packages_table, to_json

    # the report sections each listing shows, and its table view
    listings = {"packages": (("qfe", "packages"), packages_table), "catalogs": (("catalogs",), catalogs_table)}
    report: Json = _run_scan(args).report
    sections, table = listings[args.command]
    view = {key: report[key] for key in ("imgscan", "image", "as_of", "host")}
    view |= {section: report["inventory"][section] for section in sections}
    if args.command == "packages":
        # what wmic qfe shows that day, as the qfe-empty check computed it (the table and JSON both read it)
        wmic = (report["inventory"].get("wmic_qfe") or [{"empty": False, "from": None, "rows": report["inventory"]["qfe"]}])[0]
        view["wmic_qfe"] = wmic
        view["qfe_empty_from"] = (wmic["from"] or report["as_of"]) if wmic["empty"] else None  # no day: never valid
        view["ssu_level"] = ssu_level(report["inventory"]["packages"])
    _write(args.output, to_json(view) if args.format == "json" else table(view))
    _warn(report, args.quiet)
    return EXIT_CLEAN


@_command("timeline")
def _timeline(args: argparse.Namespace) -> int:
    from imgscan.timeline import timeline, to_csv
    from imgscan.views.text import timeline_table, to_json

    report = _run_scan(args).report
    events = timeline(report)
    views = {"json": lambda: to_json(events), "csv": lambda: to_csv(events), "table": lambda: timeline_table(events)}
    _write(args.output, views[args.format]())
    _warn(report, args.quiet)
    return EXIT_CLEAN


@_command("diff")
def _diff(args: argparse.Namespace) -> int:
    from imgscan.diff import diff_reports, load_side
    from imgscan.loader import load_checks
    from imgscan.views.text import diff_table, to_json

    checks = load_checks(args.plugins)
    old, new = (load_side(path, lambda p: _run_scan(args, p, checks).report) for path in (args.old, args.new))
    result = diff_reports(old, new, args.fail_on, checks.rules)
    _write(args.output, to_json(result) if args.format == "json" else diff_table(result))
    return EXIT_FINDINGS if result["gating"] else EXIT_CLEAN


@_command("fleet")
def _fleet(args: argparse.Namespace) -> int:
    from imgscan.fleet import summary as fleet_summary
    from imgscan.fleet.inputs import collect
    from imgscan.fleet.run import FleetOptions, pending, run_dask, run_local
    from imgscan.fleet.store import Store

    store = Store(args.db)
    try:
        if not args.report:
            if not args.inputs:
                print("imgscan: error: give images, directories, globs or a manifest (or --report)", file=sys.stderr)
                return EXIT_ERROR
            targets = collect(args.inputs)
            as_of = (args.as_of or datetime.now(timezone.utc).date()).isoformat()
            options = FleetOptions(as_of, args.horizon, tuple(str(p) for p in args.plugins))
            todo = pending(targets, store, options, args.resume)
            if args.scheduler:
                run_dask(todo, options, args.scheduler, store)
            else:
                run_local(todo, options, max(args.jobs, 1), store)
        summary = fleet_summary.summarize(store.rows(), args.fail_on)
    finally:
        store.close()
    views = {
        "table": fleet_summary.to_table,
        "json": fleet_summary.to_json,
        "csv": fleet_summary.to_csv,
        "html": lambda s: fleet_summary.to_html(s, args.fail_on),
    }
    _write(args.output, views[args.format](summary))
    if fleet_summary.gating(summary):
        return EXIT_FINDINGS
    return EXIT_ERROR if any(r["scan"] == "unreadable" for r in summary) else EXIT_CLEAN


@_command("images")
def _images(args: argparse.Namespace) -> int:
    from imgscan.image import is_wim
    from imgscan.image.wim import read_info
    from imgscan.views.text import images_table, to_json

    if not is_wim(args.image):
        raise UnreadableImage(str(args.image), "not a WIM file (no MSWIM header)")
    info = read_info(args.image)
    listing = {
        "path": str(args.image),
        "compression": info.compression,
        "parts": info.parts,
        "images": [i.as_dict() for i in info.images],
    }
    sys.stdout.write(to_json(listing) if args.format == "json" else images_table(listing))
    return EXIT_CLEAN


@_command("explain")
def _explain(args: argparse.Namespace) -> int:
    from imgscan import errorcodes
    from imgscan.explain import explanation
    from imgscan.loader import load_checks
    from imgscan.views.text import explain_table, to_json

    try:
        values = [errorcodes.parse(text) for text in args.codes]
    except ValueError as exc:
        print(f"imgscan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    rules = load_checks(args.plugins).rules
    explained = [explanation(errorcodes.describe(v), rules) for v in values]
    sys.stdout.write(to_json(explained) if args.format == "json" else explain_table(explained))
    return EXIT_CLEAN


@_command("rules")
def _rules(args: argparse.Namespace) -> int:
    from imgscan.loader import load_checks
    from imgscan.views.text import rules_markdown, rules_table, to_json

    loaded = load_checks(args.plugins)
    rules = [rule.as_dict() for rule in loaded.rules]
    views = {"json": lambda: to_json(rules), "markdown": lambda: rules_markdown(rules), "table": lambda: rules_table(rules)}
    sys.stdout.write(views[args.format]())
    for error in loaded.errors:
        print(f"imgscan: warning: {error['path']}: {error['message']}", file=sys.stderr)
    return EXIT_ERROR if loaded.errors else EXIT_CLEAN


@_command("plugins")
def _plugins(args: argparse.Namespace) -> int:
    from imgscan.loader import load_checks

    loaded = load_checks(args.plugins)
    for check in loaded.checks:
        for rule in check.rules:
            print(f"{rule.id:<32} {str(rule.severity):<8} {rule.title}  [{check.name}]")
    for error in loaded.errors:
        print(f"imgscan: warning: {error['path']}: {error['message']}", file=sys.stderr)
    return EXIT_ERROR if loaded.errors else EXIT_CLEAN
