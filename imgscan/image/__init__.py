"""Open any supported input as a read-only Windows volume.

Backends, chosen by what the path is (never by its extension alone):
- a directory holding an extracted Windows volume;
- a disk image (VHD, VHDX, VMDK, E01, raw disk or bare NTFS volume) via dissect.target;
- a WIM file: the slot for the WIM backend (`_open_wim`), not implemented yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dissect.target.filesystems.dir import DirectoryFilesystem

from imgscan.errors import UnreadableImage
from imgscan.hashing import file_sha256, tree_sha256
from imgscan.image.disk import open_disk, sniff_format
from imgscan.image.volume import FilesystemVolume, ImageInfo, WindowsVolume, holds_windows


@dataclass
class OpenedImage:
    """An input opened for reading: its Windows volume, identity and the parent files it pulled in."""

    volume: WindowsVolume
    info: ImageInfo
    parents: list[ImageInfo]


def open_image(path: Path) -> OpenedImage:
    """Open `path` read-only; raise UnreadableImage with a one-line reason when that is impossible."""
    if not path.exists():
        raise UnreadableImage(str(path), "no such file or directory")
    if path.is_dir():
        return _open_directory(path)
    if not path.is_file():
        raise UnreadableImage(str(path), "not a regular file or directory")
    try:
        fmt = sniff_format(path)
    except OSError as exc:
        raise UnreadableImage(str(path), f"cannot read ({exc.strerror or exc})") from exc
    if fmt == "wim":
        return _open_wim(path)
    if fmt == "unknown":
        raise UnreadableImage(
            str(path),
            "not a disk image: no VHD/VHDX/VMDK/E01 header, partition table or NTFS boot sector",
            "give a VHD, VHDX, VMDK, E01, raw disk image or an extracted Windows directory",
        )
    volume, parents = open_disk(path, fmt)
    return OpenedImage(
        volume=volume,
        info=ImageInfo(str(path), file_sha256(path), fmt),
        parents=[ImageInfo(str(p), file_sha256(p), sniff_format(p)) for p in parents],
    )


def _open_directory(path: Path) -> OpenedImage:
    volume = FilesystemVolume(DirectoryFilesystem(path))
    if not holds_windows(volume):
        raise UnreadableImage(
            str(path),
            "directory holds no Windows volume (no Windows\\System32\\config below it)",
            "point at the root of the extracted volume, the folder that contains Windows",
        )
    return OpenedImage(volume=volume, info=ImageInfo(str(path), tree_sha256(path), "directory"), parents=[])


def _open_wim(path: Path) -> OpenedImage:
    """Slot for the WIM backend: it must return an OpenedImage whose volume reads from the WIM."""
    raise UnreadableImage(
        str(path), "WIM files are not supported yet", "apply the image to a directory or VHDX and scan that"
    )
