"""Where reports go: checked before the scan starts, named by their extension, and written whole or not at all.

A report path is checked up front (its folder exists and takes a new file, it is not a folder), so a
typo costs a second, not a scan. A report is written to a temporary file beside it and renamed over
the target when complete: a run that is interrupted, or a disk that fills up, never leaves a truncated
SARIF file for a CI step to upload. Devices and pipes (`-o /dev/null`, `-o /dev/stdout`) are written
directly: they cannot be renamed over and hold no old content to protect.

The reports of one run are its reports or none (`together`): several are renamed into place at once,
after every one was written. A run that writes none of them (exit 2, 3, 130 or 143 before its reports)
leaves no earlier run's report at the paths it was given either (`discard_stale`): a CI step that
uploads report.sarif whatever the exit code (`if: always()`) would publish last night's scan as
tonight's.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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

# the reports written so far in this run (for the message of an interrupted run), each as its real path
written: list[str] = []
# the report files this run was given (as given, and absolute), once the usage checks accepted them: what
# `discard_stale` may remove; and whether -q was given
_given: list[tuple[str, Path]] = []
_quiet = {"quiet": False}
# the reports being written `together`: (temporary file, target), renamed into place at the end of the block
_batches: list[list[tuple[Path, Path]]] = []


def begin() -> None:
    """A new run: nothing written, no report given yet (one process runs several in the tests)."""
    written.clear()
    _given.clear()
    _batches.clear()


def expect(paths: Sequence[Path], quiet: bool = False) -> None:
    """The report files this run was given (-o, --fix-script), once the usage checks accepted them as reports:
    each holds this run's report at its end, or nothing (`discard_stale`)."""
    # the folder as the system resolves it (`lnk/../r.json` lies beside lnk's target, as the write finds it), the
    # name as given (a link there is removed itself, not the file it names)
    _given[:] = [(str(path), Path(os.path.realpath(path.parent), path.name)) for path in paths]
    _quiet["quiet"] = quiet


def disown(path: Path) -> None:
    """A path found not to be a report's after all (fleet: the image of a host a host list names): never removed."""
    _given[:] = [(shown, given) for shown, given in _given if not _same(given, path)]


def discard_stale() -> None:
    """At the end of a run that did not write its reports (exit 2, 3, 130, 143): remove the file at each report
    path it was given and did not write, which holds an earlier run's report, so that a CI step uploading it
    whatever the exit code does not publish that as this run's. One stderr line names what was removed (none
    with -q, like a warning); one that cannot be removed is an error line, -q or not.

    Only what a successful run would have replaced is removed: a regular file, or a symbolic link to one (the
    link itself: the name given no longer leads to an earlier report, and the file it pointed to, wherever it
    is, stays). Never a device, a pipe, a folder, a dangling link, a name in /dev or /proc (`-o /dev/stdout`
    redirected to a file), a file this run may not write, or a disk or WIM image (evidence, whatever -o said)."""
    done = set(written)
    removed: list[str] = []
    for shown, path in _given:
        if os.path.realpath(path) in done or not _stale(path):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            reason = exc.strerror or exc
            print(f"imgscan: error: cannot remove {shown}, an earlier run's report: {reason}", file=sys.stderr)
            continue
        removed.append(shown)
    _given.clear()
    if removed and not _quiet["quiet"]:
        names = " and ".join([", ".join(removed[:-1]), removed[-1]] if len(removed) > 1 else removed)
        what = "an earlier run's report" + ("s" if len(removed) > 1 else "")
        print(f"imgscan: removed {names}, {what} (this run wrote none)", file=sys.stderr)


def _stale(path: Path) -> bool:
    """Whether the file at `path` is one `discard_stale` removes (see there)."""
    try:
        here = path.lstat()
        there = path.stat()  # through a link
    except OSError:  # nothing there, or a dangling link: nothing a CI step would upload
        return False
    # /dev/stdout, /dev/fd/N and /proc/self/fd/N name an open file of this process (what a shell's `>` made them,
    # maybe a regular file), never an earlier run's report
    folder = Path(os.path.realpath(path.parent))
    if folder == Path("/dev") or folder.is_relative_to("/proc"):
        return False
    # before its header is read: opening a pipe would wait for a writer
    if not stat.S_ISREG(there.st_mode) or not (stat.S_ISREG(here.st_mode) or stat.S_ISLNK(here.st_mode)):
        return False
    if not os.access(path, os.W_OK):  # a report made read-only is refused up front, and kept
        return False
    from imgscan.image.sniff import read_header

    try:
        return read_header(path).format == "unknown"
    except OSError:
        return False


def _same(one: Path, other: Path) -> bool:
    try:
        return os.path.realpath(one) == os.path.realpath(other) or one.samefile(other)
    except OSError:
        return False


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
    if is_stream(path):  # before resolving: /dev/stdout of a pipe resolves to no path ("pipe:[N]")
        return None if os.access(path, os.W_OK) else f"{path}: permission denied"
    given = path
    path = Path(os.path.realpath(path))  # a symbolic link is written through, in its target's folder
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
        return f"cannot create {given}: {_refused(folder, exc)}"
    return None


def _refused(folder: Path, exc: OSError) -> str:
    """Why `folder`, which exists, made no new file, in words true of it. The system's own words alone mislead: a
    pseudo file system answers "No such file or directory" (/proc) or "Permission denied" (/sys, even to root)
    in a folder that is there and that the user may write to by its permissions."""
    said = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM) and not os.access(folder, os.W_OK | os.X_OK):
        return f"you may not create files in {folder} ({said})"
    if exc.errno not in (errno.EACCES, errno.EPERM, errno.ENOENT):  # a read-only or full disk, a name too long...
        return said
    return f"{folder} takes no new files (the system says {said!r})"


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
    stream = is_stream(target)  # before resolving: /dev/stdout of a pipe resolves to no path ("pipe:[N]")
    target = target if stream else Path(os.path.realpath(target))  # through a symbolic link, to the file it names
    with doing(f"writing {target}"):
        try:
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            if stream:
                with target.open("wb") as fh:
                    fh.write(data)
            elif _batches:
                _partial(target, data, _batches[-1])
                return  # renamed into place with the others at the end of `together`
            else:
                _replace(target, data)
        except OSError as exc:
            raise ImgscanError(str(target), f"cannot write the report: {exc.strerror or exc}") from None
    written.append(str(target))


@contextmanager
def together() -> Iterator[None]:
    """The reports written inside (scan's -o and --fix-script) are renamed over their targets together when the
    block ends, or none is: a report that cannot be written, an error or a Ctrl-C before the end leaves none of
    this run's beside an earlier run's others. The renames are one step that a signal waits for; one that fails
    (hardly possible: the temporary file lies beside its target) takes back those made before it."""
    batch: list[tuple[Path, Path]] = []
    _batches.append(batch)
    try:
        yield
        _batches.pop()
        renamed: list[Path] = []
        with deferred():
            for partial, target in batch:
                try:
                    os.replace(partial, target)
                except OSError as exc:
                    for done in renamed:
                        done.unlink(missing_ok=True)
                        written.remove(str(done))
                    raise ImgscanError(str(target), f"cannot write the report: {exc.strerror or exc}") from None
                renamed.append(target)
                written.append(str(target))
    finally:
        if _batches and _batches[-1] is batch:
            _batches.pop()
        for partial, _ in batch:
            partial.unlink(missing_ok=True)


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
    made: list[tuple[Path, Path]] = []
    try:
        _partial(target, data, made)
        os.replace(made[0][0], target)
        made.clear()
    finally:
        for partial, _ in made:
            partial.unlink(missing_ok=True)


def _partial(target: Path, data: bytes, made: list[tuple[Path, Path]]) -> None:
    """`data` in a temporary file beside `target`, with the target's permissions (a new file's: what the umask
    allows), to be renamed over it. (temporary file, target) joins `made` as soon as the file exists, and the
    caller removes what is in `made` if it is not renamed: no interruption falls between the two."""
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    with deferred():  # no interruption between creating the temporary file and arming its removal
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".imgscan")
        made.append((Path(name), target))
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(name, mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
