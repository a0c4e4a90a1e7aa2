"""Which container a file is, from its magic bytes: kept apart from the readers so that listing
inputs (fleet) and choosing a backend cost no import of dissect."""

from __future__ import annotations

import io
from pathlib import Path

# what imgscan reads, for messages about a file that is none of them
READABLE = "VHD, VHDX, VMDK, E01, raw MBR/GPT disk or NTFS volume, WIM/ESD/SWM, or an extracted Windows directory"
SMALLEST = 512  # bytes: no image is shorter (a VHD footer, an MBR and an NTFS boot sector are 512 bytes each)


def sniff_format(path: Path) -> str:
    """Name the container format from the file's magic bytes (not its extension)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
        size = fh.seek(0, io.SEEK_END)
        tail = b""
        if size >= 512:
            fh.seek(size - 512)
            tail = fh.read(512)
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if tail.startswith(b"conectix") or head.startswith(b"conectix"):
        footer = tail if tail.startswith(b"conectix") else head
        kind = {2: "fixed", 3: "dynamic", 4: "differencing"}.get(int.from_bytes(footer[60:64], "big"), "unknown")
        return f"vhd-{kind}"
    if head.startswith(b"KDMV") or head.startswith(b"# Disk DescriptorFile"):
        return "vmdk"
    if head.startswith(b"EVF\x09\x0d\x0a\xff\x00"):
        return "e01"
    if head.startswith(b"MSWIM\0\0\0"):
        return "wim"
    if len(head) >= 1024 and head[512:520] == b"EFI PART":
        return "raw-gpt"
    if head[3:11] == b"NTFS    ":
        return "raw-volume"
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        return "raw-mbr"
    return "unknown"


def too_short(path: Path) -> str | None:
    """Why a file is no image whatever its name says, when its size alone tells: empty, or shorter than
    any image's header (a copy cut short). None when it is long enough to be one."""
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    if size < SMALLEST:
        return f"truncated: {size} bytes, shorter than any image header ({SMALLEST} bytes)"
    return None
