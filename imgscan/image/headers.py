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
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

SECTOR = 512
VMDK_SPARSE, VMDK_COWD, VMDK_SESPARSE = b"KDMV", b"COWD", struct.pack("<Q", 0xCAFEBABE)
GD_AT_END = 0xFFFFFFFFFFFFFFFF
VMDK_COMPRESSED = 1 << 16  # SparseExtentHeader flags: grains are compressed, each behind a marker
VHDX_REGION_TABLES = (192 * 1024, 256 * 1024)
VHDX_MAX_REGIONS = 2047
VHDX_FULLY_PRESENT, VHDX_PARTLY_PRESENT, VHDX_BITMAP_PRESENT = 6, 7, 6  # BAT entry states, [MS-VHDX] 2.5.1
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
    check = _BLOCK_TABLES.get(fmt)
    if check is None:
        return None
    from dissect.hypervisor.exceptions import Error

    with path.open("rb") as fh:
        size = fh.seek(0, io.SEEK_END)
        try:
            return check(fh, size)
        except (Error, EOFError, OSError, KeyError, ValueError, NotImplementedError, RuntimeError, struct.error):
            return None  # dissect's open says what is wrong


def _outside(extent: Path, folder: Path) -> bool:
    """An extent named by an absolute path, `..` or a link leading out of the descriptor's folder: a forged
    descriptor must not make imgscan read files of the analyst's machine (VMware keeps a VM's extents
    beside its descriptor; a copied VM keeps them there too)."""
    try:
        return not Path(os.path.realpath(extent)).is_relative_to(os.path.realpath(folder))
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
            if header[:4] != VMDK_SPARSE or len(header) < 64:
                return None
            return _kdmv(header, size) or _grains(fh, header, size)
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


def _grains(fh: BinaryIO, header: bytes, size: int) -> str | None:
    """Where the grain tables put the grains this file holds: every allocated grain must lie inside the file.
    A copy cut short loses the grains written last, which dissect would read as short reads. A compressed
    (stream-optimized) grain's length is in its own marker: only its start is checked."""
    (flags,) = struct.unpack_from("<I", header, 8)
    capacity, grain = struct.unpack_from("<QQ", header, 12)
    (table_entries,) = struct.unpack_from("<I", header, 44)
    (directory,) = struct.unpack_from("<Q", header, 56)
    compressed = bool(flags & VMDK_COMPRESSED)
    tables = -(-capacity // (grain * table_entries))
    if (directory_end := directory * SECTOR + tables * 4) > size:
        return f"its grain directory ends at byte {directory_end} in a file of {size}"
    fh.seek(directory * SECTOR)
    allocated = [table for table in struct.unpack(f"<{tables}I", fh.read(tables * 4).ljust(tables * 4, b"\0")) if table]
    if len(allocated) * table_entries * 4 > size:  # each table has room of its own in a real file
        return f"its {len(allocated)} grain tables of {table_entries * 4} bytes do not fit in a file of {size}"
    end = 0
    for table in allocated:
        if (table_end := table * SECTOR + table_entries * 4) > size:
            return f"a grain table ends at byte {table_end} in a file of {size}"
        fh.seek(table * SECTOR)
        last = max(struct.unpack(f"<{table_entries}I", fh.read(table_entries * 4)))
        end = max(end, last * SECTOR + (1 if compressed else grain * SECTOR) if last > 1 else 0)
    return None if end <= size else f"its grain tables place data up to byte {end} in a file of {size}"


def _qcow2(fh: BinaryIO, size: int) -> str | None:
    """Where the L1 and L2 tables (qemu's docs/interop/qcow2.txt) put the clusters this file holds: every
    allocated cluster must start inside the file (qemu itself reads the rest of a cluster cut at the end of
    the file as zeros, so a cut within the last cluster is not told apart). Clusters in an external data
    file are not checked here."""
    from dissect.hypervisor.disk.c_qcow2 import c_qcow2
    from dissect.hypervisor.disk.qcow2 import QCow2

    l1_mask, l2_mask, compressed = c_qcow2.L1E_OFFSET_MASK, c_qcow2.L2E_OFFSET_MASK, c_qcow2.QCOW_OFLAG_COMPRESSED

    disk = QCow2(fh, allow_no_data_file=True, allow_no_backing_file=True)
    header = disk.header
    if (end := header.l1_table_offset + header.l1_size * 8) > size:
        return f"its L1 table ends at byte {end} in a file of {size}"
    if disk.needs_data_file:
        return None
    tables = [entry & l1_mask for entry in disk.l1_table if entry & l1_mask]
    if len(tables) * disk.cluster_size > size:  # each L2 table is a cluster of its own in a real file
        return f"its {len(tables)} L2 tables of {disk.cluster_size} bytes do not fit in a file of {size}"
    step = 2 if disk.has_subclusters else 1  # an extended L2 entry is followed by its subcluster bitmap
    last = 0
    for table in tables:
        if table + disk.cluster_size > size:
            return f"an L2 table ends at byte {table + disk.cluster_size} in a file of {size}"
        fh.seek(table)
        for (entry,) in list(struct.iter_unpack(">Q", fh.read(disk.cluster_size)))[::step]:
            start = entry & disk.cluster_offset_mask if entry & compressed else entry & l2_mask
            last = max(last, start)
    return None if last < size else f"its L2 tables place a cluster at byte {last} in a file of {size}"


def _vdi(fh: BinaryIO, size: int) -> str | None:
    """Where the block map puts the blocks this file holds: every allocated block must lie inside the file
    (VirtualBox and qemu write a block whole when they allocate it)."""
    from dissect.hypervisor.disk.vdi import VDI

    disk = VDI(fh)
    if (end := disk.blocks_offset + disk.number_of_blocks * 4) > size:
        return f"its block map ends at byte {end} in a file of {size}"
    fh.seek(disk.blocks_offset)
    blocks = [block for (block,) in struct.iter_unpack("<i", fh.read(disk.number_of_blocks * 4)) if block >= 0]
    end = disk.data_offset + (max(blocks) + 1) * disk.block_size if blocks else 0
    return None if end <= size else f"its block map places data up to byte {end} in a file of {size}"


def _vhdx(fh: BinaryIO, size: int) -> str | None:
    """Where the block allocation table ([MS-VHDX] 2.5) puts the data this file holds: a payload block it
    marks present (fully or partially) or a present sector bitmap must lie inside the file. A copy cut short
    loses the blocks written last, and dissect reads a lost block as a short read: the scan would go on
    over a disk with holes and judge what is left (a missing hive, a manifest with no catalog)."""
    from dissect.hypervisor.disk.c_vhdx import (
        BAT_REGION_GUID,
        FILE_PARAMETERS_GUID,
        LOGICAL_SECTOR_SIZE_GUID,
        MB,
        METADATA_REGION_GUID,
        VIRTUAL_DISK_SIZE_GUID,
    )
    from dissect.hypervisor.disk.vhdx import MetadataTable, RegionTable

    for offset in VHDX_REGION_TABLES:  # before dissect reads that many entries
        fh.seek(offset)
        header = fh.read(16)
        entries = struct.unpack_from("<I", header, 8)[0] if header[:4] == b"regi" and len(header) >= 12 else 0
        if entries > VHDX_MAX_REGIONS:
            return f"region table at {offset} claims {entries} entries (at most {VHDX_MAX_REGIONS})"
    regions = RegionTable(fh, VHDX_REGION_TABLES[0])
    metadata_region, bat_region = regions.get(METADATA_REGION_GUID), regions.get(BAT_REGION_GUID)
    for what, region in (("metadata region", metadata_region), ("block allocation table", bat_region)):
        if (end := region.file_offset + region.length) > size:
            return f"its {what} ends at byte {end} in a file of {size}"
    metadata = MetadataTable(fh, metadata_region.file_offset, metadata_region.length)
    parameters = metadata.get(FILE_PARAMETERS_GUID)
    block, disk = parameters.block_size, metadata.get(VIRTUAL_DISK_SIZE_GUID)
    if not block or block % MB:
        return None  # not a block size the format allows: dissect's open says what is wrong
    chunk = (2**23 * metadata.get(LOGICAL_SECTOR_SIZE_GUID)) // block  # payload blocks per sector bitmap block
    payloads = -(-disk // block)
    count = -(-payloads // chunk) * (chunk + 1) if parameters.has_parent else payloads + (payloads - 1) // chunk
    fh.seek(bat_region.file_offset)
    table = fh.read(min(count * 8, bat_region.length))
    entries = [entry for (entry,) in struct.iter_unpack("<Q", table[: len(table) // 8 * 8])]
    bitmaps = entries[chunk :: chunk + 1]  # every chunk's payload entries are followed by its bitmap's
    del entries[chunk :: chunk + 1]
    ends = [(entry >> 20) * MB + block for entry in entries if entry & 7 in (VHDX_FULLY_PRESENT, VHDX_PARTLY_PRESENT)]
    ends += [(entry >> 20) * MB + MB for entry in bitmaps if entry & 7 == VHDX_BITMAP_PRESENT]
    end = max(ends, default=0)
    return None if end <= size else f"its block allocation table places data up to byte {end} in a file of {size}"


def _fits(what: str, claimed: int, size: int, note: str = "") -> str | None:
    if claimed <= size:
        return None
    return f"its header claims a {what} of {claimed} bytes {note + ' ' if note else ''}in a file of {size}"


# the formats whose block tables say where their data lies in the file, each checked against the file's size
_BLOCK_TABLES: dict[str, Callable[[BinaryIO, int], str | None]] = {"vhdx": _vhdx, "qcow2": _qcow2, "vdi": _vdi}
