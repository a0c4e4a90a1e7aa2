"""Command line: `imgscan scan|packages|catalogs|timeline IMAGE`, `preflight IMAGE UPDATE...`, `fleet INPUT...`,
`diff OLD NEW`, `images WIM`, `explain CODE`, `plugins`.

Exit codes (the same in every subcommand), so that a CI system can act on them:
  0    pass: no finding at or above --fail-on (diff: no new one)
  1    at least one finding at or above --fail-on that no ignore entry accepts (diff: a new one)
  2    usage error (checked before any scanning), unreadable input, unwritable output, nothing could be checked
  3    internal error: a bug in imgscan; the message says where to report it
  130  interrupted by Ctrl-C (SIGINT); 143 terminated (SIGTERM): 128 + the signal, as a shell reports it
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
from typing import TYPE_CHECKING, NoReturn, TypeVar

import imgscan.cli.outputs as outputs
from imgscan import ISSUES_URL, __version__, interrupt
from imgscan.check import Json, Severity
from imgscan.errors import ImgscanError, UnreadableImage
from imgscan.ignore import DEFAULT as DEFAULT_IGNORE
from imgscan.signing.firmware_db import TARGET_FIRMWARE

if TYPE_CHECKING:
    from imgscan.loader import LoadedChecks
    from imgscan.scan import Options, ScanResult
    from imgscan.signing.firmware_db import FirmwareTarget, SignatureDatabase

T = TypeVar("T")

# Subcommands import what they need when they run: `--version`, `--help`, `explain` and `plugins`
# must not pay for dissect, the fleet engine and the report views (bench/startup.py measures it).

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2  # usage error, unreadable input, unwritable output
EXIT_INTERNAL = 3  # a bug in imgscan
# interrupted: 128 + the signal's number (interrupt.Interrupted.exit_code), 130 for SIGINT, 143 for SIGTERM
EXIT_CODES = (
    "exit codes: 0 pass; 1 a finding at or above --fail-on; 2 usage error, unreadable input or unwritable output; "
    "3 internal error (a bug in imgscan: please report it); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)"
)

# --as-of: no Windows image or Authenticode signature predates 1990 (Windows NT 3.1: 1993; Authenticode: 1996);
# the last day plus the longest --horizon (2199-12-31 + 36,500 days) stays inside every calendar imgscan compares
# days in: Python's date (to 9999-12-31, which --as-of 9999-12-31 overflowed once the horizon was added), X.509
# GeneralizedTime (to 9999) and FILETIME (to 30828).
FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2199, 12, 31)
MAX_HORIZON = 36500  # days: a hundred years

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
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{text} is outside the days imgscan judges, {FIRST_DAY} to {LAST_DAY}")
    return day


def _horizon(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_HORIZON:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 0 to {MAX_HORIZON} (a hundred years)")
    return days


def _plugin_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        problem = "not a directory" if path.exists() else "no such directory"
        raise argparse.ArgumentTypeError(f"{text}: {problem} (give the folder that holds the checks' .py files)")
    if not any(path.glob("*.py")):
        raise argparse.ArgumentTypeError(f"{text} holds no .py file (a check is a .py file with a Check subclass)")
    return path


def _output(text: str) -> Path:
    """A report's path, checked before the scan: its folder exists and takes a new file."""
    path = Path(text)
    if problem := outputs.unwritable(path):
        raise argparse.ArgumentTypeError(problem)
    return path


def _database(text: str) -> Path:
    """The fleet database: writable like a report (SQLite keeps its journal beside it), and SQLite when it exists."""
    path = _output(text)
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\0":
                raise argparse.ArgumentTypeError(f"{text} is not an imgscan fleet database (not SQLite)")
    return path


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r} (use 1 or more)")
    return jobs


def _target_firmware(text: str) -> FirmwareTarget:
    from imgscan.signing.firmware_db import firmware_target

    return _firmware_argument(firmware_target, text)


def _target_dbx(text: str) -> SignatureDatabase:
    from imgscan.signing.firmware_db import read_dbx

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


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, what is wrong and where to read more, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"imgscan: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imgscan",
        description="Predict Windows Update failures from an offline Windows disk or golden image.",
        epilog=EXIT_CODES,
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
        type=_plugin_dir,
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
        help=f"evaluate the image as of this day (YYYY-MM-DD, {FIRST_DAY.year} to {LAST_DAY.year}; default: today, UTC)",
    )
    dates.add_argument(
        "--horizon",
        type=_horizon,
        default=365,
        metavar="DAYS",
        help=f"also predict failures that start within DAYS after --as-of (0 to {MAX_HORIZON}; default 365)",
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
        "((Get-SecureBootUEFI db).Bytes written to a file, or efivarfs' db-d719b2cb-... file), whose certificates "
        "and hashes decide whether a boot manager signed by another key starts",
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

    def command(name: str, parents: list, help_text: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=parents, help=help_text, description=description, epilog=EXIT_CODES)

    def output(made: argparse.ArgumentParser, formats: tuple[str, ...], what: str = "") -> None:
        """-f and -o of a command with one report; the format defaults to the one -o's name announces, else table."""
        made.add_argument(
            "-f", "--format", choices=formats, help=f"{'|'.join(formats)} (default: the one -o's name says, else table)"
        )
        made.add_argument("-o", "--output", type=_output, metavar="FILE", help=f"write {what}to this file instead of stdout")

    def image_command(name: str, help_text: str, formats: tuple[str, ...], parents: list) -> argparse.ArgumentParser:
        made = command(name, [common, when, *parents], help_text)
        made.add_argument("image", type=Path, help="VHD, VHDX, VMDK, E01, raw disk/volume image, WIM, or directory")
        output(made, formats)
        return made

    p_scan = command("scan", [common, when, gate], "scan an image and report findings")
    p_scan.add_argument("image", type=Path, help="VHD, VHDX, VMDK, E01, raw disk/volume image, WIM, or directory")
    p_scan.add_argument(
        "-f",
        "--format",
        action="append",
        choices=SCAN_FORMATS,
        metavar="FORMAT",
        help=f"{'|'.join(SCAN_FORMATS)} (repeatable; default: the ones -o's names say, else table)",
    )
    p_scan.add_argument(
        "-o",
        "--output",
        action="append",
        type=_output,
        default=[],
        metavar="FILE",
        help="where the matching --format goes (repeatable; a format without one goes to stdout; without -f, "
        "the name says the format: .json, .sarif, .html, .csv, .xml (junit), .txt (table))",
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
        type=_output,
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

    p_preflight = command(
        "preflight",
        [common, dates],
        "will these updates (.msu, .cab, or folders of them) install on this image, and from when will they not",
    )
    p_preflight.add_argument("image", type=Path, help="VHD, VHDX, VMDK, E01, raw disk/volume image, WIM, or directory")
    p_preflight.add_argument("updates", nargs="+", type=Path, metavar="UPDATE", help=".msu or .cab file, or a folder of them")
    output(p_preflight, ("table", "json"))

    p_diff = command(
        "diff", [common, when, gate], "compare two images or saved JSON reports: new, resolved and unchanged findings"
    )
    p_diff.add_argument("old", type=Path, help="the previous image, or its saved `--format json` report")
    p_diff.add_argument("new", type=Path, help="the new image, or its saved report")
    output(p_diff, ("table", "json"))

    p_fleet = command(
        "fleet",
        [common, dates, threshold],
        "scan many images (files, directories, globs, manifest CSV) into a resumable database",
    )
    p_fleet.add_argument("inputs", nargs="*", metavar="INPUT", help="image, directory of images, glob, or manifest.csv")
    p_fleet.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1, metavar="N", help="local worker processes")
    p_fleet.add_argument(
        "--db",
        type=_database,
        default="imgscan-fleet.sqlite",  # a string, so that argparse checks it like a given one
        help="results database (default: imgscan-fleet.sqlite in the current directory)",
    )
    p_fleet.add_argument("--resume", action="store_true", help="skip images already in the database (same hash, options)")
    p_fleet.add_argument("--report", action="store_true", help="only render the summary from --db, scan nothing")
    p_fleet.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster instead of locally")
    output(p_fleet, ("table", "json", "csv", "html"), "the summary ")

    p_images = command("images", [common], "list the images of a WIM file")
    p_images.add_argument("image", type=Path, help="a .wim, .esd or first .swm file")
    p_images.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    p_explain = command("explain", [common], "explain an error code: name, message, facility, rules")
    p_explain.add_argument("codes", nargs="+", metavar="CODE", help="0x800b0101, 2148204801, -2146762495 or CERT_E_EXPIRED")
    p_explain.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    p_rules = command(
        "rules",
        [common],
        "every rule with its severity policy, codes and references",
        description="Every rule of the built-in checks and of --plugins DIR; --format markdown prints the README's rules table.",
    )
    p_rules.add_argument(
        "-f", "--format", choices=("table", "markdown", "json"), default="table", help="table|markdown|json (default table)"
    )
    command(
        "plugins",
        [common],
        "list the rules of every loaded check",
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def main(argv: list[str] | None = None) -> int:
    """The CLI; it owns the process's SIGINT and SIGTERM handling (see imgscan.interrupt)."""
    interrupt.install()  # first: a Ctrl-C from here on ends in one line and exit 130
    outputs.written.clear()
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:
        print(f"imgscan: {_interruption(exc)}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, interrupt.Interrupted) else 128 + signal.SIGINT
    finally:
        # the run is over, finished or interrupted: what is left of the process is the clean-up at exit, which a
        # late Ctrl-C must neither cut short nor turn into exit 130 after the reports were written
        interrupt.ignore()


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = subcommands.choices[args.command]
    if unknown:  # say it in the subcommand's words, not the top-level ones
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    _check_outputs(args, command)
    _check_plugins(args, command)
    configure_logging(args.verbose, args.debug)
    if args.quiet or args.no_progress:
        from imgscan import progress

        progress.ENABLED["progress"] = False
    try:
        return COMMANDS[args.command](args)
    except Exception as exc:
        if (stopped := interrupt.received()) is not None:
            raise stopped from exc  # a worker or wimlib the same Ctrl-C ended: the interruption is what happened
        if args.debug:
            raise
        if isinstance(exc, ImgscanError):
            print(f"imgscan: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        print(f"imgscan: {_internal_error(exc)}", file=sys.stderr)
        return EXIT_INTERNAL


def _internal_error(exc: Exception) -> str:
    """One line for a bug: what broke, and where to report it (with the traceback --debug prints)."""
    detail = (str(exc).strip().splitlines() or [""])[0]
    what = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    where = f"please report it at {ISSUES_URL} with the command and the output of --debug"
    return f"internal error (a bug in imgscan): {what}; {where}"


def _interruption(exc: KeyboardInterrupt) -> str:
    """One line: what stopped the run, what it was doing, and what it kept."""
    stopped = isinstance(exc, interrupt.Interrupted) and exc.signum == signal.SIGTERM
    line = "terminated (SIGTERM)" if stopped else "interrupted"
    during = getattr(exc, "during", "")
    line += f" while {during}" if during else ""
    kept = getattr(exc, "kept", None)
    if kept is None:
        done = outputs.written
        kept = "nothing was written" if not done else f"only {', '.join(done)} {'was' if len(done) == 1 else 'were'} written"
    return f"{line}; {kept}"


def _check_plugins(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """A --plugins file that does not load (it raises on import, or reuses a rule id) is a usage error before any
    scanning: a gate must not pass because a check it was given never ran."""
    if not args.plugins:
        return
    from imgscan.loader import load_checks

    errors = load_checks(args.plugins).errors
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        command.error(f"--plugins: {errors[0]['path']}: {errors[0]['message']}{more}")


def _check_outputs(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """Usage errors about where reports go, before any scanning: the format each -o gets (from -f, else from its
    name), reports that would land on one another or on an input, and a fleet --report without its database."""
    if not hasattr(args, "output"):
        return
    targets: list[Path] = args.output if isinstance(args.output, list) else [args.output] if args.output else []
    given: list[str] = args.format if isinstance(args.format, list) else [args.format] if args.format else []
    choices = tuple(next(a for a in command._actions if "--format" in a.option_strings).choices or ())
    try:
        written = [*targets, *(p for p in (getattr(args, "fix_script", None), getattr(args, "db", None)) if p)]
        read = [p for p in (getattr(args, "image", None), getattr(args, "old", None), getattr(args, "new", None)) if p]
        read += [Path(p) for p in getattr(args, "inputs", []) if Path(p).is_file()]
        read += list(getattr(args, "updates", []))
        for index, target in enumerate(written):
            if any(_same(target, other) for other in read):
                raise ValueError(f"{target} is an input of this command: imgscan never writes over its input")
            if not outputs.is_stream(target) and any(_same(target, other) for other in written[:index]):
                raise ValueError(f"{target} is given twice: each report needs a file of its own")
        if args.command == "fleet" and args.report and not args.db.is_file():
            raise ValueError(f"--db {args.db}: no such fleet database (scan images into it first)")
        formats = _formats(given, targets, choices, args.command)
    except ValueError as exc:
        command.error(str(exc))
    args.format = formats if args.command == "scan" else formats[0]


def _formats(given: list[str], targets: list[Path], choices: tuple[str, ...], name: str) -> list[str]:
    """The format of each report: -f, paired with -o in order (a -f without -o goes to stdout), else what each
    -o's name announces (report.json: json), else table. A name that contradicts its -f is a usage error."""
    if not given:
        return [_named_format(target, choices, name) for target in targets] or ["table"]
    if len(targets) > len(given) or len(given) - len(targets) > 1:
        raise ValueError("give one -o FILE per --format (at most one format may go to stdout)")
    for fmt, target in zip(given, targets, strict=False):  # the last -f may have no -o: stdout
        named = outputs.format_of(target)
        if named and named != fmt:
            raise ValueError(f"-o {target}: the name says {named}, its --format says {fmt} (each -o takes the -f at its place)")
    return given


def _named_format(target: Path, choices: tuple[str, ...], name: str) -> str:
    named = outputs.format_of(target)
    if named is None:
        if outputs.is_stream(target):  # /dev/null, a pipe: no name to go by
            return "table"
        known = ", ".join(sorted(outputs.EXTENSIONS))
        raise ValueError(f"-o {target}: its name does not say the format ({known}); add -f FORMAT")
    if named not in choices:
        raise ValueError(f"-o {target}: imgscan {name} does not write {named} (it writes {', '.join(choices)})")
    return named


def _same(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve() or (one.exists() and other.exists() and one.samefile(other))
    except OSError:
        return False


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(function: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = function
        return function

    return register


def _write(target: Path | None, text: str) -> None:
    """A report to its file (whole or not at all, see imgscan.outputs) or to stdout."""
    outputs.write(target, text)


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
    formats = args.format  # one per -o, and at most one more for stdout (main checked them against -o's names)
    from imgscan.fixes import fix_script
    from imgscan.loader import load_checks

    checks = load_checks(args.plugins)
    result = _run_scan(args, checks=checks)
    for index, fmt in enumerate(formats):
        target = args.output[index] if index < len(args.output) else None
        _write(target, _scan_view(fmt, result.report, checks, args.fail_on))
    if args.fix_script:
        _write(args.fix_script, fix_script(result.findings, args.fix_script.suffix.lower()))
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


@_command("preflight")
def _preflight(args: argparse.Namespace) -> int:
    from imgscan.preflight.run import preflight
    from imgscan.views.preflight import preflight_table
    from imgscan.views.text import to_json

    as_of = args.as_of or datetime.now(timezone.utc).date()
    result = preflight(args.image, args.updates, as_of, args.horizon)
    _write(args.output, to_json(result.report) if args.format == "json" else preflight_table(result.report))
    _warn(result.report, args.quiet)
    if not result.report["updates"]:
        print("imgscan: error: no update could be read (see the errors above)", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FINDINGS if result.will_not_install else EXIT_CLEAN


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
            with interrupt.doing(f"scanning {len(todo)} image(s)"):
                if args.scheduler:
                    run_dask(todo, options, args.scheduler, store)
                else:
                    run_local(todo, options, args.jobs, store)
        summary = fleet_summary.summarize(store.rows(), args.fail_on)
    except interrupt.Interrupted as exc:
        exc.kept = f"the images that finished are saved in {args.db}: run the command again with --resume to scan the rest"
        raise
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
    from imgscan.image.sniff import too_short
    from imgscan.image.wim import read_info
    from imgscan.views.text import images_table, to_json

    if not is_wim(args.image):
        if not args.image.is_file():
            raise UnreadableImage(str(args.image), "no such file" if not args.image.exists() else "not a file")
        raise UnreadableImage(str(args.image), too_short(args.image) or "not a WIM file (no MSWIM header)")
    info = read_info(args.image)
    listing = {
        "path": str(args.image),
        "compression": info.compression,
        "parts": info.parts,
        "images": [i.as_dict() for i in info.images],
    }
    _write(None, to_json(listing) if args.format == "json" else images_table(listing))
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
    _write(None, to_json(explained) if args.format == "json" else explain_table(explained))
    return EXIT_CLEAN


@_command("rules")
def _rules(args: argparse.Namespace) -> int:
    from imgscan.loader import load_checks
    from imgscan.views.text import rules_markdown, rules_table, to_json

    loaded = load_checks(args.plugins)
    rules = [rule.as_dict() for rule in loaded.rules]
    views = {"json": lambda: to_json(rules), "markdown": lambda: rules_markdown(rules), "table": lambda: rules_table(rules)}
    _write(None, views[args.format]())
    return EXIT_CLEAN


@_command("plugins")
def _plugins(args: argparse.Namespace) -> int:
    from imgscan.loader import load_checks

    loaded = load_checks(args.plugins)
    lines = [
        f"{rule.id:<32} {str(rule.severity):<8} {rule.title}  [{check.name}]\n" for check in loaded.checks for rule in check.rules
    ]
    _write(None, "".join(lines))
    return EXIT_CLEAN
