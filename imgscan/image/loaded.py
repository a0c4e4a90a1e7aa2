"""VMs and triage collections, opened by dissect.target's own loaders.

A VM is a configuration that names its disks (an OVF, a VMware .vmx, a VirtualBox .vbox, a Hyper-V
.vmcx or .xml, a libvirt domain XML, a Proxmox .conf: imgscan.image.vm_disks) or an export or backup that
holds them (an OVA, a XenServer .xva, a Veeam .vbk, a Proxmox .vma). A triage collection holds a volume's
files, not the volume: a tar (or .tar.gz) or zip of them (plain, in acquire's layout, or a Velociraptor
offline collection) or a KAPE VHDX. dissect maps each into a `Target`; imgscan takes the filesystem that holds Windows from it,
as for a disk image. Nothing is extracted: tar and zip members are read in place, so no file is written
anywhere, next to the evidence or elsewhere.

The loader is chosen from the content `imgscan.image.sniff` found, never from the extension alone; the
archive is checked first for what dissect would accept silently and a user must hear about (a member
named outside the archive, an encrypted zip, a truncated tar).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dissect.target import container
from dissect.target.target import Target

from imgscan.errors import UnreadableImage
from imgscan.image.archives import check_archive
from imgscan.image.disk import describe_failure
from imgscan.image.partitions import Partition, disk_partitions
from imgscan.image.vm_disks import DESCRIPTORS, named_disks
from imgscan.image.volume import WindowsVolume, windows_filesystem
from imgscan.image.xva import map_xva

if TYPE_CHECKING:
    from dissect.target.loader import Loader

log = logging.getLogger(__name__)

# the VMs: a configuration or export that names (or holds) the VM's disks, whose partitions are read
VM_EXPORTS = ("ova", "ovf", "vmx", "vbox", "vmcx", "hyperv-xml", "libvirt", "proxmox", "xva", "vbk", "vma")


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
    pairs = named_disks(path, fmt, loader, _NAME[fmt]) if fmt in DESCRIPTORS else []
    named, disks = [n for n, _ in pairs], [d for _, d in pairs]
    if fmt == "ova":
        named = _ova_disks(path, loader)
    target = Target(path)
    try:
        if fmt == "proxmox":  # the disks found above, which dissect's Proxmox loader cannot always list
            for disk in disks:
                target.disks.add(container.open(disk))
        elif fmt == "xva":  # dissect's block reader loses each disk's last block (imgscan.image.xva)
            map_xva(loader, target)
        else:
            loader.map(target)
        # dissect's loaders log a disk they cannot open and go on; a VM export or backup must hold one
        if len(target.disks) < (max(len(named), 1) if fmt in VM_EXPORTS else 0):
            raise ValueError("not a disk image dissect can open" if named else "it holds no disk dissect can open")
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
    "vbox": "VirtualBox VM file",
    "vmcx": "Hyper-V VM configuration",
    "hyperv-xml": "Hyper-V VM configuration",
    "libvirt": "libvirt domain XML",
    "proxmox": "Proxmox VM configuration",
    "xva": "XVA export",
    "vbk": "Veeam backup",
    "vma": "Proxmox backup (VMA)",
    "tar": "tar archive",
    "zip": "zip archive",
    "kape": "KAPE collection",
}
# dissect.target's loader for each format: module in dissect.target.loaders, class
_LOADERS = {
    "ova": ("ova", "OvaLoader"),
    "ovf": ("ovf", "OvfLoader"),
    "vmx": ("vmx", "VmxLoader"),
    "vbox": ("vbox", "VBoxLoader"),
    "vmcx": ("hyperv", "HyperVLoader"),
    "hyperv-xml": ("hyperv", "HyperVLoader"),
    "libvirt": ("libvirt", "LibvirtLoader"),
    "proxmox": ("proxmox", "ProxmoxLoader"),
    "xva": ("xva", "XvaLoader"),
    "vbk": ("vbk", "VbkLoader"),
    "vma": ("vma", "VmaLoader"),
    "tar": ("tar", "TarLoader"),
    "kape": ("kape", "KapeLoader"),
}


def _loader(path: Path, fmt: str) -> Loader:
    """dissect's loader for the format, constructed (which reads the descriptor or the archive index)."""
    try:
        if fmt == "zip":
            from dissect.target.loaders.velociraptor import VelociraptorLoader
            from dissect.target.loaders.zip import ZipLoader

            return VelociraptorLoader(path) if VelociraptorLoader.detect(path) else ZipLoader(path)
        module, name = _LOADERS[fmt]
        loader: Loader = getattr(importlib.import_module(f"dissect.target.loaders.{module}"), name)(path)
        return loader
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


def _ova_disks(path: Path, loader: Any) -> list[str]:
    """The disks an OVA's descriptor names, each checked to be inside the OVA (dissect's loader logs a
    missing disk and goes on)."""
    try:
        named = list(loader.ovf.disks())
    except Exception as exc:
        raise UnreadableImage(str(path), f"cannot read the disks the OVA names: {describe_failure(exc)}") from exc
    if not named:
        raise UnreadableImage(str(path), "the OVA names no disk", "give the VM's disk image instead")
    for name in named:
        if not loader.base_path.joinpath(name.replace("\\", "/").rpartition("/")[2]).is_file():
            raise UnreadableImage(
                str(path), f"the OVA names the disk {name!r}, which is not inside the OVA", "re-export the appliance"
            )
    return named


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
