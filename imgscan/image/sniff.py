"""Which container a file is, from one read of its magic bytes: kept apart from the readers so that listing
inputs (fleet) and choosing a backend cost no import of dissect."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

# what imgscan reads, for messages about a file that is none of them
READABLE = "VHD, VHDX, VMDK, E01, raw MBR/GPT disk or NTFS volume, WIM/ESD/SWM, or an extracted Windows directory"
SMALLEST = 512  # bytes: no image is shorter (a VHD footer, an MBR and an NTFS boot sector are 512 bytes each)


@dataclass(frozen=True)
class Header:
    """What a file's first 4 KiB and last 512 bytes say, read once."""

    format: str  # vhdx, vhd-fixed, vhd-dynamic, vhd-differencing, vmdk, e01, wim, raw-gpt, raw-volume, raw-mbr, unknown
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
    if head.startswith(b"MSWIM\0\0\0"):
        return Header("wim", wim_part=int.from_bytes(head[40:42], "little"))
    if len(head) >= 1024 and head[512:520] == b"EFI PART":
        return Header("raw-gpt")
    if head[3:11] == b"NTFS    ":
        return Header("raw-volume")
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        return Header("raw-mbr")
    return Header("unknown")


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
        return f"truncated: {size} bytes, shorter than any image header ({SMALLEST} bytes)"
    return None
