"""The option types and the option groups the commands share. Every value is checked while the command
line is parsed, so a mistake is one line (`see imgscan COMMAND --help`) before anything is scanned."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

from imgscan.check import Severity
from imgscan.cli.exits import EXIT_CODES, EXIT_ERROR
from imgscan.cli.outputs import unwritable
from imgscan.errors import ImgscanError
from imgscan.ignore import DEFAULT as DEFAULT_IGNORE
from imgscan.signing.firmware_db import TARGET_FIRMWARE

if TYPE_CHECKING:
    from imgscan.signing.firmware_db import FirmwareTarget, SignatureDatabase

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

T = TypeVar("T")

# --as-of: no Windows image or Authenticode signature predates 1990 (Windows NT 3.1: 1993; Authenticode: 1996);
# the last day plus the longest --horizon (2199-12-31 + 36,500 days) stays inside every calendar imgscan compares
# days in: Python's date (to 9999-12-31, which --as-of 9999-12-31 overflowed once the horizon was added), X.509
# GeneralizedTime (to 9999) and FILETIME (to 30828).
FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2199, 12, 31)
MAX_HORIZON = 36500  # days: a hundred years

IMAGE_HELP = (
    "VHD, VHDX, VMDK, QCOW2, VDI, E01, raw disk/volume image, WIM, VM export, triage collection, or directory (docs/inputs.md)"
)


def day(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError as exc:
        shaped = re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)  # YYYY-MM-DD, yet no day of the calendar (2013-02-30)
        raise argparse.ArgumentTypeError(
            f"{text} is not a day of the calendar ({exc})" if shaped else f"{text!r} is not a date (use YYYY-MM-DD)"
        ) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{text} is outside the days imgscan judges, {FIRST_DAY} to {LAST_DAY}")
    return value


def horizon(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_HORIZON:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 0 to {MAX_HORIZON} (a hundred years)")
    return days


def plugin_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        problem = "not a directory" if path.exists() else "no such directory"
        raise argparse.ArgumentTypeError(f"{text}: {problem} (give the folder that holds the checks' .py files)")
    if not any(path.glob("*.py")):
        raise argparse.ArgumentTypeError(f"{text} holds no .py file (a check is a .py file with a Check subclass)")
    return path


def update_path(text: str) -> Path:
    """An update given to judge: a missing one is a usage mistake, found before the image is read."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder (give .msu or .cab files, or folders of them)")
    return path


def output_file(text: str) -> Path:
    """A report's path, checked before the scan: its folder exists (that it takes a new file is checked last,
    validation.check_writable)."""
    if text == "-":  # not a file named "-" in the working folder, which is what it would write
        raise argparse.ArgumentTypeError("'-' is not a file name: leave -o out and the report goes to stdout")
    path = Path(text)
    if problem := unwritable(path, probe=False):
        raise argparse.ArgumentTypeError(problem)
    return path


def database_location(text: str) -> str | Path:
    """The fleet database: a PostgreSQL URL (postgresql://user:password@host/db), else a SQLite file."""
    from imgscan.fleet.database import check_url, is_url

    if not is_url(text):
        return database_file(text)
    try:
        return check_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def database_file(text: str) -> Path:
    """The fleet database: writable like a report (SQLite keeps its journal beside it), and SQLite when it exists."""
    path = output_file(text)
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\0":
                raise argparse.ArgumentTypeError(f"{text} is not an imgscan fleet database (not SQLite)")
    return path


def job_count(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r} (use 1 or more)")
    return jobs


def target_firmware(text: str) -> FirmwareTarget:
    from imgscan.signing.firmware_db import firmware_target

    return _firmware_argument(firmware_target, text)


def target_dbx(text: str) -> SignatureDatabase:
    from imgscan.signing.firmware_db import read_dbx

    return _firmware_argument(read_dbx, text)


def _firmware_argument(read: Callable[[str], T], text: str) -> T:
    """A firmware option's value read by `read`, whose one-line ImgscanError becomes argparse's error."""
    try:
        return read(text)
    except ImgscanError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def severities(text: str) -> frozenset[Severity]:
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


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, what is wrong and where to read more, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"imgscan: error: {message}; see {self.prog} --help\n")


@dataclass(frozen=True)
class Groups:
    """The option groups (argparse parent parsers) the commands share."""

    common: argparse.ArgumentParser  # every command: -v, -q, --no-progress, --debug, --plugins
    dates: argparse.ArgumentParser  # --as-of, --horizon
    selection: argparse.ArgumentParser  # --index, --image-name: the image of a WIM
    when: argparse.ArgumentParser  # a scan's: the dates, the WIM image, --jobs
    firmware: argparse.ArgumentParser  # --target-firmware, --target-dbx: only where the Secure Boot checks run
    gate: argparse.ArgumentParser  # --fail-on and --ignore


def groups() -> Groups:
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
        type=plugin_dir,
        action="append",
        default=[],
        metavar="DIR",
        help="also load checks from the *.py files in DIR (repeatable)",
    )

    dates = argparse.ArgumentParser(add_help=False)
    dates.add_argument(
        "--as-of",
        type=day,
        default=None,
        metavar="DATE",
        help=f"evaluate the image as of this day (YYYY-MM-DD, {FIRST_DAY.year} to {LAST_DAY.year}; default: today, UTC)",
    )
    dates.add_argument(
        "--horizon",
        type=horizon,
        default=365,
        metavar="DAYS",
        help=f"also predict failures that start within DAYS after --as-of (0 to {MAX_HORIZON}; default 365)",
    )
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("--index", type=int, metavar="N", help="the image of a multi-image WIM to scan")
    selection.add_argument("--image-name", metavar="NAME", help="the image of a multi-image WIM to scan, by name")
    when = argparse.ArgumentParser(add_help=False, parents=[dates, selection])
    firmware = argparse.ArgumentParser(add_help=False)
    firmware.add_argument(
        "--target-firmware",
        type=target_firmware,
        default="unknown",
        metavar="{" + ",".join(TARGET_FIRMWARE) + "} or DB_FILE",
        help="the Secure Boot certificates the hosts' firmware holds: 2011-only (not yet updated), 2023 (has "
        "Windows UEFI CA 2023), unknown (default), or the db exported from one of those hosts "
        "((Get-SecureBootUEFI db).Bytes written to a file, or efivarfs' db-d719b2cb-... file), whose certificates "
        "and hashes decide whether a boot manager signed by another key starts",
    )
    firmware.add_argument(
        "--target-dbx",
        type=target_dbx,
        default=None,
        metavar="DBX_FILE",
        help="the Secure Boot dbx exported from one of the hosts ((Get-SecureBootUEFI dbx).Bytes written to a file): "
        "a boot manager it revokes is reported, because those hosts will not start it",
    )
    when.add_argument(
        "--jobs",
        type=job_count,
        default=None,
        metavar="N",
        help="processes that parse and judge catalogs (default: one per core for an image with many catalogs); "
        "the report is the same whatever N",
    )

    gate = argparse.ArgumentParser(add_help=False)
    add_fail_on(gate, Severity.HIGH)
    gate.add_argument(
        "--ignore", type=Path, metavar="FILE", help=f"ignore file of accepted findings (default: {DEFAULT_IGNORE} when present)"
    )
    return Groups(common, dates, selection, when, firmware, gate)


def add_fail_on(parser: argparse.ArgumentParser, default: Severity | None, default_help: str = "default high") -> None:
    """--fail-on, defined once; `default` None lets a command tell an option not given (fleet: its run's own)."""
    parser.add_argument(
        "--fail-on",
        type=severity,
        default=default,
        metavar="SEVERITY",
        help="exit 1 when a finding (fleet: a host's finding) has at least this severity "
        f"(info|low|medium|high|critical; {default_help})",
    )


def add_command(
    sub: Subcommands,
    name: str,
    parents: list[argparse.ArgumentParser],
    help_text: str,
    description: str | None = None,
    exit_codes: str = EXIT_CODES,
) -> argparse.ArgumentParser:
    return sub.add_parser(name, parents=parents, help=help_text, description=description, epilog=exit_codes)


def add_output(made: argparse.ArgumentParser, formats: tuple[str, ...], what: str = "") -> None:
    """-f and -o of a command with one report; the format defaults to the one -o's name announces, else table."""
    # repeatable as for scan, so that a second -f/-o pair is refused (check_outputs) instead of replacing the first
    made.add_argument(
        "-f",
        "--format",
        choices=formats,
        action="append",
        help="the report's format (default: the one -o's name says, else table)",
    )
    made.add_argument(
        "-o", "--output", type=output_file, action="append", metavar="FILE", help=f"write {what}to this file instead of stdout"
    )
