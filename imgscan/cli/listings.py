"""`imgscan packages|catalogs|timeline IMAGE`: what a scan read, listed (updates as wmic qfe shows them, every
catalog, every dated event), from the same report a scan writes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.cli.exits import EXIT_CLEAN, LISTING_EXIT_CODES
from imgscan.cli.options import IMAGE_HELP, Groups, add_command, add_output
from imgscan.cli.outputs import warn, write
from imgscan.cli.scan import run_scan

if TYPE_CHECKING:
    from collections.abc import Callable

    from imgscan.cli.options import Subcommands
    from imgscan.report import CatalogsListing, Listing, PackagesListing, WmicQfe


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    def image_command(name: str, help_text: str, formats: tuple[str, ...], firmware: bool = False) -> None:
        """`firmware`: the command runs the Secure Boot checks (timeline's predictions), so --target-* change it."""
        parents = [groups.common, groups.when] + ([groups.firmware] if firmware else [])
        made = add_command(sub, name, parents, help_text, exit_codes=LISTING_EXIT_CODES)
        made.add_argument("image", type=Path, help=IMAGE_HELP)
        add_output(made, formats)

    image_command(
        "packages", "list installed updates as wmic qfe would, with each package's state and catalog validity", ("table", "json")
    )
    image_command("catalogs", "list catalogs with signer, timestamp kind and valid_until", ("table", "json"))
    image_command(
        "timeline",
        "one ordered list of dated events: installs, catalog dates, log failures, predictions",
        ("table", "json", "csv", "jsonl", "records"),
        firmware=True,
    )


def run_listing(args: argparse.Namespace) -> int:
    """`packages` and `catalogs`: the report sections each shows, in its table or as JSON. Only the kinds
    those sections come from are read (a packages listing reads no user hive, log or boot file), and only
    the checks that read nothing else run."""
    from imgscan.artefacts import CATALOGS, PACKAGES
    from imgscan.loader import load_checks
    from imgscan.servicing_levels import ssu_level
    from imgscan.views.catalogs import catalogs_table
    from imgscan.views.json_view import to_json
    from imgscan.views.packages import packages_table

    kinds = (PACKAGES, CATALOGS)  # the packages with their catalogs' validity; the catalogs
    report = run_scan(args, checks=load_checks(args.plugins).within(kinds), kinds=kinds).report
    inventory = report["inventory"]
    head: Listing = {"imgscan": report["imgscan"], "image": report["image"], "as_of": report["as_of"], "host": report["host"]}
    if args.command == "packages":
        # what wmic qfe shows that day, as the check that predicts it stated it (the table and JSON both read it);
        # no such check ran: the list as the packages give it
        no_prediction: WmicQfe = {"empty": False, "from": None, "rows": inventory["qfe"], "empty_from": None}
        wmic = (inventory.get("wmic_qfe") or [no_prediction])[0]
        packages: PackagesListing = {
            **head,
            "qfe": inventory["qfe"],
            "packages": inventory["packages"],
            "wmic_qfe": wmic,
            "qfe_empty_from": wmic["empty_from"],
            "ssu_level": ssu_level(inventory["packages"]),
        }
        write(args.output, to_json(packages) if args.format == "json" else packages_table(packages))
    else:
        catalogs: CatalogsListing = {**head, "catalogs": inventory["catalogs"]}
        write(args.output, to_json(catalogs) if args.format == "json" else catalogs_table(catalogs))
    warn(report["errors"], report["warnings"], args.quiet)
    return EXIT_CLEAN


def run_timeline(args: argparse.Namespace) -> int:
    from imgscan.timeline import timeline, to_csv
    from imgscan.views.json_view import to_json
    from imgscan.views.timeline import timeline_records, timeline_table, timesketch_jsonl

    report = run_scan(args).report
    events = timeline(report)
    views: dict[str, Callable[[], str | bytes]] = {
        "json": lambda: to_json(events),
        "csv": lambda: to_csv(events),
        "table": lambda: timeline_table(events),
        "jsonl": lambda: timesketch_jsonl(events),  # Timesketch's import format
        "records": lambda: timeline_records(events),  # flow.record, for rdump
    }
    write(args.output, views[args.format]())
    warn(report["errors"], report["warnings"], args.quiet)
    return EXIT_CLEAN
