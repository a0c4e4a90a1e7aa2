"""The Windows volume as checks see it, whatever container it came from.

Paths are relative to the volume root, written with backslashes as Windows
does (`Windows\\System32\\config\\SOFTWARE`), and matched case-insensitively.
Every backend (disk images through dissect.target, extracted directories, and
the files a WIM's extraction leaves in a private directory) hands the scan one
`WindowsVolume`, so no check knows or cares which container it reads from.
"""

from __future__ import annotations

import fnmatch
import functools
import io
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from dissect.target.filesystem import DirEntry, Filesystem, FilesystemEntry

CONFIG_DIR = r"Windows\System32\config"
CONFIG_HIVES = ("SOFTWARE", "SYSTEM", "COMPONENTS", "DEFAULT")  # the hives of CONFIG_DIR the scan reads


class ArtefactUnreadable(OSError):
    """An entry exists at a path the scan reads but cannot be read as a file: a directory, a symbolic
    link that loops or leads nowhere inside the image, a FIFO or device, or a file the scanning user
    may not read. `str()` is one line naming the path and what is wrong; readers turn it into an
    `errors` entry or their artefact's `*-unreadable` finding and go on."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class WindowsVolume(Protocol):
    """Read-only access to the files of one Windows volume."""

    def open(self, path: str) -> BinaryIO:
        """Open a file for reading; raises FileNotFoundError when it is absent and
        ArtefactUnreadable when the entry is there but is not a readable file."""

    def exists(self, path: str) -> bool:
        """Whether an entry of that name exists, whatever it is (file, directory, broken link)."""

    def is_dir(self, path: str) -> bool: ...

    def listdir(self, path: str) -> list[str]:
        """Names (as stored) of the entries of a directory; empty when it is absent."""


@functools.cache
def _filesystem_error() -> type[Exception]:
    """dissect's base error, imported when a dissect volume is in use (not when rules are listed)."""
    from dissect.target.exceptions import FilesystemError

    error: type[Exception] = FilesystemError
    return error


class FilesystemVolume:
    """A `WindowsVolume` over a dissect filesystem (NTFS in a disk image, or a directory).

    Paths are resolved here, case-insensitively, against cached directory listings
    that keep dissect's directory entries: a file then opens straight from its
    entry (for NTFS, its MFT reference). Asking dissect for each path instead
    searches every index from the root again (about 400 files/s on a catalog
    folder), and its case-insensitive directory mode lists the parent on each
    lookup, which is quadratic over a winsxs\\Catalogs of 20,000 files.
    """

    def __init__(self, fs: Filesystem) -> None:
        self._fs = fs
        self._listings: dict[str, dict[str, DirEntry]] = {}
        self.problems: list[dict[str, str]] = []  # directories that could not be listed, for `errors`

    def _listing(self, directory: str) -> dict[str, DirEntry]:
        """Entries of a directory (key: lower-case path without a leading separator) by lower-case name."""
        listing = self._listings.get(directory)
        if listing is None:
            try:
                entry = self._entry(directory) if directory else self._fs.get("/")
                listing = {e.name.lower(): e for e in _scandir(entry)}
            except (FileNotFoundError, NotADirectoryError):
                listing = {}
            except (_filesystem_error(), OSError) as exc:  # a looping link, a directory it may not read
                self.problems.append({"path": directory, "message": f"directory cannot be listed: {_reason(exc)}"})
                listing = {}
            self._listings[directory] = listing
        return listing

    def _dir_entry(self, path: str) -> DirEntry | None:
        """The listed entry of a path (None: the root), or FileNotFoundError."""
        parts = [p.lower() for p in path.replace("/", "\\").split("\\") if p]
        if not parts:
            return None
        found = self._listing("\\".join(parts[:-1])).get(parts[-1])
        if found is None:
            raise FileNotFoundError(path)
        return found

    def _entry(self, path: str) -> FilesystemEntry:
        found = self._dir_entry(path)
        return self._fs.get("/") if found is None else found.get()

    def open(self, path: str) -> BinaryIO:
        from imgscan.image.ntfs_files import RECORD_ERRORS, open_plain

        listed = self._dir_entry(path)
        try:
            plain = open_plain(listed) if listed is not None else None
        except (_filesystem_error(), *RECORD_ERRORS):
            plain = None  # a damaged record: dissect's general path below says what is wrong
        if plain is not None:
            return plain
        damaged: tuple[type[Exception], ...] = (_filesystem_error(), OSError, *_damaged())
        try:
            entry = self._fs.get("/") if listed is None else listed.get()
        except damaged as exc:  # listed, but its file record is damaged
            raise ArtefactUnreadable(path, _reason(exc)) from exc
        return open_entry(entry, path)

    def exists(self, path: str) -> bool:
        try:
            self._entry(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except _filesystem_error():  # listed, but its file record is damaged: open() says what is wrong
            return True
        return True

    def is_dir(self, path: str) -> bool:
        try:
            return bool(self._entry(path).is_dir())
        except (_filesystem_error(), OSError):
            return False

    def listdir(self, path: str) -> list[str]:
        directory = "\\".join(p.lower() for p in path.replace("/", "\\").split("\\") if p)
        # plain str: dissect's NTFS names are cstruct string types, which cannot be pickled into a
        # fleet worker's result
        return sorted(str(e.name) for e in self._listing(directory).values())


def _scandir(entry: FilesystemEntry) -> list[Any]:
    """A directory's entries: NTFS indexes read by imgscan.image.ntfs_files (the same entries, several
    times faster), anything else, or an index that reader cannot follow, by dissect."""
    from imgscan.image.ntfs_files import LISTING_ERRORS, UnreadableIndex, implausible, list_directory

    if why := implausible(getattr(entry, "entry", None)):
        raise UnreadableIndex(f"damaged directory record ({why})")
    if entry.is_dir() and not entry.is_symlink():  # links and junctions: dissect resolves them
        try:
            fast = list_directory(entry)
        except UnreadableIndex:
            raise  # dissect's listing would not end either: the volume reports the directory unreadable
        except (_filesystem_error(), *LISTING_ERRORS):
            fast = None  # dissect's own listing says what is wrong, if anything
        if fast is not None:
            return fast
    return list(entry.scandir())


def open_entry(entry: FilesystemEntry, path: str) -> BinaryIO:
    """dissect's own read of the file at `path`; raises ArtefactUnreadable for an entry that is no
    readable file, also when its record is damaged (dissect.ntfs then raises its own errors or plain
    ValueError, IndexError, struct.error... while opening or reading; fuzz/fuzz_ntfs_record.py checks
    that nothing else escapes)."""
    from imgscan.image.ntfs_files import implausible

    try:
        if why := implausible(getattr(entry, "entry", None)):
            raise ArtefactUnreadable(path, f"damaged file record ({why})")
        if not entry.is_file():
            raise ArtefactUnreadable(path, _not_a_file(entry))
        return cast(BinaryIO, _Checked(entry.open(), path))
    except ArtefactUnreadable:
        raise
    except (_filesystem_error(), OSError) as exc:
        raise ArtefactUnreadable(path, _not_a_file(entry) if _is_symlink(entry) else _reason(exc)) from exc
    except _damaged() as exc:
        raise ArtefactUnreadable(path, f"damaged file record ({_reason(exc)})") from exc


def _is_symlink(entry: FilesystemEntry) -> bool:
    errors: tuple[type[Exception], ...] = (_filesystem_error(), OSError, *_damaged())
    try:
        return bool(entry.is_symlink())
    except errors:
        return False


@functools.cache
def _damaged() -> tuple[type[Exception], ...]:
    """What dissect raises on a damaged NTFS record besides FilesystemError/OSError: dissect.ntfs' own
    errors and plain ValueError, EOFError, IndexError, struct.error."""
    from dissect.ntfs.exceptions import Error

    return (Error, ValueError, EOFError, IndexError, struct.error)


class _Checked(io.RawIOBase):
    """A stream of dissect's that raises ArtefactUnreadable, not one of `_damaged()`, when a damaged
    record fails it mid-read."""

    def __init__(self, stream: BinaryIO, path: str) -> None:
        self._stream = stream
        self._path = path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._stream.read(-1 if size is None else size)
        except _damaged() as exc:
            raise ArtefactUnreadable(self._path, f"damaged file record ({_reason(exc)})") from exc

    def readall(self) -> bytes:
        return self.read()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


def _not_a_file(entry: FilesystemEntry) -> str:
    """What an entry that cannot be opened as a file is, in words."""
    try:
        if entry.is_symlink():
            target = entry.readlink()
            from dissect.target.exceptions import SymlinkRecursionError

            try:
                entry.is_file()  # resolving the link is what fails
                entry.stat()
            except SymlinkRecursionError:
                return f"symbolic link to {target!r} that loops back on itself"
            except (_filesystem_error(), OSError):
                return f"symbolic link to {target!r}, which leads to nothing inside the image"
            if entry.is_dir():
                return f"symbolic link to {target!r}, a directory, not a file"
            return f"symbolic link to {target!r}, which is not a regular file"
        if entry.is_dir():
            return "a directory where a file is expected"
    except (_filesystem_error(), OSError) as exc:
        return _reason(exc)
    return "not a regular file (a FIFO, socket or device)"


def _reason(exc: BaseException) -> str:
    while isinstance(exc, _filesystem_error()) and isinstance(exc.__cause__, OSError):
        exc = exc.__cause__  # dissect wraps the OS error as FilesystemError(None)
    if isinstance(exc, PermissionError):
        return "permission denied (run imgscan as a user who may read the evidence)"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0]


def directory_volume(root: Path) -> FilesystemVolume:
    """A volume over an extracted directory tree (or a WIM's extraction directory)."""
    from dissect.target.filesystems.dir import DirectoryFilesystem

    return FilesystemVolume(DirectoryFilesystem(root))


def holds_windows(volume: WindowsVolume) -> bool:
    """True when `volume` is a Windows system volume (it has the registry's config directory)."""
    return volume.is_dir(CONFIG_DIR)


def windows_filesystem(target: Any) -> tuple[FilesystemVolume | None, int]:
    """The filesystem of a dissect `Target` that holds Windows, as a `WindowsVolume` (None when none
    does), and how many filesystems the target has: the one seam from any dissect target (a disk image,
    a VM export, a collection, or the target `target-query` opened) to the artefact kinds."""
    candidates = [FilesystemVolume(fs) for fs in target.filesystems]
    return next((volume for volume in candidates if holds_windows(volume)), None), len(candidates)


def has_match(volume: WindowsVolume, pattern: str) -> bool:
    """Whether any entry matches a kind's declared path (`/Users/*/NTUSER.DAT`: `*` and `?` within one
    name, case-insensitive), so a collection can say which of the files a check needs it lacks."""
    parents = [""]
    parts = [p for p in pattern.replace("\\", "/").split("/") if p]
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        found = []
        for parent in parents:
            if not any(c in part for c in "*?["):
                path = child_path(parent, part)
                found += [path] if (volume.exists(path) if last else volume.is_dir(path)) else []
                continue
            names = [n for n in volume.listdir(parent) if fnmatch.fnmatchcase(n.lower(), part.lower())]
            found += [child_path(parent, n) for n in names if last or volume.is_dir(child_path(parent, n))]
        if not found:
            return False
        parents = found
    return True


def child_path(parent: str, name: str) -> str:
    """Join volume paths with a backslash."""
    return f"{parent}\\{name}" if parent else name
