"""Command line: `imgscan scan|packages|catalogs IMAGE`, `imgscan images WIM`, `imgscan plugins`.

Exit codes (the same in every subcommand):
  0  no finding at or above --fail-on
  1  at least one finding at or above --fail-on
  2  unreadable input, usage error, or nothing could be checked
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from imgscan import __version__, errorcodes
from imgscan.check import Severity
from imgscan.errors import ImgscanError, UnreadableImage
from imgscan.explain import explanation
from imgscan.image import Selection, is_wim
from imgscan.image.wim import read_info
from imgscan.loader import load_checks
from imgscan.render import catalogs_table, explain_table, images_table, packages_table, timeline_table, to_json, to_table
from imgscan.scan import ScanResult, scan
from imgscan.timeline import timeline, to_csv

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

FORMATS = {"table": to_table, "json": to_json}


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    common.add_argument("--debug", action="store_true", help="debug log, and tracebacks on errors")
    common.add_argument("--plugins", type=Path, action="append", default=[], metavar="DIR",
                        help="also load checks from the *.py files in DIR (repeatable)")

    image = argparse.ArgumentParser(add_help=False)
    image.add_argument("image", type=Path, help="VHD, VHDX, VMDK, E01, raw disk/volume image, or extracted directory")
    image.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                       help="evaluate the image as of this day (YYYY-MM-DD; default: today, UTC)")
    image.add_argument("--horizon", type=int, default=365, metavar="DAYS",
                       help="also predict failures that start within DAYS after --as-of (default 365)")
    image.add_argument("--format", choices=sorted(FORMATS), default="table")
    image.add_argument("-o", "--output", type=Path, help="write the report to this file instead of stdout")
    image.add_argument("--index", type=int, metavar="N", help="the image of a multi-image WIM to scan")
    image.add_argument("--image-name", metavar="NAME", help="the image of a multi-image WIM to scan, by name")

    p_scan = sub.add_parser("scan", parents=[common, image], help="scan an image and report findings")
    p_scan.add_argument("--fail-on", type=_severity, default=Severity.HIGH, metavar="SEVERITY",
                        help="exit 1 when a finding has at least this severity (info|low|medium|high|critical; default high)")
    sub.add_parser("packages", parents=[common, image],
                   help="list installed updates as wmic qfe would, with each package's state and catalog validity")
    sub.add_parser("catalogs", parents=[common, image],
                   help="list catalogs with signer, timestamp kind and valid_until")
    p_timeline = sub.add_parser("timeline", parents=[common, image], conflict_handler="resolve",
                                help="one ordered list of dated events: installs, catalog dates, log failures, predictions")
    p_timeline.add_argument("--format", choices=("table", "json", "csv"), default="table")

    p_images = sub.add_parser("images", parents=[common], help="list the images of a WIM file")
    p_images.add_argument("image", type=Path, help="a .wim, .esd or first .swm file")
    p_images.add_argument("--format", choices=sorted(FORMATS), default="table")
    p_explain = sub.add_parser("explain", parents=[common], help="explain an error code: name, message, facility, rules")
    p_explain.add_argument("codes", nargs="+", metavar="CODE", help="0x800b0101, 2148204801, -2146762495 or CERT_E_EXPIRED")
    p_explain.add_argument("--format", choices=sorted(FORMATS), default="table")
    sub.add_parser("plugins", parents=[common], help="list the rules of every loaded check")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.debug)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.command == "plugins":
            return _plugins(args)
        if args.command == "images":
            return _images(args)
        if args.command == "explain":
            return _explain(args)
        if args.command in LISTINGS:
            return _listing(args)
        if args.command == "timeline":
            return _timeline(args)
        return _scan(args)
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


def _explain(args: argparse.Namespace) -> int:
    try:
        values = [errorcodes.parse(text) for text in args.codes]
    except ValueError as exc:
        print(f"imgscan: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    rules = load_checks(args.plugins).rules
    explained = [explanation(errorcodes.describe(v), rules) for v in values]
    sys.stdout.write(to_json(explained) if args.format == "json" else explain_table(explained))
    return EXIT_CLEAN


def _plugins(args: argparse.Namespace) -> int:
    loaded = load_checks(args.plugins)
    for check in loaded.checks:
        for rule in check.rules:
            print(f"{rule.id:<32} {str(rule.severity):<8} {rule.title}  [{check.name}]")
    for error in loaded.errors:
        print(f"imgscan: warning: {error['path']}: {error['message']}", file=sys.stderr)
    return EXIT_ERROR if loaded.errors else EXIT_CLEAN


def _run_scan(args: argparse.Namespace) -> ScanResult:
    as_of = args.as_of or datetime.now(timezone.utc).date()
    return scan(args.image, as_of, load_checks(args.plugins), args.horizon, Selection(args.index, args.image_name))


def _images(args: argparse.Namespace) -> int:
    if not is_wim(args.image):
        raise UnreadableImage(str(args.image), "not a WIM file (no MSWIM header)")
    info = read_info(args.image)
    if args.format == "json":
        sys.stdout.write(to_json({"path": str(args.image), "compression": info.compression, "parts": info.parts,
                                  "images": [i.as_dict() for i in info.images]}))
    else:
        sys.stdout.write(images_table(args.image, info))
    return EXIT_CLEAN


def _emit(args: argparse.Namespace, text: str, errors: list[dict[str, str]]) -> None:
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for error in errors:
        print(f"imgscan: warning: {error['path']}: {error['message']}", file=sys.stderr)


# listing subcommands: the report sections they show, and their table view
LISTINGS = {"packages": (("qfe", "packages"), packages_table), "catalogs": (("catalogs",), catalogs_table)}


def _listing(args: argparse.Namespace) -> int:
    result = _run_scan(args)
    sections, table = LISTINGS[args.command]
    report = result.report
    view = {key: report[key] for key in ("imgscan", "image", "as_of", "host")}
    view |= {section: report["inventory"][section] for section in sections}
    if args.command == "packages":
        failing_now = [f for f in report["findings"] if f["rule"] == "qfe-empty" and f["severity"] == "critical"]
        view["qfe_empty_from"] = (failing_now[0]["starts"] or report["as_of"]) if failing_now else None
    _emit(args, to_json(view) if args.format == "json" else table(view), report["errors"])
    return EXIT_CLEAN


def _timeline(args: argparse.Namespace) -> int:
    result = _run_scan(args)
    events = timeline(result.report)
    views = {"json": lambda: to_json(events), "csv": lambda: to_csv(events), "table": lambda: timeline_table(events)}
    _emit(args, views[args.format](), result.report["errors"])
    return EXIT_CLEAN


def _scan(args: argparse.Namespace) -> int:
    result = _run_scan(args)
    _emit(args, FORMATS[args.format](result.report), result.report["errors"])
    if result.checks_completed == 0:
        print(f"imgscan: error: {args.image}: no check could run", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FINDINGS if result.gate(args.fail_on) else EXIT_CLEAN
