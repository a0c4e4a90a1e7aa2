"""Which container a file is, from one read of its magic bytes: kept apart from the readers so that listing
inputs (fleet) and choosing a backend cost no import of dissect."""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

# what imgscan reads, for messages about a file that is none of them
READABLE = (
    "VHD, VHDX, VMDK, QCOW2, VDI, E01, raw MBR/GPT disk or NTFS volume, WIM/ESD/SWM, an extracted Windows directory, "
    "a VM (OVA, OVF, VMX, VBOX, VMCX, libvirt XML, Proxmox .conf, XVA, Veeam VBK, Proxmox VMA) "
    "or a triage collection (tar, tar.gz, zip, KAPE VHDX)"
)
HOST_LIST_SUFFIXES = (".csv", ".yaml", ".yml")  # a list of hosts for `imgscan fleet`: never an image
# the containers dissect.target's loaders open (imgscan.image.loaded): VM descriptors that name disks,
# and archives of a volume's files
LOADED = ("ova", "ovf", "vmx", "vbox", "vmcx", "hyperv-xml", "libvirt", "proxmox", "xva", "vbk", "vma", "tar", "zip")
# a key every VMware .vmx has, at the start of a line (the file is plain text, `key = "value"`)
_VMX_KEY = re.compile(rb'(?m)^\s*(config\.version|virtualHW\.version)\s*=\s*"')
# a Proxmox VM configuration (/etc/pve/qemu-server/<id>.conf) is `key: value` lines; qm writes a drive
# (`scsi0: local-lvm:vm-100-disk-0,size=32G`) and the VM's memory or cores
_PROXMOX_DRIVE = re.compile(rb"(?m)^(?:scsi|sata|ide|virtio)\d+: *[^:\s,]+:")
_PROXMOX_KEY = re.compile(rb"(?m)^(?:memory|cores|sockets|ostype|smbios1|vmgenid|boot|bootdisk): ")
# libvirt's domain XML (virsh dumpxml): the root element is <domain type='kvm'> (https://libvirt.org/formatdomain.html)
_LIBVIRT_ROOT = re.compile(rb"^(?:<\?xml[^>]*>|<!--.*?-->|\s)*<domain\s[^>]*type=", re.DOTALL)
# the storage header of Hyper-V's .vmcx (and .vmrs) files, "signature" 0x01282014 little-endian
_HYPERV_SIGNATURE = (0x01282014).to_bytes(4, "little")
# Hyper-V's XML configuration (2008 R2 to 2012 R2): a <configuration> whose settings carry their type
_HYPERV_XML = re.compile(
    rb'^(?:<\?xml[^>]*>|\s)*<configuration>\s*<[\w-]+>(?:\s*<[\w-]+>)*\s*<[\w-]+ type="(?:string|integer|bool|bytes)"'
)
# a Veeam backup's storage header: format version, initialised flag, then the digest type, "md5"
_VBK_DIGEST = b"\x03\x00\x00\x00md5\x00"
QCOW2_MAGIC = b"QFI\xfb"  # qemu's docs/interop/qcow2.txt
VDI_SIGNATURE = b"\x7f\x10\xda\xbe"  # 0xbeda107f at 0x40, as VirtualBox and qemu's block/vdi.c write it
SMALLEST = 512  # bytes: no image is shorter (a VHD footer, an MBR and an NTFS boot sector are 512 bytes each)


@dataclass(frozen=True)
class Header:
    """What a file's first 4 KiB and last 512 bytes say, read once."""

    # vhdx, vhd-fixed, vhd-dynamic, vhd-differencing, vmdk, qcow2, vdi, e01, wim, raw-gpt, raw-volume, raw-mbr, and the
    # LOADED formats, or unknown
    format: str
    # a VHD's footer is its last 512 bytes (a dynamic or differencing VHD also copies it to the start, which
    # names the format even when the end is cut off)
    vhd_footer_at_end: bool = False
    wim_part: int | None = None  # a WIM's part number (1 for an unsplit WIM and the first .swm of a set)


def read_header(path: Path) -> Header:
    """What the header says of `path`: its container format from the magic bytes (never the extension)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
        size = fh.seek(0, io.SEEK_END)
        fh.seek(max(size - 512, 0))
        tail = fh.read(512)
    at_end = tail.startswith(b"conectix")
    if head.startswith(b"vhdxfile"):
        return Header("vhdx")
    if at_end or head.startswith(b"conectix"):
        footer = tail if at_end else head
        kind = {2: "fixed", 3: "dynamic", 4: "differencing"}.get(int.from_bytes(footer[60:64], "big"), "unknown")
        return Header(f"vhd-{kind}", vhd_footer_at_end=at_end)
    if head.startswith(b"KDMV") or head.startswith(b"# Disk DescriptorFile"):
        return Header("vmdk")
    if head.startswith(b"EVF\x09\x0d\x0a\xff\x00"):
        return Header("e01")
    if head.startswith(QCOW2_MAGIC):
        return Header("qcow2")
    if head[64:68] == VDI_SIGNATURE:
        return Header("vdi")
    if head.startswith(b"MSWIM\0\0\0"):
        return Header("wim", wim_part=int.from_bytes(head[40:42], "little"))
    if head[257:262] == b"ustar":
        # an OVA is a tar whose first member is the OVF descriptor (DSP0243 section 5.3); XenServer writes
        # an XVA's ova.xml first, then its disks' blocks
        first = head[:100].split(b"\0", 1)[0].lower()
        return Header("ova" if first.endswith(b".ovf") else "xva" if first == b"ova.xml" else "tar")
    if head.startswith(b"\x1f\x8b") and _gunzipped(head)[257:262] == b"ustar":
        return Header("tar")  # a .tar.gz / .tgz collection
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return Header("zip")
    if head.startswith(_HYPERV_SIGNATURE) and path.suffix.lower() == ".vmcx":
        # the same storage format holds a VM's runtime state (.vmrs) and guest state (.vmgs), which name
        # no disks: beside a .vmcx in every Hyper-V VM folder, they are no input of their own
        return Header("vmcx")
    if head[8:16] == _VBK_DIGEST:
        return Header("vbk")
    if head.startswith(b"VMA\0"):
        return Header("vma")
    if head.lstrip().startswith(b"<") and b"dmtf.org/ovf/envelope" in head:
        return Header("ovf")
    if head.lstrip().startswith(b"<") and b'xmlns="http://www.virtualbox.org/"' in head:
        return Header("vbox")
    if _HYPERV_XML.match(_text(head)):
        return Header("hyperv-xml")
    if _LIBVIRT_ROOT.match(head):
        return Header("libvirt")
    if _VMX_KEY.search(head):
        return Header("vmx")
    if b"\0" not in head and _PROXMOX_DRIVE.search(head) and _PROXMOX_KEY.search(head):  # a text file
        return Header("proxmox")
    if len(head) >= 1024 and head[512:520] == b"EFI PART":
        return Header("raw-gpt")
    if head[3:11] == b"NTFS    ":
        return Header("raw-volume")
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        return Header("raw-mbr")
    return Header("unknown")


# compressors whose output imgscan does not read in place: vzdump writes .vma.zst (its default), .vma.lzo and
# .vma.gz; collections come as .tar.zst and .tar.xz too. magic bytes -> the command that decompresses it
_COMPRESSED = {
    b"\x28\xb5\x2f\xfd": "zstd -d",
    b"\x89LZO\x00\r\n\x1a\n": "lzop -d",
    b"\xfd7zXZ\x00": "xz -d",
    b"BZh": "bzip2 -d",
    b"\x1f\x8b": "gunzip",
}


def compressed(path: Path) -> str | None:
    """Why a file imgscan cannot read is still worth a word: it is compressed (a .vma.zst backup, a
    .tar.zst collection, a gzip'ed disk), with the command that decompresses it; None otherwise."""
    with path.open("rb") as fh:
        head = fh.read(8)
    for magic, command in _COMPRESSED.items():
        if head.startswith(magic):
            return f"compressed file: decompress it first ({command} {path.name}) and scan what comes out"
    return None


def other_disk(path: Path) -> str | None:
    """Why a file imgscan cannot read is still worth a word: it is a Parallels disk, which imgscan does not
    open, with the qemu-img command that converts it to one it does; None otherwise."""
    with path.open("rb") as fh:
        if not fh.read(16).startswith(_PARALLELS):
            return None
    convert = f"qemu-img convert -O vhdx {path.name} {path.stem}.vhdx"
    return f"a Parallels disk, which imgscan does not open on its own: convert it ({convert}) and scan that"


_PARALLELS = (b"WithoutFreeSpace", b"WithouFreSpacExt")  # its magic (qemu's docs/interop/parallels.txt)


def _text(head: bytes) -> bytes:
    """An XML head as UTF-8-like bytes: Windows writes its XML in UTF-16 (little endian, with a BOM) too."""
    if head.startswith(b"\xff\xfe"):
        return head[2:].decode("utf-16-le", errors="replace").encode("utf-8", errors="replace")
    return head.removeprefix(b"\xef\xbb\xbf")


def _gunzipped(head: bytes) -> bytes:
    """What the first bytes of a gzip stream hold (as much as `head` gives), or nothing if it is not one."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 1024)
    except zlib.error:
        return b""


def is_wim(path: Path) -> bool:
    try:
        return path.is_file() and read_header(path).format == "wim"
    except OSError:
        return False


def too_short(path: Path) -> str | None:
    """Why a file is no image whatever its name says, when its size alone tells: empty, or shorter than
    any image's header (a copy cut short). None when it is long enough to be one."""
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    if size < SMALLEST:
        return f"truncated or not an image: {size} bytes, shorter than any image header ({SMALLEST} bytes)"
    return None
