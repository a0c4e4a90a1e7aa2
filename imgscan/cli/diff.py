"""`imgscan diff OLD NEW`: two images or saved JSON reports compared, finding by finding."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.cli.exits import DIFF_EXIT_CODES, EXIT_CLEAN, EXIT_FINDINGS, EXIT_INTERNAL, crashes
from imgscan.cli.options import Groups, add_command, add_output
from imgscan.cli.outputs import warn, write
from imgscan.cli.scan import run_scan
from imgscan.gate import crashed

if TYPE_CHECKING:
    from imgscan.cli.options import Subcommands
    from imgscan.report import Report


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    made = add_command(
        sub,
        "diff",
        [groups.common, groups.when, groups.firmware, groups.gate],
        "compare two images or saved JSON reports: new, resolved, worsened, improved and unchanged findings",
        exit_codes=DIFF_EXIT_CODES,
    )
    made.add_argument("old", type=Path, help="the previous image, or its saved `--format json` report")
    made.add_argument("new", type=Path, help="the new image, or its saved report")
    add_output(made, ("table", "json"))


def _said(sides: list[tuple[Report, Path]], quiet: bool) -> None:
    """The warnings and read errors of the sides judged now, as `scan` says them (an expired ignore entry,
    failures past --horizon, a damaged hive), each once however many sides give it. A warning only one side
    gives names that side (failures past the horizon of the old image, not of the new)."""
    errors = list({(e["path"], e["message"]): e for report, _ in sides for e in report["errors"]}.values())
    everywhere = set.intersection(*(set(report["warnings"]) for report, _ in sides)) if len(sides) > 1 else set()
    warnings = [w if w in everywhere or len(sides) == 1 else f"{path}: {w}" for report, path in sides for w in report["warnings"]]
    warn(errors, list(dict.fromkeys(warnings)), quiet)


def _unlike(args: argparse.Namespace, old: Report, new: Report, saved: list[Path]) -> list[str]:
    """What makes the two sides disagree without the images doing so: horizons that differ (a failure past one
    and within the other shows as new or resolved), and an --as-of that reaches neither saved report."""
    lines = []
    if old.get("horizon_days") != new.get("horizon_days"):
        lines.append(
            f"{args.old} looks {old.get('horizon_days')} days ahead, {args.new} {new.get('horizon_days')}: a failure "
            "within one horizon and past the other shows as new or resolved (judge both with one --horizon)"
        )
    if args.as_of and len(saved) == 2:
        lines.append(f"--as-of {args.as_of} reaches neither saved report: each keeps the day it was judged on")
    return lines


def run(args: argparse.Namespace) -> int:
    from imgscan.diff import diff_reports, is_saved_report, load_side
    from imgscan.loader import load_checks
    from imgscan.views.diff import diff_table
    from imgscan.views.json_view import to_json

    checks = load_checks(args.plugins)
    saved = [path for path in (args.old, args.new) if is_saved_report(path)]
    if args.ignore and saved and not args.quiet:  # a saved report's acceptances are those of the scan that wrote it
        print(
            f"imgscan: warning: --ignore {args.ignore} applies to the images judged now, not to {' and '.join(map(str, saved))}: "
            "a saved report keeps what the ignore file of its own scan accepted (scan it again with --ignore to change that)",
            file=sys.stderr,
        )
    images = tuple(path for path in (args.old, args.new) if path not in saved)
    old, new = (load_side(path, lambda p: run_scan(args, p, checks, evidence=images).report) for path in (args.old, args.new))
    _said([(side, path) for side, path in ((old, args.old), (new, args.new)) if path not in saved], args.quiet)
    if old.get("as_of") != new.get("as_of") and not args.quiet:  # a finding that merely started in between shows as new
        # --as-of reaches only a side that is scanned here: a saved report keeps the day it was judged on
        if args.new not in saved:
            hint = f"give --as-of {old.get('as_of')}"
        elif args.old not in saved:
            hint = f"give --as-of {new.get('as_of')}"
        else:
            hint = "save both reports with one --as-of"
        print(
            f"imgscan: warning: {args.old} is judged as of {old.get('as_of')}, {args.new} as of {new.get('as_of')}: "
            f"{hint} to compare the images on one day",
            file=sys.stderr,
        )
    if not args.quiet:
        for line in _unlike(args, old, new, saved):
            print(f"imgscan: warning: {line}", file=sys.stderr)
    result = diff_reports(old, new, args.fail_on, checks.rules)
    write(args.output, to_json(result) if args.format == "json" else diff_table(result))
    for side, path in ((old, args.old), (new, args.new)):
        if broken := crashed(side):  # a check that did not finish hides what the image adds
            print(f"imgscan: error: {crashes(broken, path)}", file=sys.stderr)
            return EXIT_INTERNAL
    return EXIT_FINDINGS if result["gating"] else EXIT_CLEAN
