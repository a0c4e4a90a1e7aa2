"""Usage errors found before anything is scanned, beyond what one option's type can see: --plugins files
that do not load, reports that would land on an input, on one another, or in the wrong format, and a WIM's
image chosen for an input that is not a WIM."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from imgscan.cli.outputs import EXTENSIONS, format_of, is_stream, unwritable
from imgscan.ignore import DEFAULT as DEFAULT_IGNORE


def check_plugins(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """A --plugins file that does not load (it raises on import, or reuses a rule id) is a usage error before any
    scanning: a gate must not pass because a check it was given never ran."""
    if not args.plugins:
        return
    from imgscan.loader import load_checks

    errors = load_checks(args.plugins).errors
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        problem = errors[0]["message"].removesuffix("; skipped")  # loading stops here: nothing is skipped and run
        command.error(f"--plugins: {errors[0]['path']}: {problem}{more}")


def check_selection(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """--index and --image-name choose one image of a WIM. Given with a disk image they chose nothing, and a
    user who meant the second image of a capture would read the report of the only one: say so instead. Both
    at once may name two images: the name was ignored."""
    if getattr(args, "index", None) is not None and getattr(args, "image_name", None):
        command.error("--index and --image-name each choose the image of a WIM: give one of them")
    image = getattr(args, "image", None)
    chosen = getattr(args, "index", None) is not None or getattr(args, "image_name", None)
    if not chosen or image is None or not image.exists():
        return  # a missing input: the scan says so
    from imgscan.image.sniff import is_wim

    if not is_wim(image):
        option = "--index" if args.index is not None else "--image-name"
        command.error(f"{option} chooses an image of a WIM, ESD or SWM file; {image} is not one (leave {option} out)")


def check_outputs(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """Usage errors about where reports go, before any scanning: the format each -o gets (from -f, else from its
    name), reports that would land on one another or on an input, and a fleet --report without its database."""
    if not hasattr(args, "output"):
        return
    try:
        formats, targets = _outputs(args, command)
    except ValueError as exc:
        command.error(str(exc))
    args.format = formats if args.command == "scan" else formats[0]
    if args.command != "scan":
        args.output = targets[0] if targets else None


def report_files(args: argparse.Namespace, command: argparse.ArgumentParser) -> list[Path]:
    """The files the command writes its reports to (each -o, --fix-script) once check_outputs accepts them, before
    it ran: none when it refuses them (a name that says no format may be any file, an input is evidence). These
    are the paths a run that writes no report clears of an earlier run's (imgscan.cli.outputs.discard_stale)."""
    if not hasattr(args, "output"):
        return []
    try:
        _, targets = _outputs(args, command)
    except (ValueError, OSError):  # check_outputs says why, in its turn
        return []
    script = getattr(args, "fix_script", None)
    return [*targets, *([script] if isinstance(script, Path) else [])]


def _outputs(args: argparse.Namespace, command: argparse.ArgumentParser) -> tuple[list[str], list[Path]]:
    """The format of each report and the -o files, as the command line gives them; ValueError: why not."""
    targets: list[Path] = args.output if isinstance(args.output, list) else [args.output] if args.output else []
    given: list[str] = args.format if isinstance(args.format, list) else [args.format] if args.format else []
    choices = tuple(next(a for a in command._actions if "--format" in a.option_strings).choices or ())
    files = (getattr(args, "fix_script", None), getattr(args, "db", None))
    written = [*targets, *(p for p in files if isinstance(p, Path))]  # a PostgreSQL --db is a URL, no file
    read = [p for p in (getattr(args, "image", None), getattr(args, "old", None), getattr(args, "new", None)) if p]
    read += [Path(p) for p in getattr(args, "inputs", []) if Path(p).is_file()]
    read += list(getattr(args, "updates", []))
    if hasattr(args, "ignore"):  # the ignore file it reads, given or found in the working directory
        read += [args.ignore] if args.ignore else [DEFAULT_IGNORE] if DEFAULT_IGNORE.is_file() else []
    for index, target in enumerate(written):
        if any(same_file(target, other) for other in read):
            raise ValueError(f"{target} is an input of this command: imgscan never writes over its input")
        if folder := next((other for other in read if inside(target, other)), None):
            raise ValueError(f"{target} lies in {folder}, an image this command reads: imgscan never writes into its input")
        if not is_stream(target) and any(same_file(target, other) for other in written[:index]):
            raise ValueError(f"{target} is given twice: each report needs a file of its own")
        if (image := _image_format(target)) is not None:
            raise ValueError(f"{target} is a disk image ({image}): imgscan never writes a report over evidence")
    script = getattr(args, "fix_script", None)
    if isinstance(script, Path) and not is_stream(script) and script.suffix.lower() not in (".reg", ".ps1"):
        raise ValueError(f"--fix-script {script}: its name says neither .reg (a registry file) nor .ps1 (PowerShell)")
    if args.command == "fleet" and args.report and isinstance(args.db, Path) and not args.db.is_file():
        raise ValueError(f"--db {args.db}: no such fleet database (scan images into it first)")
    if args.command != "scan" and (len(given) > 1 or len(targets) > 1):
        raise ValueError(f"imgscan {args.command} writes one report: give -f and -o once (imgscan scan writes several)")
    return _formats(given, targets, choices, args.command), targets


def _image_format(path: Path) -> str | None:
    """The format of the disk or WIM image already at `path` (a regular file), by its header; None for anything
    else (no file, a device or pipe, an earlier report): a report must not replace an image, input or not."""
    try:
        if not path.is_file() or is_stream(path):
            return None
        from imgscan.image.sniff import read_header

        found = read_header(path).format
    except OSError:
        return None
    return None if found == "unknown" else found


def check_writable(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """The last usage check: each report's folder takes a new file (a file made and removed there), once
    nothing else refuses the command."""
    targets = args.output if isinstance(getattr(args, "output", None), list) else [getattr(args, "output", None)]
    named = [("-o/--output", target) for target in targets]
    named += [("--fix-script", getattr(args, "fix_script", None)), ("--db", getattr(args, "db", None))]
    for option, target in named:
        if isinstance(target, Path) and (problem := unwritable(target)):
            command.error(f"argument {option}: {problem}")


def _formats(given: list[str], targets: list[Path], choices: tuple[str, ...], name: str) -> list[str]:
    """The format of each report: -f, paired with -o in order (a -f without -o goes to stdout), else what each
    -o's name announces (report.json: json), else table. A name that contradicts its -f is a usage error."""
    if not given:
        return [_named_format(target, choices, name) for target in targets] or ["table"]
    if len(targets) > len(given) or len(given) - len(targets) > 1:
        raise ValueError(
            "give one -o FILE per --format, or -o alone with names that say the format (report.json, report.sarif); "
            "at most one format may go to stdout"
        )
    for fmt, target in zip(given, targets, strict=False):  # the last -f may have no -o: stdout
        named = format_of(target)
        if named and named != fmt:
            raise ValueError(f"-o {target}: the name says {named}, its --format says {fmt} (each -o takes the -f at its place)")
    return given


def _named_format(target: Path, choices: tuple[str, ...], name: str) -> str:
    named = format_of(target)
    if named is None:
        if is_stream(target):  # /dev/null, a pipe: no name to go by
            return "table"
        known = ", ".join(sorted(ext for ext, fmt in EXTENSIONS.items() if fmt in choices))  # only what it writes
        raise ValueError(f"-o {target}: its name does not say the format ({known}); add -f FORMAT")
    if named not in choices:
        raise ValueError(f"-o {target}: imgscan {name} does not write {named} (it writes {', '.join(choices)})")
    return named


def inside(target: Path, folder: Path) -> bool:
    """Whether `target` lies inside `folder`, a directory image (through links): a report would be written into
    the evidence, an ignore file found there would come from it."""
    if not folder.is_dir():
        return False
    return Path(os.path.realpath(target)).is_relative_to(os.path.realpath(folder))


def same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file (through links, or once both exist, by inode)."""
    try:
        return os.path.realpath(one) == os.path.realpath(other) or (one.exists() and other.exists() and one.samefile(other))
    except OSError:
        return False


def check_fleet(args: argparse.Namespace, command: argparse.ArgumentParser) -> None:
    """fleet options that would be ignored: --run of a new run (it gets the next number: the user would read a
    run judged today as the one asked for), and inputs or a day given to --report, which scans nothing."""
    if args.command != "fleet":
        return
    if args.run is not None and not (args.resume or args.report):
        command.error(f"--run {args.run} chooses the run --resume continues or --report shows; a new run gets the next number")
    if args.report and args.inputs:
        command.error("--report renders a saved run and scans nothing: leave out the images (or --report)")
    if args.report and (args.as_of or args.updates or args.resume):
        given = "--as-of" if args.as_of else "--updates" if args.updates else "--resume"
        command.error(f"--report shows a run as it was judged: {given} does not apply (start or resume a run instead)")
