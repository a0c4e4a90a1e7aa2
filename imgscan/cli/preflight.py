"""`imgscan preflight IMAGE UPDATE...`: will these updates install on this image, and from when will they not."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, PREFLIGHT_EXIT_CODES
from imgscan.cli.options import IMAGE_HELP, Groups, add_command, add_output, update_path
from imgscan.cli.outputs import write

if TYPE_CHECKING:
    from imgscan.cli.options import Subcommands
    from imgscan.preflight.report import PreflightReport

PREFLIGHT_FORMATS = ("html", "json", "junit", "sarif", "table")


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    made = add_command(
        sub,
        "preflight",
        [groups.common, groups.dates, groups.selection],
        "will these updates (.msu, .cab, or folders of them) install on this image, and from when will they not",
        exit_codes=PREFLIGHT_EXIT_CODES,
    )
    made.add_argument("image", type=Path, help=IMAGE_HELP)
    made.add_argument("updates", nargs="+", type=update_path, metavar="UPDATE", help=".msu or .cab file, or a folder of them")
    add_output(made, PREFLIGHT_FORMATS)


def run(args: argparse.Namespace) -> int:
    from imgscan.image import Selection
    from imgscan.preflight.run import preflight

    as_of = args.as_of or datetime.now(timezone.utc).date()
    result = preflight(args.image, args.updates, as_of, args.horizon, Selection(args.index, args.image_name))
    write(args.output, _view(args.format, result.report))
    for error in result.report["errors"]:  # errors, even with -q: each keeps the gate from passing (exit 2)
        print(f"imgscan: error: {error['path']}: {error['message']}", file=sys.stderr)
    if not result.report["updates"]:
        print("imgscan: error: no update could be read (see the errors above)", file=sys.stderr)
        return EXIT_ERROR
    if result.will_not_install:
        return EXIT_FINDINGS
    if result.unreadable:  # a truncated download must not pass the gate because the others install
        given = result.unreadable + len(result.report["updates"])
        print(
            f"imgscan: error: {result.unreadable} of {given} update(s) could not be read (see the errors above)", file=sys.stderr
        )
        return EXIT_ERROR
    return EXIT_CLEAN


def _view(fmt: str, report: PreflightReport) -> str:
    """The preflight report in one format; every one works on the report alone."""
    if fmt == "json":
        from imgscan.views.json_view import to_json

        return to_json(report)
    if fmt == "sarif":
        from imgscan.views.preflight_sarif import to_preflight_sarif

        return to_preflight_sarif(report)
    if fmt == "junit":
        from imgscan.views.preflight_junit import to_preflight_junit

        return to_preflight_junit(report)
    if fmt == "html":
        from imgscan.views.preflight_html import to_preflight_html

        return to_preflight_html(report)
    from imgscan.views.preflight import preflight_table

    return preflight_table(report)
