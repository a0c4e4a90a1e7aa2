"""The Windows volume as checks see it, whatever container it came from.

Paths are relative to the volume root, written with backslashes as Windows
does (`Windows\\System32\\config\\SOFTWARE`), and matched case-insensitively.
Every backend (disk images through dissect.target, extracted directories, and
later WIM files) hands the scan one `WindowsVolume`, so no check knows or cares
which container it reads from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol

from dissect.target.filesystem import DirEntry, Filesystem, FilesystemEntry

CONFIG_DIR = r"Windows\System32\config"


@dataclass(frozen=True)
class ImageInfo:
    """What the report says about the input: its path, content hash and container format."""

    path: str
    sha256: str
    format: str


class WindowsVolume(Protocol):
    """Read-only access to the files of one Windows volume."""

    def open(self, path: str) -> BinaryIO:
        """Open a file for reading; raises FileNotFoundError when it is absent."""

    def is_file(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def listdir(self, path: str) -> list[str]:
        """Names (as stored) of the entries of a directory; empty when it is absent."""


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

    def _listing(self, directory: str) -> dict[str, DirEntry]:
        """Entries of a directory (key: lower-case path without a leading separator) by lower-case name."""
        listing = self._listings.get(directory)
        if listing is None:
            try:
                entry = self._entry(directory) if directory else self._fs.get("/")
                listing = {e.name.lower(): e for e in entry.scandir()}
            except (FileNotFoundError, NotADirectoryError):
                listing = {}
            self._listings[directory] = listing
        return listing

    def _entry(self, path: str) -> FilesystemEntry:
        parts = [p.lower() for p in path.replace("/", "\\").split("\\") if p]
        if not parts:
            return self._fs.get("/")
        found = self._listing("\\".join(parts[:-1])).get(parts[-1])
        if found is None:
            raise FileNotFoundError(path)
        return found.get()

    def open(self, path: str) -> BinaryIO:
        return self._entry(path).open()

    def is_file(self, path: str) -> bool:
        try:
            return self._entry(path).is_file()
        except (FileNotFoundError, NotADirectoryError):
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return self._entry(path).is_dir()
        except (FileNotFoundError, NotADirectoryError):
            return False

    def listdir(self, path: str) -> list[str]:
        directory = "\\".join(p.lower() for p in path.replace("/", "\\").split("\\") if p)
        return sorted(e.name for e in self._listing(directory).values())


def holds_windows(volume: WindowsVolume) -> bool:
    """True when `volume` is a Windows system volume (it has the registry's config directory)."""
    return volume.is_dir(CONFIG_DIR)


def child_path(parent: str, name: str) -> str:
    """Join volume paths with a backslash."""
    return f"{parent}\\{name}" if parent else name

