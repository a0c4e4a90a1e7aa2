"""`imgscan fleet INPUT...`: many images scanned into a resumable database, and the per-host summary."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from imgscan import interrupt
from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from imgscan.cli.options import Groups, add_command, add_output, database_file, job_count
from imgscan.cli.outputs import write

if TYPE_CHECKING:
    from imgscan.cli.options import Subcommands


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    made = add_command(
        sub,
        "fleet",
        [groups.common, groups.dates, groups.threshold],
        "scan many images (files, directories, globs, manifest CSV) into a resumable database",
    )
    made.add_argument("inputs", nargs="*", metavar="INPUT", help="image, directory of images, glob, or manifest.csv")
    made.add_argument("--jobs", type=job_count, default=os.cpu_count() or 1, metavar="N", help="local worker processes")
    made.add_argument(
        "--db",
        type=database_file,
        default="imgscan-fleet.sqlite",  # a string, so that argparse checks it like a given one
        help="results database (default: imgscan-fleet.sqlite in the current directory)",
    )
    made.add_argument("--resume", action="store_true", help="skip images already in the database (same hash, options)")
    made.add_argument("--report", action="store_true", help="only render the summary from --db, scan nothing")
    made.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster instead of locally")
    add_output(made, ("table", "json", "csv", "html"), "the summary ")


def run(args: argparse.Namespace) -> int:
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
    write(args.output, views[args.format](summary))
    if fleet_summary.gating(summary):
        return EXIT_FINDINGS
    return EXIT_ERROR if any(r["scan"] == "unreadable" for r in summary) else EXIT_CLEAN
