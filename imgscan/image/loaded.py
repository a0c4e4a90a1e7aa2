"""VM exports and triage collections, opened by dissect.target's own loaders.

A VM export is a descriptor that names disks: an OVA (a tar with the OVF descriptor and its disks), an
OVF next to its disks, a VMware .vmx next to its VMDKs. A triage collection holds a volume's files, not
the volume: a tar or zip of them (plain, in acquire's layout, or a Velociraptor offline collection) or a
KAPE VHDX. dissect maps each into a `Target`; imgscan takes the filesystem that holds Windows from it,
as for a disk image. Nothing is extracted: tar and zip members are read in place, so no file is written
anywhere, next to the evidence or elsewhere.

The loader is chosen from the content `imgscan.image.sniff` found, never from the extension alone; the
archive is checked first for what dissect would accept silently and a user must hear about (a member
named outside the archive, an encrypted zip, a truncated tar).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dissect.target.target import Target

from imgscan.errors import UnreadableImage
from imgscan.image.archives import check_archive
from imgscan.image.disk import describe_failure
from imgscan.image.partitions import Partition, disk_partitions
from imgscan.image.volume import WindowsVolume, windows_filesystem

if TYPE_CHECKING:
    from dissect.target.loader import Loader

log = logging.getLogger(__name__)

VM_EXPORTS = ("ova", "ovf", "vmx")


@dataclass
class LoaderOpened:
    """What a loader gave: the Windows volume, the disk files a descriptor named (outside the input
    itself), the partitions of the VM's disk (none for a collection) and which dissect loader read it."""

    volume: WindowsVolume
    loader: str
    disks: list[Path] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)


def open_loaded(path: Path, fmt: str) -> LoaderOpened:
    """Open `path` (of the sniffed format `fmt`, or "kape" for a disk image holding a KAPE collection)
    through dissect's loader for it; UnreadableImage with a one-line reason when that is impossible."""
    check_archive(path, fmt)
    loader = _loader(path, fmt)
    named, disks = _named_disks(path, fmt, loader)
    target = Target(path)
    try:
        loader.map(target)
        if len(target.disks) < len(named):  # dissect's loaders log a disk they cannot open and go on
            raise ValueError("not a disk image dissect can open")
        target.disks.apply()
        target.volumes.apply()
    except UnreadableImage:
        raise
    except Exception as exc:  # dissect raises many types for damaged inputs
        log.debug("dissect's %s loader failed on %s", type(loader).__name__, path, exc_info=True)
        what = f"the disk {', '.join(map(repr, named))} the {_NAME[fmt]} names" if named else f"this {_NAME[fmt]}"
        raise UnreadableImage(str(path), f"cannot read {what}: {describe_failure(exc)}", "is the file complete?") from exc
    volume = _windows_volume(path, fmt, target)
    partitions = disk_partitions(target, getattr(volume, "_fs", None)) if fmt in VM_EXPORTS else []
    return LoaderOpened(volume, _loader_name(loader), disks, partitions)


_NAME = {
    "ova": "OVA",
    "ovf": "OVF descriptor",
    "vmx": "VMX file",
    "tar": "tar archive",
    "zip": "zip archive",
    "kape": "KAPE collection",
}


def _loader(path: Path, fmt: str) -> Loader:
    """dissect's loader for the format, constructed (which reads the descriptor or the archive index)."""
    try:
        if fmt == "ova":
            from dissect.target.loaders.ova import OvaLoader

            return OvaLoader(path)
        if fmt == "ovf":
            from dissect.target.loaders.ovf import OvfLoader

            return OvfLoader(path)
        if fmt == "vmx":
            from dissect.target.loaders.vmx import VmxLoader

            return VmxLoader(path)
        if fmt == "tar":
            from dissect.target.loaders.tar import TarLoader

            return TarLoader(path)
        if fmt == "zip":
            from dissect.target.loaders.velociraptor import VelociraptorLoader
            from dissect.target.loaders.zip import ZipLoader

            return VelociraptorLoader(path) if VelociraptorLoader.detect(path) else ZipLoader(path)
        from dissect.target.loaders.kape import KapeLoader

        return KapeLoader(path)
    except Exception as exc:
        log.debug("dissect cannot load %s as %s", path, fmt, exc_info=True)
        raise UnreadableImage(
            str(path), f"not a readable {_NAME[fmt]}: {describe_failure(exc)}", "is the file complete?"
        ) from exc


def _loader_name(loader: Loader) -> str:
    """The loader's name as dissect's documentation gives it (`acquire`, `velociraptor`, `kape`, ...)."""
    chosen = getattr(loader, "subloader", None) or loader
    name = type(chosen).__name__
    for suffix in ("TarSubLoader", "ZipSubLoader", "Loader"):
        name = name.removesuffix(suffix)
    return name.lower() or "generic"


def _named_disks(path: Path, fmt: str, loader: Any) -> tuple[list[str], list[Path]]:
    """The disks a VM descriptor names, and those of them that are files outside the input (its parents),
    each checked to be there: dissect's loaders log a missing disk and go on, which would leave imgscan
    saying "no Windows volume" about a VM whose disk is absent."""
    if fmt not in VM_EXPORTS:
        return [], []
    try:
        named = list(loader.vmx.disks() if fmt == "vmx" else loader.ovf.disks())
    except Exception as exc:
        raise UnreadableImage(str(path), f"cannot read the disks the {_NAME[fmt]} names: {describe_failure(exc)}") from exc
    if not named:
        raise UnreadableImage(str(path), f"the {_NAME[fmt]} names no disk", "give the VM's disk image instead")
    found: list[Path] = []
    for name in named:
        # dissect's loaders look for a disk by its file name next to the descriptor (inside the OVA)
        disk = loader.base_path.joinpath(name.replace("\\", "/") if fmt == "vmx" else name.replace("\\", "/").rpartition("/")[2])
        if not disk.is_file():
            where = "inside the OVA" if fmt == "ova" else f"next to it in {path.parent}"
            advice = "re-export the appliance" if fmt == "ova" else f"copy {name} into {path.parent}"
            raise UnreadableImage(str(path), f"the {_NAME[fmt]} names the disk {name!r}, which is not {where}", advice)
        if fmt != "ova":
            found.append(Path(disk))
    return named, found


def _windows_volume(path: Path, fmt: str, target: Target) -> WindowsVolume:
    """The filesystem of the target that holds Windows: a VM's NTFS partition, or a collection's volume."""
    try:
        target.filesystems.apply()
    except Exception:  # a collection's virtual filesystems need no probing; a VM disk's were probed above
        log.debug("dissect could not probe all filesystems of %s", path, exc_info=True)
    windows, candidates = windows_filesystem(target)
    if windows is not None:
        return windows
    if fmt in VM_EXPORTS:
        raise UnreadableImage(
            str(path),
            f"no Windows volume on the VM's disk(s): none of its {candidates} filesystem(s) holds Windows\\System32\\config",
            "is this the VM that runs Windows?",
        )
    raise UnreadableImage(
        str(path),
        f"no Windows files in this {_NAME[fmt]} (no Windows\\System32\\config in any collected volume)",
        "collect the registry hives (Windows\\System32\\config) with the rest of the Windows files",
    )
