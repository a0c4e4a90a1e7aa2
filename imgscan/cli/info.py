"""Commands that scan nothing: `images WIM` (the images a WIM holds), `explain CODE...`, `rules` and `plugins`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, LISTING_EXIT_CODES
from imgscan.cli.options import Groups, add_command
from imgscan.cli.outputs import write
from imgscan.errors import UnreadableImage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from imgscan.check import Rule
    from imgscan.cli.options import Subcommands
    from imgscan.report import WimListing


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    common = groups.common
    images = add_command(sub, "images", [common], "list the images of a WIM file", exit_codes=LISTING_EXIT_CODES)
    images.add_argument("image", type=Path, help="a .wim, .esd or first .swm file")
    images.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    explain = add_command(
        sub, "explain", [common], "explain an error code: name, message, facility, rules", exit_codes=LISTING_EXIT_CODES
    )
    explain.add_argument("codes", nargs="+", metavar="CODE", help="0x800b0101, 2148204801, -2146762495 or CERT_E_EXPIRED")
    explain.add_argument("-f", "--format", choices=("table", "json"), default="table", help="table|json (default table)")
    rules = add_command(
        sub,
        "rules",
        [common],
        "every rule with its severity policy, codes and references",
        description="Every rule of the built-in checks and of --plugins DIR; --format markdown prints the README's rules table.",
        exit_codes=LISTING_EXIT_CODES,
    )
    rules.add_argument(
        "-f", "--format", choices=("table", "markdown", "json"), default="table", help="table|markdown|json (default table)"
    )
    add_command(
        sub,
        "plugins",
        [common],
        "list the rules of every loaded check",
        description="List every rule of the built-in checks and of --plugins DIR: id, severity, title.",
        exit_codes=LISTING_EXIT_CODES,
    )


def run_images(args: argparse.Namespace) -> int:
    from imgscan.image.sniff import is_wim, too_short
    from imgscan.image.wim import read_info
    from imgscan.views.images import images_table
    from imgscan.views.json_view import to_json

    if not is_wim(args.image):
        if not args.image.is_file():
            raise UnreadableImage(str(args.image), "no such file" if not args.image.exists() else "not a file")
        raise UnreadableImage(str(args.image), too_short(args.image) or "not a WIM file (no MSWIM header)")
    info = read_info(args.image)
    listing: WimListing = {
        "path": str(args.image),
        "compression": info.compression,
        "parts": info.parts,
        "images": [i.as_dict() for i in info.images],
    }
    write(None, to_json(listing) if args.format == "json" else images_table(listing))
    return EXIT_CLEAN


def run_explain(args: argparse.Namespace) -> int:
    from imgscan import errorcodes
    from imgscan.explain import explanation
    from imgscan.loader import load_checks
    from imgscan.views.explain import explain_table
    from imgscan.views.json_view import to_json

    rules = load_checks(args.plugins).rules
    codes, bad = [], 0
    for text in args.codes:  # a bad one is an error line; every good one is still explained
        try:
            codes.append(errorcodes.describe(errorcodes.parse(text), name=text))
        except ValueError as exc:
            print(f"imgscan: error: {_rule_named(text, rules) or exc}", file=sys.stderr)
            bad += 1
    if codes:
        explained = [explanation(code, rules) for code in codes]
        write(None, to_json(explained) if args.format == "json" else explain_table(explained))
    return EXIT_ERROR if bad else EXIT_CLEAN


def _rule_named(text: str, rules: Sequence[Rule]) -> str | None:
    """What to say when `explain` gets a rule id copied from a report instead of an error code."""
    rule = next((r for r in rules if r.id == text), None)
    if rule is None:
        return None
    codes = f" (it predicts {', '.join(rule.predicts)})" if rule.predicts else ""
    return f"{rule.id!r} is a rule, not an error code{codes}: 'imgscan rules' describes every rule"


def run_rules(args: argparse.Namespace) -> int:
    from imgscan.loader import load_checks
    from imgscan.views.json_view import to_json
    from imgscan.views.rules import rules_markdown, rules_table

    loaded = load_checks(args.plugins)
    rules = [rule.as_dict() for rule in loaded.rules]
    views = {"json": lambda: to_json(rules), "markdown": lambda: rules_markdown(rules), "table": lambda: rules_table(rules)}
    write(None, views[args.format]())
    return EXIT_CLEAN


def run_plugins(args: argparse.Namespace) -> int:
    from imgscan.loader import load_checks

    loaded = load_checks(args.plugins)
    listed = [(rule, check) for check in loaded.checks for rule in check.rules]
    width = max((len(rule.id) for rule, _ in listed), default=0)  # the longest id, a --plugins one too, sets the column
    write(None, "".join(f"{rule.id:<{width}}  {str(rule.severity):<8} {rule.title}  [{check.name}]\n" for rule, check in listed))
    return EXIT_CLEAN
