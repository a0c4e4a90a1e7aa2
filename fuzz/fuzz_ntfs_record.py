"""The fast read of a plain file from its MFT record (`imgscan.image.ntfs_files.plain_data`, and
`record_data`, which also applies the update sequence and reads the record header itself) against
dissect.ntfs' general path on the same record and volume.

Input: an MFT record on a 256 KiB volume of recognisable bytes, read twice: as dissect hands it over
(update sequence applied) to plain_data, and as it lies in the $MFT to record_data.

Contract (plain_data's and volume.open_entry's docstrings):
- plain_data returns bytes or None, or raises one of `RECORD_ERRORS` (the volume then takes
  dissect's general path, `open_entry`);
- the general path reads bytes or raises ArtefactUnreadable (a damaged record is an `errors` entry,
  never a traceback);
- differential: when both read the record, they read the same bytes;
- record_data returns None for every record dissect's `MftRecord.from_bytes` refuses (a torn write,
  a broken update sequence array, no FILE signature), and its fixed-up bytes are dissect's;
- it asks the volume for no more than the attribute's data size rounded up to a cluster (a hostile
  run list cannot make it read more than the file holds); 1 GB and 10 s per input at most.
"""

from __future__ import annotations

from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented
from fuzz.ntfs import CLUSTER, Volume, ntfs, record, samples

with instrumented(__name__):
    from imgscan.image.ntfs_files import RECORD_ERRORS, fixed_up, plain_data, record_data
    from imgscan.image.volume import ArtefactUnreadable, open_entry

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=4096, ci_runs=800)


class _NoOtherFiles:
    """The file system around the fuzzed record: a link from it leads nowhere."""

    alt_separator = "\\"
    case_sensitive = False

    def get(self, path: str) -> None:
        raise FileNotFoundError(path)


def _general(data: bytes, most: int) -> bytes | None:
    """The first `most` bytes the volume's general path (dissect) reads, or None when it says the file
    is unreadable. (A sparse run can declare terabytes of zeros: what reads a whole file must bound
    it, as the fast path bounds what it asks of the volume.)"""
    from dissect.target.filesystems.ntfs import NtfsFilesystemEntry

    entry = NtfsFilesystemEntry(_NoOtherFiles(), "fuzzed", record(data, Volume()))
    try:
        with open_entry(entry, "fuzzed") as fh:
            return fh.read(most)
    except ArtefactUnreadable:
        return None


def check(data: bytes) -> None:
    _check_fixed_up(data)
    _check_on_disk(data)


def _check_on_disk(data: bytes) -> None:
    """record_data on the record as the $MFT holds it, against dissect's `MftRecord.from_bytes`."""
    import struct

    from dissect.ntfs.exceptions import Error
    from dissect.ntfs.mft import MftRecord

    volume = Volume()
    try:
        fast = record_data(data, ntfs(volume))
    except RECORD_ERRORS:
        fast = None
    try:
        made = MftRecord.from_bytes(data, ntfs(Volume()))
    except (Error, ValueError, EOFError, struct.error):
        assert fast is None and fixed_up(data) is None, "read a record dissect refuses"
        return
    fixed = fixed_up(data)
    assert fixed is None or fixed == made.data, "applied the update sequence otherwise than dissect"
    if fast is not None:
        assert fixed is not None
        assert volume.asked <= len(fast) + CLUSTER, f"asked the volume for {volume.asked} bytes to read {len(fast)}"
        general = _general(made.data, len(fast) + 1)
        assert general is None or general == fast, f"fast path read {len(fast)} bytes, dissect other bytes"


def _check_fixed_up(data: bytes) -> None:
    """plain_data on the record as dissect hands it over."""
    volume = Volume()
    try:
        made = record(data, volume)
    except EOFError:
        return  # shorter than a record header: dissect makes no record of it
    try:
        fast = plain_data(made)
    except RECORD_ERRORS:
        fast = None
    assert fast is None or isinstance(fast, bytes)
    if fast is not None:
        assert volume.asked <= len(fast) + CLUSTER, f"asked the volume for {volume.asked} bytes to read {len(fast)}"
    general = _general(data, 1 << 20 if fast is None else len(fast) + 1)
    assert fast is None or general is None or general == fast, f"fast path read {len(fast)} bytes, dissect other bytes"


def seeds() -> Iterator[bytes]:
    """The sample images' records, and records whose data runs lie on the fuzzing volume."""
    from tests.test_ntfs_files import _nonresident, _record, _resident

    for made in (
        _record([_resident(b"127.0.0.1 localhost\r\n")]),
        _record([_nonresident(bytes([0x11, 2, 4, 0x11, 1, 0xFD, 0]), 3 * 512 - 100, 3)]),
        _record([_resident(b"x" * 8, type_code=0x10), _resident(b"data")]),
    ):
        yield made.data
        yield on_disk(file_record(made.data))
    for fixed in samples()[0]:
        yield fixed
        yield on_disk(fixed)


def file_record(made: bytes) -> bytes:
    """A hand-made record (attributes from byte 56, header left blank) as a 1 KiB FILE record in use:
    update sequence array at 48 (number 1, the sector ends' own bytes), first attribute at 56."""
    import struct

    header = b"FILE" + struct.pack("<HH", 48, 3) + bytes(12) + struct.pack("<HH", 56, 1) + bytes(24)
    out = bytearray(header + made[48:].ljust(1024 - 48, b"\0"))
    out[48:54] = b"\1\0" + bytes(out[510:512]) + bytes(out[1022:1024])
    return bytes(out)


def on_disk(fixed: bytes) -> bytes:
    """A fixed-up record as the $MFT holds it: every sector ends in the update sequence number (dissect
    leaves the array in place, so the bytes it replaced are still there)."""
    import struct

    (array,) = struct.unpack_from("<H", fixed, 4)
    out = bytearray(fixed)
    for sector in range(len(fixed) >> 9):
        out[sector * 512 + 510 : sector * 512 + 512] = fixed[array : array + 2]
    return bytes(out)


if __name__ == "__main__":
    fuzz(check, LIMITS)
