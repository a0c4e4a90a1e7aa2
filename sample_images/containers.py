"""The containers responders and image teams bring, built around a sample's disk or file tree.

Each wraps what `sample_images.build` already made, so a scan of the container can be compared with a
scan of the disk it came from:

- a VM export: an OVA (tar, the OVF descriptor first, as the OVF standard DSP0243 requires) and an OVF
  folder (descriptor next to its VMDK), and a VMware VM folder (a .vmx naming its VMDK); the VirtualBox,
  libvirt, Proxmox and XenServer ones come from sample_images.vm_configs;
- a triage collection of the volume's files: a plain tar (also gzip-compressed) and zip of the tree, a tar in acquire's layout
  (`fs/C:/...`), a zip in a Velociraptor offline collector's layout (`uploads/auto/C%3A/...` with
  `uploads.json`), and a KAPE VHDX (one NTFS volume holding `C\\...` and the USN journal KAPE copies).

Archive members are written in sorted order with fixed times, so the same tree gives the same bytes.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from gzip import GzipFile
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from sample_images.scenario import Scenario

# the last five: sample_images.vm_configs
VM_FORMATS = ("ova", "ovf", "vmx", "vbox", "libvirt", "proxmox", "xva", "hyperv-xml")
COLLECTION_FORMATS = ("tar", "tar-gz", "tar-acquire", "zip", "zip-velociraptor", "kape-vhdx")
CONTAINER_FORMATS = (*VM_FORMATS, *COLLECTION_FORMATS)
# a partial collection: the hives and the update logs only, in acquire's layout (no servicing packages,
# no catalogs, no boot files), which gives fewer findings than the disk, so it is not among the above
PARTIAL_FORMATS = ("tar-triage",)
TRIAGE_GLOBS = (
    "Windows/System32/config/*",
    "Users/*/NTUSER.DAT",
    "Windows/Logs/**/*",
    "Windows/Temp/*",
    "Windows/System32/winevt/Logs/*",
    "Users/*/AppData/Local/Temp/*",
)
SUFFIX = {
    "ova": ".ova",
    "ovf": ".ovf",
    "vmx": ".vmx",
    "vbox": ".vbox",
    "libvirt": ".xml",
    "proxmox": ".conf",
    "xva": ".xva",
    "hyperv-xml": ".xml",
    "tar": ".tar",
    "tar-gz": ".tar.gz",
    "tar-acquire": ".acquire.tar",
    "zip": ".zip",
    "zip-velociraptor": ".velociraptor.zip",
    "kape-vhdx": ".kape.vhdx",
    "tar-triage": ".triage.tar",
}
FIXED_TIME = 1_356_998_400  # 2013-01-01T00:00:00Z: members carry no build time
OVF_NS = "http://schemas.dmtf.org/ovf/envelope/1"
RASD_NS = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
DISK_RESOURCE_TYPE = "17"  # CIM_ResourceAllocationSettingData: a disk drive


def ovf_descriptor(disk_name: str, vm_name: str) -> bytes:
    """An OVF 1.x envelope with one virtual system whose one disk drive is `disk_name` (DSP0243)."""
    ET.register_namespace("ovf", OVF_NS)
    ET.register_namespace("rasd", RASD_NS)
    ovf, rasd = f"{{{OVF_NS}}}", f"{{{RASD_NS}}}"
    envelope = ET.Element(f"{ovf}Envelope")
    references = ET.SubElement(envelope, f"{ovf}References")
    ET.SubElement(references, f"{ovf}File", {f"{ovf}id": "file1", f"{ovf}href": disk_name})
    disks = ET.SubElement(envelope, f"{ovf}DiskSection")
    ET.SubElement(disks, f"{ovf}Info").text = "Virtual disks"
    ET.SubElement(
        disks,
        f"{ovf}Disk",
        {
            f"{ovf}diskId": "vmdisk1",
            f"{ovf}fileRef": "file1",
            f"{ovf}capacity": "0",
            f"{ovf}format": "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized",
        },
    )
    system = ET.SubElement(envelope, f"{ovf}VirtualSystem", {f"{ovf}id": vm_name})
    ET.SubElement(system, f"{ovf}Info").text = "A virtual machine"
    hardware = ET.SubElement(system, f"{ovf}VirtualHardwareSection")
    ET.SubElement(hardware, f"{ovf}Info").text = "Virtual hardware requirements"
    item = ET.SubElement(hardware, f"{ovf}Item")
    ET.SubElement(item, f"{rasd}ElementName").text = "Hard disk 1"
    ET.SubElement(item, f"{rasd}HostResource").text = "ovf:/disk/vmdisk1"
    ET.SubElement(item, f"{rasd}InstanceID").text = "1"
    ET.SubElement(item, f"{rasd}ResourceType").text = DISK_RESOURCE_TYPE
    xml: bytes = ET.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return xml + b"\n"


def vmx_descriptor(disk_name: str, vm_name: str) -> str:
    """A VMware Workstation .vmx whose one SCSI disk is `disk_name` (a path relative to the .vmx)."""
    return (
        '.encoding = "UTF-8"\n'
        'config.version = "8"\n'
        'virtualHW.version = "19"\n'
        f'displayName = "{vm_name}"\n'
        'guestOS = "windows7-64"\n'
        'scsi0.present = "TRUE"\n'
        'scsi0.virtualDev = "lsisas1068"\n'
        'scsi0:0.present = "TRUE"\n'
        f'scsi0:0.fileName = "{disk_name}"\n'
    )


def _tar_add(tar: tarfile.TarFile, name: str, source: Path | None = None, data: bytes | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = FIXED_TIME
    if source is not None and source.is_dir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        return
    payload = source.read_bytes() if source is not None else data or b""
    info.size, info.mode = len(payload), 0o644
    with io.BytesIO(payload) as fh:
        tar.addfile(info, fh)


def _members(tree: Path) -> list[tuple[str, Path]]:
    return [(p.relative_to(tree).as_posix(), p) for p in sorted(tree.rglob("*"))]


def tar_of_tree(tree: Path, out: Path, prefix: str = "", gzip: bool = False) -> None:
    """A POSIX tar of the files of `tree`, each name under `prefix`; gzip-compressed (a .tar.gz) if asked,
    with no time or name in the gzip header so the same tree gives the same bytes."""
    with open(out, "wb") as raw, GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") if gzip else raw as fh:
        with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, path in _members(tree):
                _tar_add(tar, prefix + name, path)


def zip_of_tree(
    tree: Path, out: Path, prefix: str = "", quote_colon: bool = False, extra: dict[str, bytes] | None = None
) -> None:
    """A deflated zip of the files of `tree`, each name under `prefix` (and `extra` files at the root)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted((extra or {}).items()):
            archive.writestr(zipfile.ZipInfo(name, (2013, 1, 1, 0, 0, 0)), data)
        for name, path in _members(tree):
            info = zipfile.ZipInfo(prefix + name + ("/" if path.is_dir() else ""), (2013, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, b"" if path.is_dir() else path.read_bytes())


def ova(vmdk: Path, out: Path) -> None:
    """An OVA: a tar holding the OVF descriptor first, then the disk it names."""
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        _tar_add(tar, out.stem + ".ovf", data=ovf_descriptor(vmdk.name, out.stem))
        _tar_add(tar, vmdk.name, vmdk)


def ovf_folder(vmdk: Path, out: Path) -> Path:
    """An exported OVF folder: `out` (the descriptor) next to a copy of the disk it names."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(vmdk, out.parent / vmdk.name)
    out.write_bytes(ovf_descriptor(vmdk.name, out.stem))
    return out.parent / vmdk.name


def vmx_folder(vmdk: Path, out: Path) -> Path:
    """A VMware VM folder: `out` (the .vmx) next to a copy of its disk."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(vmdk, out.parent / vmdk.name)
    out.write_text(vmx_descriptor(vmdk.name, out.stem))
    return out.parent / vmdk.name


def velociraptor_zip(tree: Path, out: Path) -> None:
    """A Velociraptor offline collection: the volume's files under `uploads/auto/C%3A/` (the drive letter
    URL-encoded as Velociraptor stores it) with the `uploads.json` index its loader looks for."""
    index = b'{"type":"auto","path":"C:/","file_size":0}\n'
    zip_of_tree(tree, out, prefix="uploads/auto/C%3A/", extra={"uploads.json": index})


def triage_tree(tree: Path, work: Path) -> Path:
    """The hives and update logs of `tree` (TRIAGE_GLOBS), what a triage collector keeps of a volume."""
    root = work / "triage"
    for pattern in TRIAGE_GLOBS:
        for path in sorted(tree.glob(pattern)):
            if path.is_file():
                (root / path.relative_to(tree)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, root / path.relative_to(tree))
    return root


def kape_tree(tree: Path, work: Path) -> Path:
    """The folder KAPE writes into its VHDX: the volume's files under `C\\`, with the USN journal it
    copies as `C\\$Extend\\$J` (empty here: imgscan does not read it, dissect's KAPE loader looks for it)."""
    root = work / "kape"
    shutil.copytree(tree, root / "C")
    (root / "C" / "$Extend").mkdir()
    (root / "C" / "$Extend" / "$J").write_bytes(b"")
    return root


def kape_vhdx(tree: Path, out: Path, work: Path) -> None:
    """A KAPE container: a VHDX whose one NTFS partition holds the collected files (KAPE's --vhdx)."""
    from sample_images.build import MIB, convert, ntfs_volume

    root = kape_tree(tree, work)
    start, size = MIB, 14 * MIB
    volume, disk = work / "kape-volume.img", work / "kape.raw"
    ntfs_volume(root, volume, size, "KAPE", start, work)
    with disk.open("wb") as fh:
        fh.truncate(start + size + MIB)
    table = f"label: gpt\nstart={start // 512}, size={size // 512}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n"
    subprocess.run(["sfdisk", "-q", str(disk)], input=table.encode(), check=True, stdout=subprocess.DEVNULL)
    with disk.open("r+b") as fh:
        fh.seek(start)
        fh.write(volume.read_bytes())
    convert(disk, "vhdx", out)


def build_containers(s: Scenario, out_dir: Path, formats: tuple[str, ...] = CONTAINER_FORMATS) -> dict[str, Path]:
    """Build `s` as a VMDK and a file tree, and wrap them in each of `formats`; returns {format: path}.
    The VM folders (ovf, vmx) get a folder of their own, named after the scenario."""
    from sample_images import vm_configs
    from sample_images.build import build

    out_dir.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="imgscan-sample-") as tmp:
        work = Path(tmp)
        base = build(s, work / "base", ("vmdk", "dir"))
        vmdk, tree = base["vmdk"], base["dir"]
        for fmt in formats:
            out = out_dir / f"{s.name}{SUFFIX[fmt]}"
            if fmt == "ova":
                stream = work / f"{s.name}-disk1.vmdk"  # what VMware and VirtualBox export: streamOptimized
                subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", vmdk, stream], check=True)
                ova(stream, out)
            elif fmt in ("ovf", "vmx", "vbox", "libvirt"):
                out = out_dir / f"{s.name}-{fmt}" / f"{s.name}{SUFFIX[fmt]}"
                folder = {"ovf": ovf_folder, "vmx": vmx_folder, "vbox": vm_configs.vbox_folder}
                folder.get(fmt, vm_configs.libvirt_folder)(vmdk, out)
            elif fmt == "proxmox":
                out = out_dir / f"{s.name}-proxmox" / f"{vm_configs.PROXMOX_VMID}.conf"
                vm_configs.proxmox_folder(vmdk, out, s.name)
            elif fmt == "hyperv-xml":
                out = vm_configs.hyperv_folder(vmdk, out_dir / f"{s.name}-hyperv", s.name)
            elif fmt == "xva":
                raw = work / f"{s.name}-xva.raw"
                subprocess.run(["qemu-img", "convert", "-O", "raw", vmdk, raw], check=True)
                vm_configs.xva(raw, out, s.name)
            elif fmt in ("tar", "tar-gz"):
                tar_of_tree(tree, out, gzip=fmt == "tar-gz")
            elif fmt == "tar-acquire":
                tar_of_tree(tree, out, prefix="fs/C:/")
            elif fmt == "zip":
                zip_of_tree(tree, out)
            elif fmt == "zip-velociraptor":
                velociraptor_zip(tree, out)
            elif fmt == "kape-vhdx":
                kape_vhdx(tree, out, work)
            elif fmt == "tar-triage":
                tar_of_tree(triage_tree(tree, work), out, prefix="fs/C:/")
            else:
                raise ValueError(f"unknown container format {fmt}")
            built[fmt] = out
    return built
