"""The struct read of FILE records (imgscan.image.ntfs_files.record_data, read_plain) against dissect.ntfs'
general path (`MftRecord.from_bytes`, then `MftRecord.open`) on every record of the sample disk images'
$MFT, on the same records torn (update sequence not matching) or with a broken update sequence array,
and on every file the fast directory reader lists. (../shared/realdata holds no NTFS image.)"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgscan.image.disk import open_disk
from imgscan.image.ntfs_files import RECORD_ERRORS, fixed_up, list_directory, open_plain, read_plain, record_data
from tests.conftest import REPO

SAMPLES = sorted((REPO / "sample_images" / "built").glob("*.vhdx"))


def _ntfs(image: Path) -> tuple[Any, Any]:
    """(the dissect.target NTFS filesystem, its dissect.ntfs NTFS object) of a sample image."""
    fs = open_disk(image, "vhdx")[0]._fs  # type: ignore[attr-defined]
    return fs, fs.ntfs


def _records(ntfs: Any) -> Iterator[tuple[int, bytes]]:
    """Every record slot of the $MFT as it lies on the volume (update sequence not applied)."""
    size = ntfs._record_size
    stream = ntfs.mft.get(0).open()
    data = stream.read()
    for segment in range(len(data) // size):
        yield segment, data[segment * size : (segment + 1) * size]


def _dissect(raw: bytes, ntfs: Any) -> tuple[Any, bytes | None] | None:
    """dissect's record of `raw` and the bytes its general path reads of the unnamed $DATA stream
    (None: no such stream, or unreadable); None when dissect refuses the record."""
    from dissect.ntfs.exceptions import Error
    from dissect.ntfs.mft import MftRecord

    try:
        record = MftRecord.from_bytes(raw, ntfs)
    except (Error, ValueError, EOFError):
        return None
    try:
        return record, record.open().read()
    except (Error, OSError, ValueError, EOFError, KeyError):
        return record, None


def _mine(raw: bytes, ntfs: Any) -> bytes | None:
    try:
        return record_data(raw, ntfs)
    except RECORD_ERRORS:
        return None  # the volume then takes dissect's path


def _compare(raw: bytes, ntfs: Any) -> tuple[bool, bool]:
    """Asserts that the struct read agrees with dissect's on one record; (dissect accepted it, the
    struct read read it)."""
    general = _dissect(raw, ntfs)
    mine = _mine(raw, ntfs)
    if general is None:
        assert fixed_up(raw) is None and mine is None
        return False, False
    record, data = general
    fixed = fixed_up(raw)
    if fixed is not None:
        assert fixed == record.data
        first, flags = struct.unpack_from("<HH", fixed, 20)
        assert (first, flags) == (record.header.FirstAttributeOffset, record.header.Flags)
    if mine is not None:
        assert record.header.Flags & 0x0001 and not record.header.Flags & 0x0002  # a file in use
        assert data is not None and mine == data
    return True, mine is not None


def _torn(raw: bytes) -> bytes:
    """The record as a write interrupted after its first sector leaves it: the second sector's last two
    bytes are not the update sequence number."""
    out = bytearray(raw)
    out[1022:1024] = bytes(b ^ 0xFF for b in out[1022:1024])
    return bytes(out)


def _array_at(raw: bytes, offset: int) -> bytes:
    """The record with its update sequence array moved to `offset` (the sector ends keep their bytes)."""
    array = struct.unpack_from("<H", raw, 4)[0]
    out = bytearray(raw)
    out[4:6] = struct.pack("<H", offset)
    out[offset : offset + 6] = raw[array : array + 6]
    return bytes(out)


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
def test_every_record_reads_as_dissect_reads_it(image: Path) -> None:
    _, ntfs = _ntfs(image)
    accepted = read = torn = 0
    for _, raw in _records(ntfs):
        ok, fast = _compare(raw, ntfs)
        accepted += ok
        read += fast
        if ok:
            # the same record torn, or with its array out of range, odd, or reaching a sector's last
            # bytes (dissect reads that one in its own way): dissect refuses or reads, the struct read
            # refuses or agrees
            for damaged in (_torn(raw), _array_at(raw, 505), _array_at(raw, 507), _array_at(raw, 506)):
                assert _compare(damaged, ntfs)[1] is False
            torn += _dissect(_torn(raw), ntfs) is None
    assert accepted > 60 and read > 20 and torn == accepted  # every torn record refused by both


def test_an_array_reaching_the_sector_end_is_left_to_dissect() -> None:
    """dissect accepts an array ending at byte 512 (it overwrites the array's last entry while reading
    it): the struct read leaves that record to dissect instead of copying the quirk."""
    _, ntfs = _ntfs(SAMPLES[0])
    raw = next(raw for _, raw in _records(ntfs) if _dissect(raw, ntfs) is not None)
    moved = bytearray(_array_at(raw, 506))
    moved[510:512] = moved[506:508]  # the array's last entry is the first sector's end: the sequence number
    general = _dissect(bytes(moved), ntfs)
    assert general is not None and general[0].data[1022:1024] == moved[508:510]  # dissect overwrote the entry first
    assert fixed_up(bytes(moved)) is None and _mine(bytes(moved), ntfs) is None


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
def test_every_listed_file_reads_as_dissect_reads_it(image: Path) -> None:
    """The catalog read's own path: the fast listing's entries, each read from its record number."""
    fs, ntfs = _ntfs(image)
    pending = [fs.get("/")]
    files = fast = 0
    while pending:
        directory = pending.pop()
        listed = list_directory(directory)
        assert listed is not None, directory.path
        for indexed in listed:
            entry = indexed.get()
            if entry.is_dir(follow_symlinks=False):
                if indexed.name != "$Extend":
                    pending.append(entry)
                continue
            files += 1
            plain = open_plain(indexed)
            if plain is not None:
                fast += 1
                assert plain.read() == entry.open().read(), entry.path
    assert files > 20 and fast > 20


def test_a_torn_record_is_left_to_dissect_which_refuses_it() -> None:
    """read_plain over an $MFT whose record is torn: None, and dissect's Mft.get says the fixups do not match."""
    import io
    from types import SimpleNamespace

    from dissect.ntfs.mft import Mft

    _, ntfs = _ntfs(SAMPLES[0])
    segment, raw = next((s, r) for s, r in _records(ntfs) if _mine(r, ntfs) is not None)
    for data, expected in ((raw, _mine(raw, ntfs)), (_torn(raw), None)):
        stream = io.BytesIO(b"\0" * (segment * 1024) + data)
        fake = SimpleNamespace(mft=SimpleNamespace(fh=stream), _record_size=1024, fh=ntfs.fh, cluster_size=ntfs.cluster_size)
        assert read_plain(fake, segment) == expected
    with pytest.raises(ValueError, match="Fixup mismatch"):
        Mft(io.BytesIO(b"\0" * (segment * 1024) + _torn(raw)), ntfs).get(segment)


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
def test_reading_the_catalogs_builds_no_dissect_record(image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The speed the struct read is for: once their folder is listed, the catalogs are read without one
    dissect MftRecord (a fast path silently falling back would read the same bytes, only slower)."""
    from dissect.ntfs.mft import MftRecord

    from imgscan.artefacts.catalog_set import catalog_paths

    volume = open_disk(image, "vhdx")[0]
    paths = catalog_paths(volume)  # lists the folders (their directory records are dissect's)
    built: list[int] = []
    original = MftRecord.from_bytes.__func__

    def counting(cls: type[MftRecord], data: bytes, ntfs: Any = None) -> MftRecord:
        built.append(len(data))
        return original(cls, data, ntfs)

    monkeypatch.setattr(MftRecord, "from_bytes", classmethod(counting))
    read = {path: volume.open(path).read() for path in paths}
    assert len(paths) >= 3 and built == []
    fs = volume._fs  # type: ignore[attr-defined]
    assert all(data == fs.get(path.replace("\\", "/")).open().read() for path, data in read.items()) and built
