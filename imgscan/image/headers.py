"""What a container header claims, checked against the file before dissect sizes anything from it.

dissect.hypervisor reads a sparse VMDK's whole grain directory at once, sized from the header's
capacity, grain size and grain-table entries, and reads the embedded descriptor and each grain table
(numGTEsPerGT entries) sized from the header too. A header that claims a huge capacity made the
process ask for hundreds of gigabytes (MemoryError under a 4 GB limit); a VHDX region table may
claim billions of entries the same way. A real image holds its grain directory, grain tables and
descriptor inside the file (sparse disks leave out unwritten *grains*, never the tables), so a
claim the file cannot hold means a truncated or forged header: said in one line, before dissect
reserves anything.

Layouts: VMware's "Virtual Disk Format 5.0" (SparseExtentHeader; the COWD and SESparse headers as
dissect.hypervisor's c_vmdk declares them) and Microsoft's [MS-VHDX] 2.2.2 (at most 2047 region
table entries).
"""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path

SECTOR = 512
VMDK_SPARSE, VMDK_COWD, VMDK_SESPARSE = b"KDMV", b"COWD", struct.pack("<Q", 0xCAFEBABE)
GD_AT_END = 0xFFFFFFFFFFFFFFFF
VHDX_REGION_TABLES = (192 * 1024, 256 * 1024)
VHDX_MAX_REGIONS = 2047
EXTENT = re.compile(rb'^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+(?:SPARSE|VMFSSPARSE|SESPARSE)\s+"([^"]+)"', re.M)


def implausible(path: Path, fmt: str) -> str | None:
    """Why `path`'s header (or, for a VMDK descriptor file, its sparse extents' headers) claims more than
    the file holds, in words; None when its claims fit."""
    if fmt == "vmdk":
        with path.open("rb") as fh:
            head = fh.read(4096)
        if head.startswith(b"# Disk DescriptorFile"):
            for name in EXTENT.findall(head):
                extent = path.parent / name.decode("utf-8", "replace")
                if _outside(extent, path.parent):
                    return f"extent {name.decode('utf-8', 'replace')!r} lies outside the descriptor's folder"
                try:
                    why = _sparse_extent(extent) if extent.is_file() else None
                except (OSError, ValueError):  # a name no file system holds (too long, NUL): dissect says so
                    why = None
                if why:
                    return f"extent {extent.name}: {why}"
            return None
        return _sparse_extent(path)
    if fmt == "vhdx":
        return _vhdx(path)
    return None


def _outside(extent: Path, folder: Path) -> bool:
    """An extent named by an absolute path, `..` or a link leading out of the descriptor's folder: a forged
    descriptor must not make imgscan read files of the analyst's machine (VMware keeps a VM's extents
    beside its descriptor; a copied VM keeps them there too)."""
    try:
        return not extent.resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError, RuntimeError):  # a name no file system holds (NUL, a link loop): dissect says so
        return False


def _sparse_extent(path: Path) -> str | None:
    with path.open("rb") as fh:
        size = fh.seek(0, io.SEEK_END)
        fh.seek(0)
        header = fh.read(SECTOR)
        if header[:4] == VMDK_SPARSE and len(header) >= 64:
            (directory,) = struct.unpack_from("<Q", header, 56)
            if directory == GD_AT_END:  # stream-optimized: the real header is the footer, 1024 bytes from the end
                fh.seek(max(size - 1024, 0))
                header = fh.read(SECTOR)
            return _kdmv(header, size) if header[:4] == VMDK_SPARSE and len(header) >= 64 else None
    if header[:4] == VMDK_COWD and len(header) >= 28:
        (entries,) = struct.unpack_from("<I", header, 24)
        return _fits("grain directory", entries * 4, size)
    if header[:8] == VMDK_SESPARSE and len(header) >= 144:
        (directory_sectors,) = struct.unpack_from("<Q", header, 136)
        return _fits("grain directory", directory_sectors * SECTOR, size)
    return None


def _kdmv(header: bytes, size: int) -> str | None:
    capacity, grain, descriptor_offset, descriptor_sectors = struct.unpack_from("<QQQQ", header, 12)
    (table_entries,) = struct.unpack_from("<I", header, 44)
    if not grain or not table_entries:
        return f"grains of {grain} sectors and grain tables of {table_entries} entries"
    directory_entries = -(-capacity // (grain * table_entries))
    return (
        _fits("grain directory", directory_entries * 4, size, f"(for a capacity of {capacity * SECTOR} bytes)")
        or _fits("grain table", table_entries * 4, size)
        or _fits("descriptor", (descriptor_offset + descriptor_sectors) * SECTOR if descriptor_sectors else 0, size)
    )


def _vhdx(path: Path) -> str | None:
    with path.open("rb") as fh:
        for offset in VHDX_REGION_TABLES:
            fh.seek(offset)
            header = fh.read(16)
            entries = struct.unpack_from("<I", header, 8)[0] if header[:4] == b"regi" and len(header) >= 12 else 0
            if entries > VHDX_MAX_REGIONS:
                return f"region table at {offset} claims {entries} entries (at most {VHDX_MAX_REGIONS})"
    return None


def _fits(what: str, claimed: int, size: int, note: str = "") -> str | None:
    if claimed <= size:
        return None
    return f"its header claims a {what} of {claimed} bytes {note + ' ' if note else ''}in a file of {size}"
