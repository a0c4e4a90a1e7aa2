"""`imgscan packages|catalogs|timeline IMAGE`: what a scan read, listed (updates as wmic qfe shows them, every
catalog, every dated event), from the same report a scan writes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.check import Json
from imgscan.cli.exits import EXIT_CLEAN
from imgscan.cli.options import IMAGE_HELP, Groups, add_command, add_output
from imgscan.cli.outputs import warn, write
from imgscan.cli.scan import run_scan

if TYPE_CHECKING:
    from imgscan.cli.options import Subcommands


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    def image_command(name: str, help_text: str, formats: tuple[str, ...]) -> None:
        made = add_command(sub, name, [groups.common, groups.when], help_text)
        made.add_argument("image", type=Path, help=IMAGE_HELP)
        add_output(made, formats)

    image_command(
        "packages", "list installed updates as wmic qfe would, with each package's state and catalog validity", ("table", "json")
    )
    image_command("catalogs", "list catalogs with signer, timestamp kind and valid_until", ("table", "json"))
    image_command(
        "timeline",
        "one ordered list of dated events: installs, catalog dates, log failures, predictions",
        ("table", "json", "csv"),
    )


def run_listing(args: argparse.Namespace) -> int:
    """`packages` and `catalogs`: the report sections each shows, in its table or as JSON."""
    from imgscan.servicing_levels import ssu_level
    from imgscan.views.catalogs import catalogs_table
    from imgscan.views.json_view import to_json
    from imgscan.views.packages import packages_table

    # the report sections each listing shows, and its table view
    listings = {"packages": (("qfe", "packages"), packages_table), "catalogs": (("catalogs",), catalogs_table)}
    report: Json = run_scan(args).report
    sections, table = listings[args.command]
    view = {key: report[key] for key in ("imgscan", "image", "as_of", "host")}
    view |= {section: report["inventory"][section] for section in sections}
    if args.command == "packages":
        # what wmic qfe shows that day, as the qfe-empty check computed it (the table and JSON both read it)
        wmic = (report["inventory"].get("wmic_qfe") or [{"empty": False, "from": None, "rows": report["inventory"]["qfe"]}])[0]
        view["wmic_qfe"] = wmic
        view["qfe_empty_from"] = (wmic["from"] or report["as_of"]) if wmic["empty"] else None  # no day: never valid
        view["ssu_level"] = ssu_level(report["inventory"]["packages"])
    write(args.output, to_json(view) if args.format == "json" else table(view))
    warn(report, args.quiet)
    return EXIT_CLEAN


def run_timeline(args: argparse.Namespace) -> int:
    from imgscan.timeline import timeline, to_csv
    from imgscan.views.json_view import to_json
    from imgscan.views.timeline import timeline_table

    report = run_scan(args).report
    events = timeline(report)
    views = {"json": lambda: to_json(events), "csv": lambda: to_csv(events), "table": lambda: timeline_table(events)}
    write(args.output, views[args.format]())
    warn(report, args.quiet)
    return EXIT_CLEAN
