"""Write a differencing VHD: a child holding only the sectors in which `target` differs from `parent`.

qemu-img cannot create differencing VHDs, so the samples write one following
Microsoft's "Virtual Hard Disk Image Format Specification" (footer, dynamic
header with parent locators, BAT, blocks with sector bitmaps). Tests read the
child back through libvhdi and compare it with `target`, byte for byte.
"""

from __future__ import annotations

import struct
import uuid
from datetime import datetime, timezone
from pathlib import Path

SECTOR = 512
BLOCK = 2 * 1024 * 1024
SECTORS_PER_BLOCK = BLOCK // SECTOR
BITMAP_SECTORS = (SECTORS_PER_BLOCK // 8 + SECTOR - 1) // SECTOR
VHD_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def _checksum(data: bytes) -> int:
    return ~sum(data) & 0xFFFFFFFF


def _geometry(size: int) -> int:
    """CHS geometry as the specification's appendix computes it."""
    total = min(size // SECTOR, 65535 * 16 * 255)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cyl_heads = total // spt
    else:
        spt = 17
        cyl_heads = total // spt
        heads = max((cyl_heads + 1023) // 1024, 4)
        if cyl_heads >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cyl_heads = total // spt
        if cyl_heads >= heads * 1024:
            spt, heads = 63, 16
            cyl_heads = total // spt
    return (cyl_heads // heads) << 16 | heads << 8 | spt


def _footer(size: int, disk_type: int, data_offset: int, stamp: int, unique: bytes) -> bytes:
    head = struct.pack(
        ">8sIIQI4sI4sQQIII16sB",
        b"conectix",
        2,
        0x00010000,
        data_offset,
        stamp,
        b"imgs",
        0x00010000,
        b"Wi2k",
        size,
        size,
        _geometry(size),
        disk_type,
        0,
        unique,
        0,
    )
    head = head.ljust(SECTOR, b"\0")
    return head[:64] + struct.pack(">I", _checksum(head)) + head[68:]


def read_footer(path: Path) -> tuple[int, bytes, int]:
    """(timestamp, unique id, current size) of an existing VHD, needed to name it as a parent."""
    data = path.read_bytes()[-SECTOR:]
    (stamp,) = struct.unpack_from(">I", data, 24)
    (size,) = struct.unpack_from(">Q", data, 48)
    return stamp, data[68:84], size


def build_child(parent_vhd: Path, parent_raw: bytes, target_raw: bytes, child: Path) -> None:
    """Write `child`, a differencing VHD over `parent_vhd` whose content equals `target_raw`.

    `parent_raw` is the parent's content (the raw disk it was converted from).
    """
    if len(parent_raw) != len(target_raw):
        raise ValueError("parent and target disks must have the same size")
    size = len(target_raw)
    parent_stamp, parent_id, parent_size = read_footer(parent_vhd)
    if parent_size != size:
        raise ValueError(f"parent VHD is {parent_size} bytes, target is {size}")

    blocks = (size + BLOCK - 1) // BLOCK
    header_offset = SECTOR
    table_offset = header_offset + 1024
    table_bytes = (blocks * 4 + SECTOR - 1) // SECTOR * SECTOR
    next_sector = (table_offset + table_bytes) // SECTOR

    bat = [0xFFFFFFFF] * blocks
    payload = bytearray()
    for block in range(blocks):
        start = block * BLOCK
        changed = [
            s
            for s in range(SECTORS_PER_BLOCK)
            if target_raw[start + s * SECTOR : start + (s + 1) * SECTOR]
            != parent_raw[start + s * SECTOR : start + (s + 1) * SECTOR]
        ]
        if not changed:
            continue
        bitmap = bytearray(BITMAP_SECTORS * SECTOR)
        for s in changed:
            bitmap[s // 8] |= 0x80 >> (s % 8)
        data = target_raw[start : start + BLOCK].ljust(BLOCK, b"\0")
        bat[block] = next_sector
        payload += bitmap + data
        next_sector += BITMAP_SECTORS + SECTORS_PER_BLOCK

    stamp = int((datetime.now(timezone.utc) - VHD_EPOCH).total_seconds())
    footer = _footer(size, 4, header_offset, stamp, uuid.uuid4().bytes)

    relative = f".\\{parent_vhd.name}".encode("utf-16-le")
    absolute = f"C:\\images\\{parent_vhd.name}".encode("utf-16-le")
    locator_area = next_sector * SECTOR
    locators = [(b"W2ru", relative, locator_area), (b"W2ku", absolute, locator_area + SECTOR)]
    entries = b"".join(struct.pack(">4sIIIQ", code, SECTOR, len(text), 0, offset) for code, text, offset in locators)
    header = struct.pack(
        ">8sQQIIII16sII512s",
        b"cxsparse",
        0xFFFFFFFFFFFFFFFF,
        table_offset,
        0x00010000,
        blocks,
        BLOCK,
        0,
        parent_id,
        parent_stamp,
        0,
        parent_vhd.name.encode("utf-16-be"),
    )
    header = (header + entries.ljust(8 * 24, b"\0")).ljust(1024, b"\0")
    header = header[:36] + struct.pack(">I", _checksum(header)) + header[40:]

    with child.open("wb") as out:
        out.write(footer)
        out.write(header)
        out.write(struct.pack(f">{blocks}I", *bat).ljust(table_bytes, b"\xff"))
        out.write(payload)
        for _, text, _ in locators:
            out.write(text.ljust(SECTOR, b"\0"))
        out.write(footer)
