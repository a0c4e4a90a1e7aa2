"""`imgscan packages|catalogs|timeline IMAGE`: what a scan read, listed (updates as wmic qfe shows them, every
catalog, every dated event), from the same report a scan writes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, HIVE_LISTING_EXIT_CODES, LISTING_EXIT_CODES
from imgscan.cli.options import IMAGE_HELP, Groups, add_command, add_output
from imgscan.cli.outputs import warn, write
from imgscan.cli.scan import run_scan

if TYPE_CHECKING:
    from collections.abc import Callable

    from imgscan.cli.options import Subcommands
    from imgscan.report import CatalogJson, CatalogsListing, Listing, PackageJson, PackagesListing, Report, Unknown, WmicQfe


# a package's fields its registration gives: unknown when the registrations could not be read
PACKAGE_STATE_FIELDS = ("state", "state_name", "installed_on", "installed_at", "install_user")


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    def image_command(
        name: str, help_text: str, formats: tuple[str, ...], firmware: bool = False, exits: str = HIVE_LISTING_EXIT_CODES
    ) -> None:
        """`firmware`: the command runs the Secure Boot checks (timeline's predictions), so --target-* change it."""
        parents = [groups.common, groups.when] + ([groups.firmware] if firmware else [])
        made = add_command(sub, name, parents, help_text, exit_codes=exits)
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
        exits=LISTING_EXIT_CODES,  # the scan's events, whatever the image lacks
    )


def run_listing(args: argparse.Namespace) -> int:
    """`packages` and `catalogs`: the report sections each shows, in its table or as JSON. Only the kinds
    those sections come from are read (a packages listing reads no user hive, log or boot file), and only
    the checks that read nothing else run. When SOFTWARE cannot be read the listing still shows what the
    files tell, says what is unknown and why (`unknown`), and exits 2 with one line naming the hive."""
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
    unread = _unread_software(report)
    errors = report["errors"]
    unknown = None
    if unread is not None:
        unknown = _unknown(unread, args.command, inventory.get("catalogs", []))
    elif args.command == "packages" and (hidden := _hidden_registrations(report)) is not None:
        unknown = _unknown_registrations(hidden)
    if unknown is not None:
        head["unknown"] = [unknown]
        errors = [e for e in errors if e["path"].lower() != unknown["path"].lower()]  # said once, as the error below
    # the catalogs whose verdict rests on the root stores that could not be read: shown "unknown"
    guessed = {path.lower() for unknown in head.get("unknown", []) for path in unknown["catalogs"]}
    if args.command == "packages":
        # what wmic qfe shows that day, as the check that predicts it stated it (the table and JSON both read it);
        # no such check ran: the list as the packages give it
        no_prediction: WmicQfe = {"empty": False, "from": None, "rows": inventory["qfe"], "empty_from": None}
        wmic = (inventory.get("wmic_qfe") or [no_prediction])[0]
        packages: PackagesListing = {
            **head,
            "qfe": inventory["qfe"],
            "packages": [_unproven_package(p, guessed) for p in inventory["packages"]],
            "wmic_qfe": wmic,
            "qfe_empty_from": wmic["empty_from"],
            "ssu_level": ssu_level(inventory["packages"]),
        }
        write(args.output, to_json(packages) if args.format == "json" else packages_table(packages))
    else:
        catalogs: CatalogsListing = {**head, "catalogs": [_unproven_catalog(c, guessed) for c in inventory["catalogs"]]}
        write(args.output, to_json(catalogs) if args.format == "json" else catalogs_table(catalogs))
    warn(errors, report["warnings"], args.quiet)
    if unknown is not None:
        print(f"imgscan: error: {unknown['message']}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_CLEAN


def _unread_software(report: Report) -> tuple[str, str] | None:
    """(path, what is wrong) of the SOFTWARE hive when the scan could not read it (missing, truncated, not a
    hive): the machine hives read are in the inventory's `hives`, and one that could not be read is an
    `errors` entry "SOFTWARE: <problem>" at its path. None when it was read."""
    from imgscan.image.volume import CONFIG_DIR, child_path

    if any(hive["role"] == "SOFTWARE" for hive in report["inventory"].get("hives", [])):
        return None
    path = child_path(CONFIG_DIR, "SOFTWARE")
    entry = next((e for e in report["errors"] if e["path"].lower() == path.lower()), None)
    return path, entry["message"].removeprefix("SOFTWARE: ") if entry else "not read"


def _hidden_registrations(report: Report) -> tuple[str, str] | None:
    """(path, what is wrong) of the first damaged cell met reading the package registrations in a SOFTWARE
    hive that was read (an `errors` entry at a path under its CBS Packages key); None when there was none."""
    from imgscan.image.volume import CONFIG_DIR, child_path
    from imgscan.servicing import under_registrations

    software = child_path(CONFIG_DIR, "SOFTWARE")
    entry = next((e for e in report["errors"] if under_registrations(software, e["path"])), None)
    return (entry["path"], entry["message"]) if entry else None


def _unknown_registrations(hidden: tuple[str, str]) -> Unknown:
    """What a packages listing cannot tell when a damaged cell lost package registrations: whether the
    packages found only as files are installed, and so the qfe list and the servicing stack level."""
    path, problem = hidden
    what = (
        "the packages registered there are hidden, so the installed updates, the servicing stack and the state "
        "of each package not found registered are unknown"
    )
    fields = ["qfe", "wmic_qfe", "qfe_empty_from", "ssu_level", *(f"packages[].{f}" for f in PACKAGE_STATE_FIELDS)]
    return {"path": path, "problem": problem, "fields": fields, "catalogs": [], "message": f"{path}: {problem}: {what}"}


def _unknown(unread: tuple[str, str], command: str, catalogs: list[CatalogJson]) -> Unknown:
    """What a listing cannot tell without SOFTWARE: the package registrations (the installed updates, the
    servicing stack, each package's state) and the image's ROOT, AuthRoot and Disallowed stores, so a
    catalog whose chain ends at a root the bundled set lacks is "unknown" (the image may trust that root),
    and the others were judged without the image's Disallowed store."""
    path, problem = unread
    guessed = [c["path"] for c in catalogs if c.get("cause") == "untrusted-root"]
    trust = "catalogs were judged without the image's own root and Disallowed stores (also there)" + (
        f": the {len(guessed)} catalog(s) whose root is not among imgscan's bundled roots are unknown" if guessed else ""
    )
    if command == "packages":
        fields = ["qfe", "wmic_qfe", "qfe_empty_from", "ssu_level", *(f"packages[].{f}" for f in PACKAGE_STATE_FIELDS)]
        fields += ["packages[].catalog_status_as_of", "packages[].catalog_fails_from"]
        registered = "the installed updates, the servicing stack and each package's state are registered there"
        what = f"{registered}, so they are unknown; {trust}"
    else:
        fields = ["catalogs[].status_as_of"]
        what = trust
    return {"path": path, "problem": problem, "fields": fields, "catalogs": guessed, "message": f"{path}: {problem}: {what}"}


def _unproven_package(package: PackageJson, guessed: set[str]) -> PackageJson:
    """A package whose own catalog's verdict rests on root stores that could not be read (`guessed`: those
    catalogs' paths, lower case): its catalog's state that day is unknown, and so is the day it fails."""
    if not package["cat"] or package["cat"].lower() not in guessed:
        return package
    return {**package, "catalog_status_as_of": "unknown", "catalog_fails_from": None}


def _unproven_catalog(catalog: CatalogJson, guessed: set[str]) -> CatalogJson:
    return {**catalog, "status_as_of": "unknown"} if catalog["path"].lower() in guessed else catalog


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
