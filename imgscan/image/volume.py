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

from dissect.target.filesystem import Filesystem

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


def _to_posix(path: str) -> str:
    return "/" + path.replace("\\", "/").strip("/")


class FilesystemVolume:
    """A `WindowsVolume` over a dissect filesystem (NTFS in a disk image, or a directory)."""

    def __init__(self, fs: Filesystem) -> None:
        self._fs = fs

    def open(self, path: str) -> BinaryIO:
        return self._fs.get(_to_posix(path)).open()

    def is_file(self, path: str) -> bool:
        try:
            return self._fs.get(_to_posix(path)).is_file()
        except (FileNotFoundError, NotADirectoryError):
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return self._fs.get(_to_posix(path)).is_dir()
        except (FileNotFoundError, NotADirectoryError):
            return False

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(self._fs.get(_to_posix(path)).listdir())
        except (FileNotFoundError, NotADirectoryError):
            return []


def holds_windows(volume: WindowsVolume) -> bool:
    """True when `volume` is a Windows system volume (it has the registry's config directory)."""
    return volume.is_dir(CONFIG_DIR)


def child_path(parent: str, name: str) -> str:
    """Join volume paths with a backslash."""
    return f"{parent}\\{name}" if parent else name

