"""The disks a VM configuration names, and where dissect.target's loader for it looks for each.

dissect's loaders log a disk they cannot find and go on (the libvirt loader skips it without a word), so
imgscan would end with "no Windows volume" about a VM whose disk was simply not copied. Each configuration
is read here first, with the same lookup rules as its dissect loader, so that a missing disk is named.
A Proxmox configuration's disks are also opened from here: dissect's Proxmox loader stops on the
`[snapshot]` sections and comment lines real configurations hold (it splits every line on a colon).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from imgscan.errors import UnreadableImage

# the configurations whose disks are files beside them (an OVA, an XVA, a VBK and a VMA hold their disks)
DESCRIPTORS = ("ovf", "vmx", "vbox", "vmcx", "hyperv-xml", "libvirt", "proxmox")
# Hyper-V's emulated IDE and synthetic SCSI controllers name their drives with `type` "VHD" and `pathname`
_HYPERV_DRIVE = "VHD"
# a Proxmox drive line, `scsi0: local-lvm:vm-100-disk-0,size=32G` (https://pve.proxmox.com/wiki/Storage)
_PROXMOX_DRIVE = re.compile(r"^(?:scsi|sata|ide|virtio)\d+$")
_PROXMOX_VOLUME = re.compile(r"^(?:file=)?([^:,]+):([^,]+)")


@dataclass(frozen=True)
class NamedDisk:
    """A disk as the configuration writes it, and the paths its dissect loader tries, first one first."""

    name: str
    candidates: tuple[Path, ...]

    def found(self) -> Path | None:
        """The first candidate that is there: a file, or a block device (a Proxmox host's /dev/pve/<volume>)."""
        return next((p for p in self.candidates if p.is_file() or p.is_block_device()), None)


def named_disks(path: Path, fmt: str, loader: Any, name: str) -> list[tuple[str, Path]]:
    """The disks the configuration `path` (read by dissect's `loader`) names, as it writes each and where
    its loader finds it; UnreadableImage naming the first disk that is absent, or when it names none."""
    try:
        disks = _READERS[fmt](loader, Path(loader.base_path))
    except UnreadableImage:
        raise
    except Exception as exc:
        from imgscan.image.disk import describe_failure

        raise UnreadableImage(str(path), f"cannot read the disks the {name} names: {describe_failure(exc)}") from exc
    if not disks:
        raise UnreadableImage(str(path), f"the {name} names no disk file", "give the VM's disk image instead")
    found: list[tuple[str, Path]] = []
    for disk in disks:
        where = disk.found()
        if where is None:
            first = disk.candidates[0]  # where its loader looks first
            raise UnreadableImage(
                str(path),
                f"the {name} names the disk {disk.name!r}, which is not next to it in {path.parent}",
                f"copy {first.name} into {first.parent}",
            )
        found.append((disk.name, where))
    return found


def _basename(name: str) -> str:
    """The file name of a path written on Windows or on Linux."""
    return PureWindowsPath(name).name if "\\" in name else PurePosixPath(name).name


def _ovf(loader: Any, base: Path) -> list[NamedDisk]:
    # dissect's OVF loader looks for the file name beside the descriptor
    return [NamedDisk(n, (base / _basename(n),)) for n in loader.ovf.disks()]


def _vmx(loader: Any, base: Path) -> list[NamedDisk]:
    return [NamedDisk(n, (base.joinpath(n.replace("\\", "/")),)) for n in loader.vmx.disks()]


def _vbox(loader: Any, base: Path) -> list[NamedDisk]:
    disks = []
    for disk in loader.vbox.hardware.disks:
        if disk.parent is not None:  # dissect opens the snapshot's differencing image alone, without its base
            raise UnreadableImage(
                str(loader.path),
                f"the VM runs on a snapshot: its disk {disk.location!r} is a differencing image of "
                f"{disk.parent.location!r}, which dissect reads without its parent",
                "clone the VM's current state to a full disk (VBoxManage clonemedium) and scan that",
            )
        disks.append(NamedDisk(disk.location, (base.joinpath(disk.location),)))
    return disks


def _hyperv(loader: Any, base: Path) -> list[NamedDisk]:
    """A .vmcx's or a Hyper-V XML's drives, from the dictionary dissect's HyperVLoader reads either into."""
    from dissect.target.loaders.hyperv import xml_as_dict

    configuration = (loader.vmcx.as_dict() if loader.vmcx else xml_as_dict(loader.xml))["configuration"]
    disks = []
    for drive in _dicts(configuration):
        if drive.get("type") != _HYPERV_DRIVE or not drive.get("pathname"):
            continue
        pathname = str(drive["pathname"])
        file = PureWindowsPath(pathname).name
        # HyperVLoader.map's order: beside the .vmcx, its "Virtual Hard Disks" folder, the one beside its
        # folder (Hyper-V's layout: <VM>\Virtual Machines\<id>.vmcx, <VM>\Virtual Hard Disks\), the path itself
        where = (base / file, base / "Virtual Hard Disks" / file, base.parent / "Virtual Hard Disks" / file)
        disks.append(NamedDisk(pathname, (*where, Path("/").joinpath(pathname))))
    return disks


def _dicts(node: Any) -> list[dict[str, Any]]:
    """Every dictionary in a nested configuration, depth first."""
    if not isinstance(node, dict):
        return []
    return [node] + [d for value in node.values() for d in _dicts(value)]


def _libvirt(loader: Any, base: Path) -> list[NamedDisk]:
    from defusedxml import ElementTree

    domain = ElementTree.fromstring(Path(loader.path).read_bytes())
    disks = []
    for disk in domain.findall("devices/disk"):
        source = disk.find("source")
        file = source.get("file") if source is not None else None
        if disk.get("device", "disk") == "disk" and file:  # a CD-ROM's ISO is no disk of the VM
            disks.append(NamedDisk(file, (base / _basename(file), base.joinpath(file))))
    return disks


def proxmox_disks(loader: Any, base: Path) -> list[NamedDisk]:
    """The drives of a Proxmox configuration's current state (the lines before any `[snapshot]` section),
    looked for as dissect's Proxmox loader does (the volume beside the file, then in /dev/pve, LVM's
    default), and also by the volume's file name beside the configuration."""
    disks = []
    for line in Path(loader.path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("["):
            break
        key, _, value = line.partition(":")
        match = _PROXMOX_VOLUME.match(value.strip())
        if _PROXMOX_DRIVE.match(key.strip()) and match and "media=cdrom" not in value:
            volume = match.group(2)
            where = (base.joinpath(volume), base / PurePosixPath(volume).name, Path("/dev/pve").joinpath(volume))
            disks.append(NamedDisk(f"{match.group(1)}:{volume}", where))
    return disks


_READERS = {
    "ovf": _ovf,
    "vmx": _vmx,
    "vbox": _vbox,
    "vmcx": _hyperv,
    "hyperv-xml": _hyperv,
    "libvirt": _libvirt,
    "proxmox": proxmox_disks,
}
