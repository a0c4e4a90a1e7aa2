"""`imgscan fleet INPUT...`: hosts judged into a resumable database, run by run, and the per-host summary."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgscan import __version__, interrupt
from imgscan.cli.exits import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, FLEET_EXIT_CODES, crashed_gate
from imgscan.cli.options import Groups, add_command, add_fail_on, add_output, database_location, job_count, update_path
from imgscan.cli.outputs import disown, write
from imgscan.collector import young_collections_only
from imgscan.errors import ImgscanError
from imgscan.ignore import DEFAULT as DEFAULT_IGNORE
from imgscan.severity import Severity

HOSTS_NAMED = 5  # hosts named in a line that says how many could not be read or judged whole

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from imgscan.cli.options import Subcommands
    from imgscan.fleet.host import FleetHost
    from imgscan.fleet.store import Store


def add_parsers(sub: Subcommands, groups: Groups) -> None:
    made = add_command(
        sub,
        "fleet",
        [groups.common, groups.dates],
        "judge many hosts (images, directories, globs, host lists in CSV or YAML) into a resumable database",
        "Judge hosts: each image given is one host; a host list (CSV or YAML) names each host's image and its own "
        "facts (network, deployment day, firmware, recovery partition, labels), its columns as docs/fleet.md lists "
        "them. An image that cannot be read is an error row; the run then exits 2 when no host reaches --fail-on.",
        exit_codes=FLEET_EXIT_CODES,
    )
    made.add_argument("inputs", nargs="*", metavar="INPUT", help="image, directory of images, glob, or hosts.csv/.yaml")
    made.add_argument("--jobs", type=job_count, default=os.cpu_count() or 1, metavar="N", help="local worker processes")
    made.add_argument(
        "--db",
        type=database_location,
        default="imgscan-fleet.sqlite",  # a string, so that argparse checks it like a given one
        metavar="FILE|URL",
        help="results database: a SQLite file (default: imgscan-fleet.sqlite in the current directory) "
        "or a shared PostgreSQL server, postgresql://user:password@host/db",
    )
    made.add_argument(
        "--resume",
        action="store_true",
        help="continue the latest run (or --run ID): keep hosts whose image and facts are unchanged",
    )
    made.add_argument("--run", type=int, metavar="ID", help="the run to show or resume (default: the latest)")
    made.add_argument("--report", action="store_true", help="only render the summary from --db, scan nothing")
    made.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask cluster instead of locally")
    which = made.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, metavar="N", help="the image of each multi-image WIM (a host list has its own)")
    which.add_argument("--image-name", metavar="NAME", help="the image of each multi-image WIM, by name")
    which.add_argument("--all-images", action="store_true", help="every image of a WIM is a golden image of its own")
    made.add_argument(
        "--updates",
        type=update_path,
        action="append",
        default=[],
        metavar="DIR|FILE",
        help="also judge these .msu/.cab updates (or folders of them) on every host, as preflight does",
    )
    add_fail_on(made, None, "default high; --report and --resume: the run's own")  # not given: _fail_on
    add_output(made, ("table", "json", "csv", "html"), "the summary ")


def run(args: argparse.Namespace) -> int:
    """The fleet command. Its heap is mostly hosts and their rows, which live until the summary is written:
    full garbage collections walking them again and again were a tenth of a 10,000-host run's CPU
    (bench/fleet.py), so only young ones run (imgscan.collector)."""
    with young_collections_only():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from imgscan.fleet import summary as fleet_summary
    from imgscan.fleet.store import Store

    if not args.report and not args.inputs:
        print("imgscan: error: give images, directories, globs or a host list (or --report)", file=sys.stderr)
        return EXIT_ERROR
    # the inputs are checked before the store is opened: a refused host list leaves no empty database behind
    inputs = None if args.report else _inputs(args)
    if inputs is not None:
        _not_over_an_image(args.output, (host.path for host in inputs[0]))
        if DEFAULT_IGNORE.is_file() and not args.quiet:  # scan and diff accept what it lists: say fleet does not
            print(
                f"imgscan: warning: {DEFAULT_IGNORE}: fleet applies no ignore file; each host is judged on all its findings",
                file=sys.stderr,
            )
    store = Store(args.db)
    try:
        args.fail_on = _fail_on(args, store)
        if inputs is None:
            run_id = args.run
        else:
            run_id = _scan(args, store, *inputs)
        shown = store.run(run_id)
        if shown is None:
            latest = store.run()
            advice = f"its latest run is {latest['id']}" if latest else "scan images into it first"
            raise ImgscanError(store.name, f"no run {run_id}" if run_id else "no run yet", advice)
        summary = fleet_summary.summarize(store.rows(shown["id"]), args.fail_on)
    except interrupt.Interrupted as exc:
        exc.kept = f"the hosts that finished are saved in {store.name}: run the command again with --resume to judge the rest"
        raise
    finally:
        store.close()
    _not_over_an_image(args.output, (str(row["image"]) for row in summary))  # --report: the run's hosts' images
    views: dict[str, Callable[[list[dict[str, Any]]], str]] = {
        "table": lambda s: fleet_summary.to_table(s, shown, args.verbose),
        "json": fleet_summary.to_json,
        "csv": fleet_summary.to_csv,
        "html": lambda s: fleet_summary.to_html(s, shown, args.fail_on),
    }
    write(args.output, views[args.format](summary))
    unread = [fleet_summary.name(row) for row in summary if row["scan"] == "unreadable"]
    if unread:  # said here too: with -o the summary's rows are in a file, and exit 2 alone says nothing of why
        line = f"{len(unread)} of {len(summary)} host(s) could not be read ({_some(unread)}): their rows say why"
        print(f"imgscan: error: {line}", file=sys.stderr)
    if unfinished := shown["finished_at"] is None:  # interrupted, or still running: the rest are not judged yet
        line = f"run {shown['id']} is not finished: only the {len(summary)} host(s) judged so far are shown"
        print(f"imgscan: error: {line}; run the command again with --resume to judge the rest", file=sys.stderr)
    bad_updates = shown["options"].get("unreadable_updates") or []  # this run's (each said as it was read)
    if bad_updates and inputs is None:  # or those of the run --report shows
        named = ", ".join(bad_updates)
        print(f"imgscan: error: {len(bad_updates)} update(s) of --updates could not be read ({named})", file=sys.stderr)
    if broken := [fleet_summary.name(row) for row in fleet_summary.incomplete(summary)]:  # as scan: exit 3
        line = f"{len(broken)} of {len(summary)} host(s) were judged without the findings of a check that crashed"
        print(f"imgscan: error: {line} ({_some(broken)}): their rows name it; {crashed_gate()}", file=sys.stderr)
        return EXIT_INTERNAL
    if fleet_summary.gating(summary) or fleet_summary.updates_gating(summary):
        return EXIT_FINDINGS
    return EXIT_ERROR if unread or unfinished or bad_updates else EXIT_CLEAN


def _fail_on(args: argparse.Namespace, store: Store) -> Severity:
    """--fail-on as given; else the run's own for --report and --resume (the summary of a run made with
    --fail-on critical must not fail on its high findings when shown again), and high for a new run."""
    if isinstance(args.fail_on, Severity):
        return args.fail_on
    earlier = store.run(args.run) if args.report or args.resume else None
    return Severity.parse(str((earlier or {}).get("options", {}).get("fail_on") or "high"))


def _some(hosts: list[str]) -> str:
    """The first HOSTS_NAMED hosts by name, and how many more."""
    more = len(hosts) - HOSTS_NAMED
    return ", ".join(hosts[:HOSTS_NAMED]) + (f" and {more} more" if more > 0 else "")


def _not_over_an_image(output: Path | None, images: Iterable[str]) -> None:
    """-o must not name a host's image: those a host list, a folder or a glob gives are known only once read
    (the usage check sees only the images named on the command line), and a report written there destroys
    the evidence."""
    from imgscan.cli.validation import same_file

    if output is None:
        return
    for image in images:
        if same_file(output, Path(image)):
            disown(output)  # the host's image: kept, whatever the exit code
            raise ImgscanError(
                str(output), f"is the image of a host ({image}): imgscan never writes over its input", "give -o another file"
            )


def _inputs(args: argparse.Namespace) -> tuple[list[FleetHost], tuple[Any, ...], list[str]]:
    """The hosts the inputs name, the updates given to judge on them and those that could not be read
    (ImgscanError when the hosts cannot be)."""
    from imgscan.fleet.inputs import collect, every_image

    hosts = collect(args.inputs, args.index, args.image_name)
    if args.all_images:
        hosts = every_image(hosts)
    return (hosts, *_read_updates(args.updates))


def _scan(args: argparse.Namespace, store: Store, hosts: list[FleetHost], updates: tuple[Any, ...], unread: list[str]) -> int:
    """Judge `hosts` into a new run, or into the run --resume continues; its id."""
    from imgscan.fleet.feedback import Feedback
    from imgscan.fleet.run import by_image, plan, run_dask, run_local
    from imgscan.fleet.work import FleetOptions

    plugins = tuple(str(p) for p in args.plugins)
    resumed = store.run(args.run) if args.resume else None
    if args.resume and args.run and resumed is None:
        raise ImgscanError(store.name, f"no run {args.run} to resume")
    if resumed is not None:
        options = _resumable(resumed, args, plugins, updates)
        run_id = int(resumed["id"])
    else:
        as_of = (args.as_of or datetime.now(timezone.utc).date()).isoformat()
        options = FleetOptions(as_of, args.horizon, plugins, updates)
        recorded: dict[str, Any] = {"plugins": list(plugins), "index": args.index, "image_name": args.image_name}
        recorded |= {"all_images": args.all_images, "fail_on": str(args.fail_on), "inputs": list(args.inputs)}
        recorded["updates"] = _named(updates)
        recorded["unreadable_updates"] = unread  # the run cannot pass, now or when --report shows it again
        run_id = store.start_run(as_of, args.horizon, recorded, options.fingerprint(), __version__)
    before = set(store.done(run_id)) if resumed is not None else set()  # the hosts the run held already
    todo = plan(hosts, store, run_id, resumed is not None)
    store.mark(run_id, todo.reused, "reused")
    if resumed is not None and not args.quiet:
        counts = todo.counts()
        print(
            f"imgscan: run {run_id} resumed: {counts['reused']} host(s) reused, {counts['rescanned']} rescanned "
            f"(image or settings changed), {counts['retried']} retried (unreadable or incomplete before), {counts['new']} new",
            file=sys.stderr,
        )
        if others := sorted(before - {host.key for host in hosts}):  # its summary counts them: say so
            print(
                f"imgscan: warning: run {run_id} also holds {len(others)} host(s) these inputs do not name "
                f"({_some(others)}); its summary counts them (start a new run to judge only these)",
                file=sys.stderr,
            )
    groups = by_image(todo.todo)
    with (
        interrupt.doing(f"judging {len(todo.todo)} host(s) on {len(groups)} image(s)"),
        Feedback(len(todo.todo), args.fail_on, args.verbose) as feedback,
    ):

        def commit(results: list[dict[str, Any]]) -> None:
            feedback.done(store.record_all(run_id, results, __version__, options.fingerprint(), todo.origin))

        if args.scheduler:
            run_dask(groups, options, args.scheduler, store, commit)
        else:
            run_local(groups, options, args.jobs, store.location, commit)
    store.finish_run(run_id)
    return run_id


def _read_updates(inputs: list[Path]) -> tuple[tuple[Any, ...], list[str]]:
    """The packages of --updates, each read once for the whole run (the workers get them read), and those that
    could not be: each is a one-line error naming it, the others are still judged, and the run cannot pass
    (as preflight: an update that cannot be read cannot be said to install)."""
    from imgscan.preflight.run import read_updates

    updates, errors = read_updates(inputs)
    for error in errors:
        rest = "; the other updates are judged" if updates else ""
        print(f"imgscan: error: {error['path']}: {error['message']}{rest}", file=sys.stderr)
    return tuple(updates), [error["path"] for error in errors]


def _named(updates: tuple[Any, ...]) -> list[dict[str, str]]:
    return [{"file": u.path, "sha256": u.sha256} for u in updates]


def _resumable(run: dict[str, Any], args: argparse.Namespace, plugins: tuple[str, ...], updates: tuple[Any, ...]) -> Any:
    """The options of the run --resume continues; a command that asks for other ones is refused, so one
    run never mixes as-of dates or settings."""
    from imgscan.fleet.work import FleetOptions

    where = f"run {run['id']}"
    if run["version"] != __version__:
        raise ImgscanError(where, f"was made by imgscan {run['version']}", "start a new run (without --resume)")
    if args.as_of and args.as_of.isoformat() != run["as_of"]:
        raise ImgscanError(where, f"judges hosts as of {run['as_of']}", "resume it without --as-of, or start a new run")
    if args.horizon != run["horizon_days"]:
        raise ImgscanError(where, f"looks {run['horizon_days']} days ahead", f"resume it with --horizon {run['horizon_days']}")
    if list(plugins) != run["options"].get("plugins", []):
        raise ImgscanError(where, "was made with other --plugins", "resume it with the same --plugins, or start a new run")
    if [u["sha256"] for u in _named(updates)] != [u["sha256"] for u in run["options"].get("updates", [])]:
        raise ImgscanError(where, "was made with other --updates", "resume it with the same --updates, or start a new run")
    return FleetOptions(run["as_of"], run["horizon_days"], plugins, updates)
