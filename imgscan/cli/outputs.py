"""Where reports go: checked before the scan starts, named by their extension, and written whole or not at all.

A report path is checked up front (its folder exists and takes a new file, it is not a folder), so a
typo costs a second, not a scan. A report is written to a temporary file beside it and renamed over
the target when complete: a run that is interrupted, or a disk that fills up, never leaves a truncated
SARIF file for a CI step to upload. Devices and pipes (`-o /dev/null`, `-o /dev/stdout`) are written
directly: they cannot be renamed over and hold no old content to protect.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from imgscan.errors import ImgscanError
from imgscan.interrupt import deferred, doing
from imgscan.report import ErrorEntry

# the format a report name announces; `.xml` is JUnit, the XML report CI systems read
EXTENSIONS = {
    ".json": "json",
    ".sarif": "sarif",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
    ".xml": "junit",
    ".txt": "table",
    ".jsonl": "jsonl",
    ".rec": "records",
}

# the reports written so far in this run (for the message of an interrupted run)
written: list[str] = []


def format_of(path: Path) -> str | None:
    """The format the file name announces (`report.sarif.json` is SARIF), or None when it says none."""
    name = path.name.lower()
    if name.endswith(".sarif.json"):
        return "sarif"
    return EXTENSIONS.get(Path(name).suffix)


def is_stream(path: Path) -> bool:
    """An existing device, pipe or socket (/dev/null, /dev/stdout, a FIFO): written in place, no format implied."""
    try:
        return not stat.S_ISREG(path.stat().st_mode) and not path.is_dir()
    except OSError:
        return False


def unwritable(path: Path, probe: bool = True) -> str | None:
    """Why a report cannot be written to `path` (one line), or None when it can: checked before the scan.
    `probe`: also make (and remove) a file in its folder, the one test root cannot be lied to by; left to the
    last check of a command, so that one refused for another reason never touches the folder (the folder of
    an image may be evidence)."""
    if path.is_dir():
        return f"{path} is a directory (give a file name, e.g. {path / 'report.json'})"
    path = Path(os.path.realpath(path))  # a symbolic link is written through, in its target's folder
    if is_stream(path):
        return None if os.access(path, os.W_OK) else f"{path}: permission denied"
    folder = path.parent
    if not folder.exists():
        return f"{folder}: no such directory (create it first)"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: permission denied"
    if not probe:
        return None
    try:  # the real test: can a new file be made there (the write goes through one)? os.access lies to root
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".imgscan"):
            pass
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return None


def _to_stdout(text: str | bytes) -> None:
    """All of `text` to stdout, or an OSError. With PYTHONUNBUFFERED set (container images and CI runners
    often set it) stdout's binary layer is the file itself, whose write may take a part only and say so
    instead of failing: a pipe whose reader quit takes its first 64 KB, and the rest of a report was
    dropped with exit 0. So the bytes are written until none are left, and the next write raises."""
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a stdout replaced by text-only stream (an embedding program's): it writes whole or raises
        sys.stdout.write(text if isinstance(text, str) else text.decode("utf-8", "surrogateescape"))
        sys.stdout.flush()
        return
    if isinstance(text, str):
        newline = text.replace("\n", os.linesep) if os.linesep != "\n" else text  # what the text layer does
        text = newline.encode(sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict")
    view = memoryview(text)
    while view:
        written = out.write(view)
        if not written:  # None: a non-blocking stdout that is full; 0: a device that takes nothing
            raise OSError(errno.EAGAIN if written is None else errno.EIO, "stdout took none of what was left")
        view = view[written:]
    out.flush()


def write(target: Path | None, text: str | bytes) -> None:
    """`text` to `target` (stdout when None), whole or not at all; a failure is a one-line ImgscanError.
    Bytes (a flow.record stream) are written as they are."""
    if target is None:
        try:
            _to_stdout(text)
        except BrokenPipeError:  # `imgscan scan ... | head`: not a bug in imgscan
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # and no second error at exit
            raise ImgscanError("stdout", "the program reading the report closed it before the end") from None
        except OSError as exc:  # `> /dev/full`, a full disk: the report is not whole, which the exit code says
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise ImgscanError("stdout", f"cannot write the report: {exc.strerror or exc}") from None
        return
    target = Path(os.path.realpath(target))  # through a symbolic link, to the file it names
    with doing(f"writing {target}"):
        try:
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            if is_stream(target):
                with target.open("wb") as fh:
                    fh.write(data)
            else:
                _replace(target, data)
        except OSError as exc:
            raise ImgscanError(str(target), f"cannot write the report: {exc.strerror or exc}") from None
    written.append(str(target))


def warn(errors: Sequence[ErrorEntry], warnings: Sequence[str] = (), quiet: bool = False) -> None:
    """What a report could not read (its `errors`) or was told to note (`warnings`), one stderr line each
    (none with -q)."""
    if quiet:
        return
    for error in errors:
        print(f"imgscan: warning: {error['path']}: {error['message']}", file=sys.stderr)
    for warning in warnings:
        print(f"imgscan: warning: {warning}", file=sys.stderr)


def _replace(target: Path, data: bytes) -> None:
    """Write beside the target, then rename over it; the temporary file never outlives this call."""
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    partial: Path | None = None
    try:
        with deferred():  # no interruption between creating the temporary file and arming its removal
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".imgscan")
            partial = Path(name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(partial, mode)
        os.replace(partial, target)
        partial = None
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
