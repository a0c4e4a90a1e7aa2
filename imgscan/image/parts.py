"""Disk images kept in several files: a VMDK descriptor and its extents, an E01 and its later segments.

The file given is only part of the evidence: its SHA-256 alone would be the same for two images whose other
files differ, so each other file is listed with its own (`parents`, as a differencing disk's parents are).
And a set copied incompletely reads as a disk with holes, not as an error: a flat extent cut short or an E01
whose last segment is missing gave findings about files that were simply not there (a hive "unreadable",
manifests "missing"). So the set is checked first, as a raw disk cut short is: an extent must hold what the
descriptor gives it; E01 segments must be numbered 1, 2, 3... with no gap, each section must lie inside its
segment, and the last segment must end with the `done` section (each earlier one ends with `next`), the
layout libewf writes (its "Expert Witness Compression Format" specification, section 3).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

SECTOR = 512
# VMware "Virtual Disk Format 5.0", extent descriptions: access, size in sectors, type, file name, offset
EXTENT = re.compile(rb'^\s*(?:RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)\s+"([^"]+)"(?:\s+(\d+))?', re.M)
FLAT = (b"FLAT", b"VMFS")  # raw extents: the file holds its sectors from the offset on
EWF_SIGNATURES = (b"EVF\x09\x0d\x0a\xff\x00", b"LVF\x09\x0d\x0a\xff\x00")
EWF_HEADER, EWF_SECTION = 13, 76  # file header; section descriptor (type[16], next u64, size u64, pad, checksum)
MAX_SECTIONS = 1 << 20  # per segment: a forged chain must end


def other_files(path: Path, fmt: str) -> list[Path]:
    """The files besides `path` that the image is read from, in order."""
    if fmt == "vmdk":
        return [path.parent / name.decode("utf-8", "replace") for _, _, name, _ in _extents(path)]
    if fmt == "e01":
        from dissect.evidence.ewf.ewf import find_files

        return [segment for segment in find_files(path) if segment.name != path.name]
    return []


def incomplete(path: Path, fmt: str) -> str | None:
    """Why the set of files is not whole, in words; None when it is (or `fmt` is kept in one file)."""
    if fmt == "vmdk":
        for sectors, kind, name, offset in _extents(path):
            extent = path.parent / name.decode("utf-8", "replace")
            if kind in FLAT and (size := _size(extent)) is not None and (need := (offset + sectors) * SECTOR) > size:
                return f"extent {extent.name} holds {size} bytes, the descriptor gives it {need}"
        return None
    if fmt == "e01":
        from dissect.evidence.ewf.ewf import find_files

        return _ewf_set(find_files(path))
    return None


def _size(extent: Path) -> int | None:
    """The size of an extent file; None when there is no such file, or no file system could hold its name (too
    long, a NUL): dissect's open says what is wrong then."""
    try:
        return extent.stat().st_size if extent.is_file() else None
    except (OSError, ValueError):
        return None


def _extents(path: Path) -> list[tuple[int, bytes, bytes, int]]:
    """(sectors, type, file name, offset in sectors) of each extent a descriptor file names; none for a VMDK
    that is one sparse file (its descriptor is embedded)."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if not head.startswith(b"# Disk DescriptorFile"):
        return []
    return [(int(size), kind, name, int(offset or 0)) for size, kind, name, offset in EXTENT.findall(head)]


class _Incomplete(Exception):
    """Why an E01 set is not whole (its message, one line)."""


def _ewf_set(segments: list[Path]) -> str | None:
    try:
        for number, segment in enumerate(segments, 1):
            ending = _segment_end(segment, number)
            if ending == b"done" and number < len(segments):
                return f"{segment.name} ends the set, yet {len(segments) - number} more segment(s) follow"
            if ending == b"next" and number == len(segments):
                return f"{segment.name} says another segment follows it, which is missing"
    except _Incomplete as exc:
        return str(exc)
    return None


def _segment_end(segment: Path, number: int) -> bytes:
    """The type of the section that ends segment `number` (`next` or `done`); _Incomplete when it is not that
    segment or its chain of sections does not lie inside the file."""
    with segment.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        head = fh.read(EWF_HEADER)
        if head[:8] not in EWF_SIGNATURES or len(head) < EWF_HEADER:
            raise _Incomplete(f"{segment.name} is not an EWF segment")
        if (found := struct.unpack_from("<H", head, 9)[0]) != number:
            raise _Incomplete(f"segment {number} is missing ({segment.name} is segment {found})")
        offset = EWF_HEADER
        for _ in range(MAX_SECTIONS):
            fh.seek(offset)
            descriptor = fh.read(EWF_SECTION)
            if len(descriptor) < EWF_SECTION:
                raise _Incomplete(f"{segment.name} is cut short: a section at byte {offset} lies past its {size} bytes")
            kind = descriptor[:16].rstrip(b"\0")
            following, length = struct.unpack_from("<QQ", descriptor, 16)
            if kind in (b"next", b"done") or following == offset:
                return kind
            if offset + length > size or following > size:
                text = kind.decode("ascii", "replace")
                name = text if text.isprintable() else repr(kind)  # a damaged type: its bytes, on one line
                raise _Incomplete(f"{segment.name} is cut short: its {name} section ends past its {size} bytes")
            if following < offset:
                raise _Incomplete(f"{segment.name}: its sections loop back (damaged)")
            offset = following
    raise _Incomplete(f"{segment.name}: more than {MAX_SECTIONS} sections (damaged)")
