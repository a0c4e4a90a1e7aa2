r"""VM configurations and exports of the hypervisors other than VMware, written around a sample's disk as
each hypervisor writes them, so a scan of the VM can be compared with a scan of the disk:

- VirtualBox: a .vbox (settings XML, https://www.virtualbox.org/sdkref/) naming a VDI beside it;
- libvirt/KVM: a domain XML (`virsh dumpxml`, https://libvirt.org/formatdomain.html) whose disk is a
  qcow2 named by its absolute path on the host and copied beside the XML, with a CD-ROM whose ISO is absent
  (a VM's installation medium is rarely copied with it);
- Proxmox VE: a /etc/pve/qemu-server/<id>.conf (https://pve.proxmox.com/wiki/Manual:_qm.conf) with a
  comment line and a snapshot section, as real configurations hold, its disk an LVM volume dumped raw;
- Hyper-V 2008 R2 to 2012 R2: a `Virtual Machines\<GUID>.xml` configuration (Windows Server 2016 and
  later write the binary .vmcx, which no Debian tool writes), its drive named by its path on the Hyper-V
  host, the VHDX in the VM's `Virtual Hard Disks` folder;
- XenServer/XCP-ng: an .xva (a tar: ova.xml first, then each disk as `Ref:N/<8-digit block>` files of 1 MiB
  with a `.checksum` (SHA-1, hex) each, all-zero blocks left out except the first and the last, as xapi's
  export writes them).

Identifiers are derived from the VM's name and times are fixed, so the same disk gives the same bytes
(the VDI's own UUID, which qemu-img draws at random, is read back from its header).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import uuid
from pathlib import Path
from xml.etree import ElementTree as ET

VBOX_NS = "http://www.virtualbox.org/"
XVA_BLOCK = 1024 * 1024
FIXED_TIME = 1_356_998_400  # 2013-01-01T00:00:00Z
PROXMOX_VMID = 100
# where VirtualBox keeps a VDI's creation UUID: its header (VDIHEADER1PLUS, after the 0x48-byte pre-header)
_VDI_UUID_OFFSET = 0x188


def _uuid(vm_name: str, what: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"imgscan-sample:{vm_name}:{what}"))


def vdi_uuid(vdi: Path) -> str:
    """The creation UUID in a VDI's header, which the .vbox must name the disk by."""
    with vdi.open("rb") as fh:
        fh.seek(_VDI_UUID_OFFSET)
        return str(uuid.UUID(bytes_le=fh.read(16)))


def vbox_settings(vdi_name: str, disk_uuid: str, vm_name: str) -> bytes:
    """A VirtualBox 7 .vbox: a Windows VM whose SATA port 0 holds the VDI `vdi_name` of the media registry."""
    ET.register_namespace("", VBOX_NS)
    ns = f"{{{VBOX_NS}}}"
    root = ET.Element(f"{ns}VirtualBox", {"version": "1.19-linux"})
    machine = ET.SubElement(
        root,
        f"{ns}Machine",
        {"uuid": f"{{{_uuid(vm_name, 'machine')}}}", "name": vm_name, "OSType": "Windows7_64", "snapshotFolder": "Snapshots"},
    )
    disks = ET.SubElement(ET.SubElement(machine, f"{ns}MediaRegistry"), f"{ns}HardDisks")
    ET.SubElement(disks, f"{ns}HardDisk", {"uuid": f"{{{disk_uuid}}}", "location": vdi_name, "format": "VDI", "type": "Normal"})
    hardware = ET.SubElement(machine, f"{ns}Hardware")
    ET.SubElement(hardware, f"{ns}Memory", {"RAMSize": "4096"})
    controllers = ET.SubElement(hardware, f"{ns}StorageControllers")
    sata = ET.SubElement(
        controllers, f"{ns}StorageController", {"name": "SATA", "type": "AHCI", "PortCount": "1", "Bootable": "true"}
    )
    port = {"type": "HardDisk", "hotpluggable": "false", "port": "0", "device": "0"}
    attached = ET.SubElement(sata, f"{ns}AttachedDevice", port)
    ET.SubElement(attached, f"{ns}Image", {"uuid": f"{{{disk_uuid}}}"})
    xml: bytes = ET.tostring(root, xml_declaration=True, encoding="utf-8")
    return xml + b"\n"


def libvirt_domain(disk_path: str, vm_name: str) -> bytes:
    """A KVM domain as `virsh dumpxml` prints it: one SATA qcow2 disk at `disk_path`, one IDE CD-ROM."""
    domain = ET.Element("domain", {"type": "kvm"})
    ET.SubElement(domain, "name").text = vm_name
    ET.SubElement(domain, "uuid").text = _uuid(vm_name, "domain")
    ET.SubElement(domain, "memory", {"unit": "KiB"}).text = "4194304"
    ET.SubElement(domain, "vcpu", {"placement": "static"}).text = "2"
    os_ = ET.SubElement(domain, "os")
    ET.SubElement(os_, "type", {"arch": "x86_64", "machine": "pc-q35-7.2"}).text = "hvm"
    devices = ET.SubElement(domain, "devices")
    ET.SubElement(devices, "emulator").text = "/usr/bin/qemu-system-x86_64"
    disk = ET.SubElement(devices, "disk", {"type": "file", "device": "disk"})
    ET.SubElement(disk, "driver", {"name": "qemu", "type": "qcow2"})
    ET.SubElement(disk, "source", {"file": disk_path})
    ET.SubElement(disk, "target", {"dev": "sda", "bus": "sata"})
    cdrom = ET.SubElement(devices, "disk", {"type": "file", "device": "cdrom"})
    ET.SubElement(cdrom, "driver", {"name": "qemu", "type": "raw"})
    ET.SubElement(cdrom, "source", {"file": "/var/lib/libvirt/images/en_windows_7_x64.iso"})
    ET.SubElement(cdrom, "target", {"dev": "hdc", "bus": "ide"})
    ET.SubElement(cdrom, "readonly")
    ET.indent(domain)
    xml: bytes = ET.tostring(domain, encoding="utf-8")
    return xml + b"\n"


def proxmox_conf(volume: str, size_bytes: int, vm_name: str) -> str:
    """A Proxmox VE VM configuration whose SCSI disk 0 is the LVM volume `volume` on `local-lvm`, with the
    `#` description line and a `[snapshot]` section qm writes."""
    drive = f"local-lvm:{volume},size={size_bytes // (1024 * 1024)}M"
    return (
        "#Golden image, built from the sample\n"
        "boot: order=scsi0;ide2\n"
        "cores: 2\n"
        "ide2: none,media=cdrom\n"
        "memory: 4096\n"
        f"name: {vm_name}\n"
        "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0\n"
        "ostype: win7\n"
        "parent: before-update\n"
        f"scsi0: {drive}\n"
        "scsihw: virtio-scsi-single\n"
        f"smbios1: uuid={_uuid(vm_name, 'smbios')}\n"
        "sockets: 1\n"
        f"vmgenid: {_uuid(vm_name, 'vmgenid')}\n"
        "\n"
        "[before-update]\n"
        "boot: order=scsi0;ide2\n"
        "cores: 2\n"
        "memory: 4096\n"
        f"name: {vm_name}\n"
        f"scsi0: {drive}\n"
        f"snaptime: {FIXED_TIME}\n"
    )


# Hyper-V's emulated IDE controller, the device GUID its configurations key the controller's settings by
HYPERV_IDE = "83f8638b-8dca-4152-9eda-2ca8b33039b4"


def hyperv_xml(pathname: str, vm_name: str) -> bytes:
    """A Hyper-V configuration XML: every setting an element whose `type` says how to read its text; the
    IDE controller's drive 0 the VHDX at `pathname`, its drive 1 a DVD drive without a medium."""
    root = ET.Element("configuration")

    def typed(parent: ET.Element, tag: str, kind: str, text: str) -> None:
        ET.SubElement(parent, tag, {"type": kind}).text = text

    ide = ET.SubElement(root, f"_{HYPERV_IDE}_")
    controller = ET.SubElement(ide, "controller0")
    drive = ET.SubElement(controller, "drive0")
    typed(drive, "pathname", "string", pathname)
    typed(drive, "type", "string", "VHD")
    dvd = ET.SubElement(controller, "drive1")
    typed(dvd, "pathname", "string", "")
    typed(dvd, "type", "string", "ISO")
    manifest = ET.SubElement(root, "manifest")
    vdev = ET.SubElement(manifest, "vdev001")
    typed(vdev, "device", "string", HYPERV_IDE.upper())
    typed(vdev, "instance", "string", HYPERV_IDE.upper())
    typed(vdev, "name", "string", "Microsoft Emulated IDE Controller")
    properties = ET.SubElement(root, "properties")
    typed(properties, "name", "string", vm_name)
    typed(properties, "global_id", "string", _uuid(vm_name, "hyperv").upper())
    ET.indent(root)
    xml: bytes = ET.tostring(root, xml_declaration=True, encoding="utf-8")
    return xml + b"\n"


def hyperv_folder(vmdk: Path, out_dir: Path, vm_name: str) -> Path:
    r"""A Hyper-V VM folder as Export-VM writes it: `Virtual Machines\<GUID>.xml` and `Virtual Hard
    Disks\<name>.vhdx`; returns the configuration."""
    config = out_dir / "Virtual Machines" / f"{_uuid(vm_name, 'hyperv').upper()}.xml"
    vhdx = out_dir / "Virtual Hard Disks" / f"{vm_name}.vhdx"
    config.parent.mkdir(parents=True, exist_ok=True)
    vhdx.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["qemu-img", "convert", "-O", "vhdx", "-o", "subformat=dynamic", str(vmdk), str(vhdx)], check=True)
    config.write_bytes(hyperv_xml(f"D:\\Hyper-V\\{vm_name}\\Virtual Hard Disks\\{vhdx.name}", vm_name))
    return config


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), FIXED_TIME, 0o644
    tar.addfile(info, io.BytesIO(data))


def _xmlrpc(value: object) -> ET.Element:
    """An XML-RPC <value>, the encoding of xapi's ova.xml: dicts as <struct>, lists as <array>."""
    element = ET.Element("value")
    if isinstance(value, dict):
        struct = ET.SubElement(element, "struct")
        for key, item in value.items():
            member = ET.SubElement(struct, "member")
            ET.SubElement(member, "name").text = key
            member.append(_xmlrpc(item))
    elif isinstance(value, list):
        data = ET.SubElement(ET.SubElement(element, "array"), "data")
        for item in value:
            data.append(_xmlrpc(item))
    else:
        element.text = str(value)
    return element


def xva_ova_xml(vm_name: str, virtual_size: int) -> bytes:
    """xapi's ova.xml for a VM (Ref:0) with one VBD (Ref:1, a disk) of one VDI (Ref:2) of `virtual_size`."""
    objects = [
        {"class": "VM", "id": "Ref:0", "snapshot": {"name_label": vm_name, "uuid": _uuid(vm_name, "vm"), "VBDs": ["Ref:1"]}},
        {
            "class": "VBD",
            "id": "Ref:1",
            "snapshot": {"VM": "Ref:0", "VDI": "Ref:2", "userdevice": "0", "bootable": "true", "mode": "RW", "type": "Disk"},
        },
        {
            "class": "VDI",
            "id": "Ref:2",
            "snapshot": {
                "name_label": f"{vm_name} 0",
                "uuid": _uuid(vm_name, "vdi"),
                "virtual_size": str(virtual_size),
                "type": "system",
                "VBDs": ["Ref:1"],
            },
        },
    ]
    header = {"version": {"hostname": "xenserver", "product_version": "8.2.1", "xapi_major": "1", "xapi_minor": "20"}}
    xml: bytes = ET.tostring(_xmlrpc(header | {"objects": objects}), encoding="utf-8")
    return xml + b"\n"


def xva(raw: Path, out: Path, vm_name: str) -> None:
    """A XenServer export of the VM whose one disk is the raw image `raw`."""
    size = raw.stat().st_size
    last = (size - 1) // XVA_BLOCK
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar, raw.open("rb") as disk:
        _member(tar, "ova.xml", xva_ova_xml(vm_name, size))
        for index in range(last + 1):
            block = disk.read(XVA_BLOCK)
            if block.count(0) == len(block) and index not in (0, last):
                continue
            _member(tar, f"Ref:2/{index:08d}", block)
            _member(tar, f"Ref:2/{index:08d}.checksum", hashlib.sha1(block).hexdigest().encode())


def vbox_folder(vmdk: Path, out: Path) -> Path:
    """A VirtualBox VM folder: `out` (the .vbox) beside the VM's disk, converted to VDI."""
    out.parent.mkdir(parents=True, exist_ok=True)
    vdi = out.parent / f"{out.stem}.vdi"
    subprocess.run(["qemu-img", "convert", "-O", "vdi", str(vmdk), str(vdi)], check=True)
    out.write_bytes(vbox_settings(vdi.name, vdi_uuid(vdi), out.stem))
    return vdi


def libvirt_folder(vmdk: Path, out: Path) -> Path:
    """A libvirt VM copied off its host: the domain XML `out` beside its qcow2 disk, which the XML names by
    its path on the host (/var/lib/libvirt/images/...)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    qcow2 = out.parent / f"{out.stem}.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(vmdk), str(qcow2)], check=True)
    out.write_bytes(libvirt_domain(f"/var/lib/libvirt/images/{qcow2.name}", out.stem))
    return qcow2


def proxmox_folder(vmdk: Path, out: Path, vm_name: str) -> Path:
    """A Proxmox VM copied off its host: `out` (<vmid>.conf) beside a raw dump of its LVM disk volume."""
    out.parent.mkdir(parents=True, exist_ok=True)
    volume = out.parent / f"vm-{PROXMOX_VMID}-disk-0"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(vmdk), str(volume)], check=True)
    out.write_text(proxmox_conf(volume.name, volume.stat().st_size, vm_name))
    return volume
