"""Disk images (VHD, VHDX, VMDK, E01, raw MBR/GPT disks, bare NTFS volumes) through dissect.target.

dissect.target maps the container, the partition table and the filesystems;
imgscan then picks the partition that holds `Windows\\System32\\config`, so a
disk with a System Reserved or EFI partition in front of C: still works.

Differencing VHD/VHDX children are the one case dissect.hypervisor does not
follow (it reads the child's unallocated blocks as zeros); those go through
libvhdi, which resolves the parent chain, and dissect reads the result as a raw
disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

import io
import logging
from pathlib import Path, PureWindowsPath

import pyvhdi
from dissect.target import container as dissect_container
from dissect.target.containers.raw import RawContainer
from dissect.target.target import Target

from imgscan.errors import UnreadableImage
from imgscan.image.headers import implausible
from imgscan.image.partitions import Partition, disk_partitions
from imgscan.image.volume import WindowsVolume, windows_filesystem

log = logging.getLogger(__name__)

VHD_DIFFERENCING = 4
MAX_PARENT_DEPTH = 16


class _VhdiStream(io.RawIOBase):
    """A read-only file object over a libvhdi handle (with its parents attached)."""

    def __init__(self, handle: pyvhdi.file, keep_alive: list[object]) -> None:
        self._handle = handle
        self._keep_alive = keep_alive  # parent handles and files must outlive the child
        self.size = handle.get_media_size()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base: int = {io.SEEK_SET: 0, io.SEEK_CUR: self._handle.get_offset(), io.SEEK_END: self.size}[whence]
        self._handle.seek_offset(base + offset, io.SEEK_SET)
        return base + offset

    def tell(self) -> int:
        return int(self._handle.get_offset())

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._handle.read_buffer(len(view))
        view[: len(data)] = data
        return len(data)


def _parent_path(child: Path, handle: pyvhdi.file) -> Path:
    """The parent of a differencing disk: the file its locator names, looked up next to the child.

    Windows stores absolute and relative locators of the machine that made the
    disk; on an analyst's machine only "next to the child" is meaningful.
    """
    recorded = handle.get_parent_filename() or ""
    name = PureWindowsPath(recorded).name
    if not name:
        raise UnreadableImage(str(child), "differencing disk names no parent file", "the disk is damaged")
    candidate = child.parent / name
    if not candidate.is_file():
        matches = [p for p in child.parent.iterdir() if p.name.lower() == name.lower()]
        if not matches:
            raise UnreadableImage(
                str(child),
                f"differencing disk needs its parent {name!r}, which is not next to it",
                f"copy {recorded or name} into {child.parent}",
            )
        candidate = matches[0]
    return candidate


def _open_vhdi_chain(path: Path) -> tuple[_VhdiStream, list[Path]]:
    """Open a differencing VHD/VHDX with its chain of parents; returns the stream and the parents used."""
    keep_alive: list[object] = []
    parents: list[Path] = []

    def open_one(file_path: Path, depth: int) -> pyvhdi.file:
        if depth > MAX_PARENT_DEPTH:
            raise UnreadableImage(str(path), f"parent chain deeper than {MAX_PARENT_DEPTH} (a cycle?)")
        fh = file_path.open("rb")
        handle = pyvhdi.file()
        try:
            handle.open_file_object(fh, "r")
        except OSError as exc:
            raise UnreadableImage(str(file_path), f"not a readable VHD/VHDX ({exc})") from exc
        keep_alive.extend([fh, handle])
        if handle.get_disk_type() == VHD_DIFFERENCING:
            parent = _parent_path(file_path, handle)
            parents.append(parent)
            handle.set_parent(open_one(parent, depth + 1))
        return handle

    return _VhdiStream(open_one(path, 0), keep_alive), parents


class NoWindowsVolume(UnreadableImage):
    """The disk reads, but none of its filesystems holds Windows (a KAPE VHDX holds collected files)."""


def _windows_filesystem(target: Target, path: Path) -> WindowsVolume:
    if why := _cut_short(target):
        raise UnreadableImage(str(path), f"truncated: {why}", "re-copy or re-capture the image")
    windows, candidates = windows_filesystem(target)
    if windows is not None:
        return windows
    if not candidates:
        raise UnreadableImage(str(path), "no filesystem found (not a disk image, or an encrypted/unsupported volume)")
    raise NoWindowsVolume(
        str(path),
        f"no Windows volume: none of its {candidates} filesystem(s) holds Windows\\System32\\config",
        "give the disk or volume that holds the Windows installation",
    )


def _cut_short(target: Target) -> str | None:
    """Why the disk holds less than its partitions or its NTFS volumes say they span, in words. A raw copy
    cut short still opens: its first files read and the rest come back short, so the scan would judge a
    volume with holes (hives, manifests and catalogs missing as if never there) instead of saying so."""
    for disk in target.disks:
        for part in getattr(getattr(disk, "vs", None), "volumes", None) or []:
            if part.offset + part.size > disk.size:
                return f"partition {part.number} ends at byte {part.offset + part.size}, the disk has only {disk.size}"
    for fs in target.filesystems:
        ntfs, volume = getattr(fs, "ntfs", None), getattr(fs, "volume", None)
        if ntfs is None or volume is None:
            continue
        claimed = ntfs.boot_sector.NumberSectors * ntfs.sector_size  # the backup boot sector follows, in the partition
        holds = getattr(volume, "size", None)
        if holds is None and hasattr(volume, "seek"):
            holds = volume.seek(0, io.SEEK_END)
        if holds is not None and claimed > holds:
            return f"its NTFS volume spans {claimed} bytes, the image holds {holds}"
    return None


def open_disk(path: Path, fmt: str) -> tuple[WindowsVolume, list[Path], list[Partition]]:
    """Open a disk image read-only: its Windows volume, any parent images it needed, and its partitions.
    `fmt` is what the header says (imgscan.image.sniff), which open_image has checked."""
    parents: list[Path] = []
    if why := implausible(path, fmt):  # before dissect sizes its tables from the header
        raise UnreadableImage(str(path), f"truncated or forged: {why}", "re-copy the image")
    try:
        if fmt in ("vhd-differencing",) or (fmt == "vhdx" and _is_differencing_vhdx(path)):
            stream, parents = _open_vhdi_chain(path)
            disk = RawContainer(stream)
        else:
            disk = dissect_container.open(path)
        target = Target(path)
        target.disks.add(disk)
        target.disks.apply()
        target.volumes.apply()
        target.filesystems.apply()
    except UnreadableImage:
        raise
    except Exception as exc:  # dissect raises many types for damaged containers
        log.debug("dissect failed on %s", path, exc_info=True)
        raise UnreadableImage(str(path), f"cannot read {fmt} image: {describe_failure(exc)}", "is the file complete?") from exc
    windows = _windows_filesystem(target, path)
    return windows, parents, disk_partitions(target, getattr(windows, "_fs", None))


def _is_differencing_vhdx(path: Path) -> bool:
    handle = pyvhdi.file()
    try:
        with path.open("rb") as fh:
            handle.open_file_object(fh, "r")
            try:
                return bool(handle.get_disk_type() == VHD_DIFFERENCING)
            finally:
                handle.close()
    except OSError:
        return False  # let dissect report what is wrong with it


def describe_failure(exc: BaseException) -> str:
    """The innermost cause of a dissect exception, which is the one that names the real problem."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, EOFError):
        return "the file ends early (truncated)"
    if type(exc).__name__ == "EWFError":  # dissect.evidence names only the files it could not read
        return "no readable EWF header and volume section (a segment cut short or damaged)"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
