"""The container header readers (`imgscan.image.sniff.read_header`: the format from the magic bytes,
`imgscan.image.headers.implausible`: a VMDK's, VHDX's, QCOW2's or VDI's claimed sizes checked against the file before
dissect reserves anything, and `imgscan.image.parts`: the extents a VMDK descriptor names, an E01 set's segments
and sections).

Input: a file's first bytes. They are written as an image file, as the sparse extent a VMDK descriptor
names (`extent.vmdk`, beside it), as the first segment of an E01 set (`fuzzed.E01`) and after 192 KiB of
VHDX header as the first region table.

Contract (their docstrings):
- read_header returns a Header whose format is one of the documented names; implausible and incomplete
  return one line of words or None; other_files a list of paths; none raises on any bytes;
- 1 GB and 10 s of CPU per input at most: nothing is read but the header and the claimed tables'
  positions (a claim of terabytes costs no memory).
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__):
    from imgscan.image.headers import VHDX_REGION_TABLES, implausible
    from imgscan.image.parts import incomplete, other_files
    from imgscan.image.sniff import LOADED, read_header

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=4096, ci_runs=1500)
FORMATS = {"vhdx", "vhd-fixed", "vhd-dynamic", "vhd-differencing", "vhd-unknown", "vmdk", "qcow2", "vdi", "e01", "wim"}
FORMATS |= {"raw-gpt", "raw-volume", "raw-mbr", "unknown", *LOADED}  # LOADED: VMs and collections


@functools.cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="imgscan-fuzz-header-"))


def check(data: bytes) -> None:
    folder = _folder()
    image, extent, vhdx = folder / "fuzzed.img", folder / "extent.vmdk", folder / "fuzzed.vhdx"
    image.write_bytes(data)
    extent.write_bytes(data)
    vhdx.write_bytes(b"vhdxfile".ljust(VHDX_REGION_TABLES[0], b"\0") + data)
    for path in (image, vhdx):
        header = read_header(path)
        assert header.format in FORMATS, header
        for fmt in {header.format, "vmdk", "vhdx"}:
            why = implausible(path, fmt)
            assert why is None or (isinstance(why, str) and why and "\n" not in why), repr(why)
    segment = folder / "fuzzed.E01"
    segment.write_bytes(data)
    for path, fmt in ((image, "vmdk"), (segment, "e01")):
        why = incomplete(path, fmt)
        assert why is None or (isinstance(why, str) and why and "\n" not in why), repr(why)
        assert all(isinstance(p, Path) for p in other_files(path, fmt))


def seeds() -> Iterator[bytes]:
    """Sparse VMDK, COWD and SESparse headers, a descriptor naming its extent, a VHDX region table,
    and the first 4 KiB of the sample VHDX."""
    import struct

    from fuzz.sources import REPO

    kdmv = b"KDMV" + struct.pack("<IIQQQQI", 1, 3, 2048, 128, 1, 1, 512) + struct.pack("<QQQ", 0, 2, 21)
    yield kdmv.ljust(512, b"\0")
    yield (kdmv[:56] + b"\xff" * 8).ljust(512, b"\0")  # grain directory at the end: the footer holds the header
    yield (b"COWD" + struct.pack("<IIIIII", 1, 3, 2048, 128, 4, 16)).ljust(512, b"\0")
    yield (struct.pack("<Q", 0xCAFEBABE) + bytes(128) + struct.pack("<Q", 8)).ljust(512, b"\0")
    yield b'# Disk DescriptorFile\nversion=1\ncreateType="monolithicSparse"\nRW 2048 SPARSE "extent.vmdk"\n'
    yield b'# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 2048 FLAT "extent.vmdk" 0\n'
    section = b"header".ljust(16, b"\0") + struct.pack("<QQ", 89, 76) + bytes(44)  # then the closing `done`
    yield (
        b"EVF\x09\x0d\x0a\xff\x00\x01\x01\x00\x00\x00"
        + section
        + b"done".ljust(16, b"\0")
        + struct.pack("<QQ", 89, 0)
        + bytes(44)
    )
    yield b"regi" + struct.pack("<III", 0, 2, 0) + bytes(32)
    yield from (p.read_bytes()[:4096] for p in sorted((REPO / "sample_images" / "built").glob("*.vhdx"))[:1])
    with tempfile.TemporaryDirectory(prefix="imgscan-fuzz-seed-") as tmp:  # headers as qemu-img writes them
        for fmt in ("qcow2", "vdi"):
            disk = Path(tmp) / f"seed.{fmt}"
            subprocess.run(["qemu-img", "create", "-q", "-f", fmt, disk, "4M"], check=True)
            yield disk.read_bytes()[:4096]


if __name__ == "__main__":
    fuzz(check, LIMITS)
