"""Disk images (VHD, VHDX, VMDK, QCOW2, VDI, E01, raw MBR/GPT disks, bare NTFS volumes) through dissect.target.

dissect.target maps the container, the partition table and the filesystems;
imgscan then picks the partition that holds `Windows\\System32\\config`, so a
disk with a System Reserved or EFI partition in front of C: still works.

Differencing VHD/VHDX children are the one case dissect.hypervisor does not
follow (it reads the child's unallocated blocks as zeros); those go through
libvhdi, which resolves the parent chain, and dissect reads the result as a raw
disk.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, BinaryIO, cast

import pyvhdi
from dissect.evidence.exception import EWFError
from dissect.target import container as dissect_container
from dissect.target.containers.raw import RawContainer
from dissect.target.target import Target

from imgscan.errors import UnreadableImage
from imgscan.image.headers import implausible
from imgscan.image.partitions import Partition, disk_partitions
from imgscan.image.parts import incomplete, other_files
from imgscan.image.sniff import QCOW2_MAGIC
from imgscan.image.volume import WindowsVolume, windows_filesystem

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

VHD_DIFFERENCING = 4
VDI_UNDO, VDI_DIFFERENCING = 3, 4  # VDI_IMAGE_TYPE (VirtualBox's VDICore.h)
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


def _parent_path(child: Path, recorded: str) -> Path:
    """The parent of a differencing disk: the file its locator (or a QCOW2's backing file name) names,
    looked up next to the child.

    Windows and libvirt store absolute paths of the machine that made the disk; on an analyst's machine
    only "next to the child" is meaningful.
    """
    name = PureWindowsPath(recorded).name  # "\\" and "/" both separate
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
            parent = _parent_path(file_path, handle.get_parent_filename() or "")
            parents.append(parent)
            handle.set_parent(open_one(parent, depth + 1))
        return handle

    return _VhdiStream(open_one(path, 0), keep_alive), parents


def _open_qcow2_chain(path: Path) -> tuple[BinaryIO, list[Path]]:
    """Open a QCOW2 with its chain of backing files (each looked up next to the disk that names it, as a
    differencing VHD's parent); returns the stream and the backing files used. A backing file that is not
    a QCOW2 is the raw disk itself."""
    from dissect.hypervisor.disk.qcow2 import QCow2

    parents: list[Path] = []

    def open_one(file_path: Path, depth: int) -> BinaryIO:
        if depth > MAX_PARENT_DEPTH:
            raise UnreadableImage(str(path), f"backing chain deeper than {MAX_PARENT_DEPTH} (a cycle?)")
        fh = file_path.open("rb")
        if fh.read(4) != QCOW2_MAGIC:
            fh.seek(0)
            return fh
        if depth and (why := implausible(file_path, "qcow2")):  # the disk itself was checked by open_disk
            raise UnreadableImage(str(file_path), f"truncated or forged: {why}", "re-copy the image")
        header = QCow2(fh, allow_no_data_file=True, allow_no_backing_file=True)
        if header.has_subclusters:  # dissect.hypervisor 3.21 loops forever on extended L2 entries, memory growing
            raise UnreadableImage(
                str(file_path),
                "a QCOW2 with extended L2 entries (subclusters), which imgscan cannot read yet",
                f"convert it without them: qemu-img convert -O qcow2 {file_path.name} plain.qcow2",
            )
        data = None
        if header.needs_data_file:  # qemu's data_file: the guest's clusters live in a raw file the header names
            data_path = file_path.parent / PureWindowsPath(header.image_data_file or "").name  # as a backing file
            if not header.image_data_file or not data_path.is_file():
                raise UnreadableImage(
                    str(file_path),
                    f"its data lives in the external file {header.image_data_file!r}, not found next to it",
                    "copy that file beside the image, or convert it: qemu-img convert -O qcow2 IMAGE whole.qcow2",
                )
            parents.append(data_path)
            data = data_path.open("rb")
        backing = None
        if recorded := header.auto_backing_file:
            parent = _parent_path(file_path, recorded)
            parents.append(parent)
            backing = open_one(parent, depth + 1)
        fh.seek(0)
        return cast(BinaryIO, QCow2(fh, data_file=data, backing_file=backing).open())

    return open_one(path, 0), parents


def _refuse_differencing_vdi(path: Path) -> None:
    """A differencing VDI (a VirtualBox snapshot) holds only the blocks written since its parent, which it
    names by UUID, not by file: read alone, every other block would read as zeros."""
    from dissect.hypervisor.disk.vdi import VDI

    with path.open("rb") as fh:
        kind = int(VDI(fh).type)
    if kind in (VDI_UNDO, VDI_DIFFERENCING):
        raise UnreadableImage(
            str(path),
            "a differencing VirtualBox disk (a snapshot): it holds only the blocks written since its parent",
            f"clone it to a whole disk (VBoxManage clonemedium disk {path.name} whole.vdi) and scan that",
        )


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
        "give the disk or volume that holds the Windows installation; if this is it, its file system is damaged: "
        "re-copy or re-capture it",
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
    parents: list[Path] = other_files(path, fmt)  # a VMDK's extents, an E01's later segments: evidence too
    if why := implausible(path, fmt):  # before dissect sizes its tables from the header
        raise UnreadableImage(str(path), f"truncated or forged: {why}", "re-copy the image")
    if why := incomplete(path, fmt):
        raise UnreadableImage(str(path), f"truncated or incomplete: {why}", "copy every file of the image again")
    if fmt == "vdi":
        _refuse_differencing_vdi(path)
    try:
        if fmt in ("vhd-differencing",) or (fmt == "vhdx" and _is_differencing_vhdx(path)):
            stream, parents = _open_vhdi_chain(path)
            disk = RawContainer(stream)
        elif fmt == "qcow2":
            qcow2, parents = _open_qcow2_chain(path)
            disk = RawContainer(qcow2)
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
    if isinstance(exc, EWFError):  # dissect.evidence names only the files it could not read
        return "no readable EWF header and volume section (a segment cut short or damaged)"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
