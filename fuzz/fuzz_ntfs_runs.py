"""The data-run (mapping pairs) reader of the fast NTFS read (`imgscan.image.ntfs_files._runs`) against
dissect.ntfs' `AttributeHeader.dataruns` on the same non-resident attribute.

Input: the mapping pairs array; the harness puts it behind a non-resident $DATA attribute header.

Contract (_runs' docstring):
- returns a list of (first cluster, cluster count) or None; never raises;
- differential: when it returns runs, dissect reads the same runs from the same attribute;
- memory and time linear in the attribute's length (1 GB, 10 s per input at most).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented
from fuzz.ntfs import samples

with instrumented(__name__):
    from imgscan.image.ntfs_files import _runs

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=1024, ci_runs=3000)
PAIRS = 64  # where the mapping pairs start in the attribute


def _attribute(pairs: bytes) -> bytes:
    """The attribute, its length rounded up to 8 bytes as in a record (and at least dissect's header
    structure, 72 bytes)."""
    length = max(PAIRS + len(pairs) + (-len(pairs)) % 8, 72)
    header = struct.pack("<IIBBHHH", 0x80, length, 1, 0, 0, 0, 0) + struct.pack("<qqH", 0, 0, PAIRS).ljust(24, b"\0")
    return (header.ljust(PAIRS, b"\0") + pairs).ljust(length, b"\0")


def check(data: bytes) -> None:
    from dissect.ntfs.attr import AttributeHeader

    attribute = _attribute(data)
    runs = _runs(attribute, PAIRS)
    assert runs is None or all(isinstance(lcn, int) and count > 0 and lcn >= 0 for lcn, count in runs)
    if runs is None:
        return
    assert len(runs) <= len(data) // 2
    try:
        reference = AttributeHeader.from_bytes(attribute).dataruns()
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"fast reader read {runs}, dissect cannot read the run list: {exc!r}") from exc
    assert reference == runs, f"fast reader read {runs}, dissect {reference}"


def seeds() -> Iterator[bytes]:
    """The run lists of the sample images' non-resident $DATA attributes, and a few made by hand."""
    yield bytes([0x11, 2, 4, 0x11, 1, 0xFD, 0])
    yield bytes([0x21, 8, 0x00, 0x01, 0])
    for data in samples()[0]:
        offset = struct.unpack_from("<H", data, 20)[0]
        while offset + 16 <= len(data):
            type_code, length = struct.unpack_from("<II", data, offset)
            if type_code == 0xFFFFFFFF or length < 16:
                break
            if type_code == 0x80 and data[offset + 8] == 1:
                (pairs,) = struct.unpack_from("<H", data, offset + 32)
                yield data[offset + pairs : offset + length]
            offset += length


if __name__ == "__main__":
    fuzz(check, LIMITS)
