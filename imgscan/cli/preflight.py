"""`imgscan preflight IMAGE UPDATE...`: will these updates install on this image, and from when will they not."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from imgscan.cli.options import IMAGE_HELP, Groups, add_command, add_output
from imgscan.cli.outputs import warn, write

if TYPE_CHECKING:
    from imgscan.cli.options import Subcommands


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    made = add_command(
        sub,
        "preflight",
        [groups.common, groups.dates],
        "will these updates (.msu, .cab, or folders of them) install on this image, and from when will they not",
    )
    made.add_argument("image", type=Path, help=IMAGE_HELP)
    made.add_argument("updates", nargs="+", type=Path, metavar="UPDATE", help=".msu or .cab file, or a folder of them")
    add_output(made, ("table", "json"))


def run(args: argparse.Namespace) -> int:
    from imgscan.preflight.run import preflight
    from imgscan.views.json_view import to_json
    from imgscan.views.preflight import preflight_table

    as_of = args.as_of or datetime.now(timezone.utc).date()
    result = preflight(args.image, args.updates, as_of, args.horizon)
    write(args.output, to_json(result.report) if args.format == "json" else preflight_table(result.report))
    warn(result.report, args.quiet)
    if not result.report["updates"]:
        print("imgscan: error: no update could be read (see the errors above)", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_FINDINGS if result.will_not_install else EXIT_CLEAN
