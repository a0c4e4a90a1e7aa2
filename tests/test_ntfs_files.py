"""The fast NTFS file read (imgscan.image.ntfs_files) against dissect's own read: every file of the
sample disk images, and hand-made MFT records for the shapes it must leave to dissect."""

from __future__ import annotations

import io
import struct
from types import SimpleNamespace

import pytest

from imgscan.image.disk import open_disk
from imgscan.image.ntfs_files import open_plain, plain_data
from tests.conftest import REPO

SAMPLES = sorted((REPO / "sample_images" / "built").glob("*.vhdx"))


def _walk(entry, found: list) -> None:
    for child in entry.scandir():
        if child.is_dir(follow_symlinks=False):
            _walk(child.get(), found)
        else:
            found.append(child)


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
def test_every_file_reads_the_same_as_through_dissect(image):
    volume = open_disk(image, "vhdx")[0]
    files: list = []
    _walk(volume._fs.get("/"), files)
    slow = []
    for dir_entry in files:
        plain = open_plain(dir_entry)
        if plain is None:
            slow.append(dir_entry.name)
            continue
        assert plain.read() == dir_entry.get().open().read(), dir_entry.name
    # only NTFS's own index-only metafiles (no unnamed $DATA) are left to dissect
    assert len(files) > 20 and slow and all(name.startswith("$") for name in slow)


CLUSTER = 512


def _record(attributes: list[bytes], flags: int = 1) -> SimpleNamespace:
    body = b"".join(attributes) + struct.pack("<I", 0xFFFFFFFF) + b"\0" * 4
    data = b"\0" * 56 + body
    volume = bytes(range(256)) * 64  # 32 clusters of recognisable bytes
    header = SimpleNamespace(Flags=flags, FirstAttributeOffset=56)
    return SimpleNamespace(data=data, header=header, ntfs=SimpleNamespace(fh=io.BytesIO(volume), cluster_size=CLUSTER))


def _resident(value: bytes, type_code: int = 0x80, name_length: int = 0, flags: int = 0) -> bytes:
    length = 24 + len(value) + (-len(value)) % 8
    header = struct.pack("<IIBBHHHIH", type_code, length, 0, name_length, 0, flags, 0, len(value), 24) + b"\0\0"
    return (header + value).ljust(length, b"\0")


def _nonresident(runs: bytes, size: int, clusters: int, flags: int = 0) -> bytes:
    pairs = 64
    length = pairs + len(runs) + (-(pairs + len(runs))) % 8
    header = struct.pack("<IIBBHHH", 0x80, length, 1, 0, 0, flags, 0)
    header += struct.pack("<qqH", 0, clusters - 1, pairs).ljust(24, b"\0")
    header += struct.pack("<qqq", clusters * CLUSTER, size, size)
    return (header.ljust(pairs, b"\0") + runs).ljust(length, b"\0")


def test_resident_data_comes_from_the_record():
    assert plain_data(_record([_resident(b"127.0.0.1 localhost\r\n")])) == b"127.0.0.1 localhost\r\n"


def test_runs_are_read_in_order():
    volume = bytes(range(256)) * 64
    # two runs: 2 clusters at LCN 4, then 1 cluster at LCN 4 - 3 = 1 (a negative delta)
    record = _record([_nonresident(bytes([0x11, 2, 4, 0x11, 1, 0xFD, 0]), 3 * CLUSTER - 100, 3)])
    expected = (volume[4 * CLUSTER : 6 * CLUSTER] + volume[1 * CLUSTER : 2 * CLUSTER])[: 3 * CLUSTER - 100]
    assert plain_data(record) == expected


@pytest.mark.parametrize(
    ("why", "record"),
    [
        ("sparse run", _record([_nonresident(bytes([0x01, 2, 0]), CLUSTER, 2)])),
        ("compressed", _record([_nonresident(bytes([0x11, 1, 4, 0]), CLUSTER, 1, flags=0x0001)])),
        ("extent elsewhere", _record([_nonresident(bytes([0x11, 1, 4, 0]), CLUSTER, 2)])),
        ("attribute list", _record([_resident(b"x" * 8, type_code=0x20), _resident(b"data")])),
        ("reparse point", _record([_resident(b"x" * 8, type_code=0xC0), _resident(b"data")])),
        ("two unnamed streams", _record([_resident(b"a"), _resident(b"b")])),
        ("directory", _record([_resident(b"data")], flags=3)),
        ("not in use", _record([_resident(b"data")], flags=0)),
        ("no unnamed stream", _record([_resident(b"data", name_length=2)])),
        ("value beyond the attribute", _record([_resident(b"data")[:16] + struct.pack("<IH", 99, 24) + b"\0\0" + b"data"])),
    ],
)
def test_anything_else_is_left_to_dissect(why, record):
    assert plain_data(record) is None, why


def test_the_shapes_above_differ_from_a_readable_record_only_in_what_they_name():
    volume = bytes(range(256)) * 64
    assert plain_data(_record([_nonresident(bytes([0x11, 1, 4, 0]), CLUSTER, 1)])) == volume[4 * CLUSTER : 5 * CLUSTER]
    assert plain_data(_record([_resident(b"x" * 8, type_code=0x10), _resident(b"data")])) == b"data"


def _plain(value) -> bool:
    """Only JSON's own types, exactly (a str subclass from dissect cannot cross to another process)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_a_report_from_ntfs_holds_only_plain_values(tmp_path):
    """A fleet worker pickles the report: NTFS names must arrive as plain str, also where the report
    shows a folder name as it is (a profile that ProfileList does not list is named by its folder)."""
    from datetime import date

    from imgscan.context import ScanContext
    from imgscan.loader import load_checks
    from imgscan.scan import scan
    from sample_images.build import build
    from sample_images.scenario import load

    scenario = load("healthy")
    scenario.profiles[0].listed = False
    image = build(scenario, tmp_path, ("vhdx",))["vhdx"]
    report = scan(image, ScanContext(date(2013, 7, 1)), load_checks(None)).report
    names = [h.get("name") for h in report["inventory"]["hives"]]
    assert scenario.profiles[0].name in names and _plain(report)


def _dissect_listing(entry) -> set[tuple[str, int]]:
    from dissect.ntfs.util import segment_reference

    return {(e.name, segment_reference(e.entry.header.FileReference)) for e in entry.scandir()}


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
def test_every_directory_lists_as_dissect_lists_it(image):
    from imgscan.image.ntfs_files import list_directory

    volume = open_disk(image, "vhdx")[0]
    directories = [volume._fs.get("/")]
    compared = 0
    while directories:
        directory = directories.pop()
        mine = list_directory(directory)
        assert mine is not None, directory.path
        assert {(f.name, f.segment) for f in mine} == _dissect_listing(directory), directory.path
        for child in directory.scandir():
            if child.is_dir(follow_symlinks=False) and child.name not in (".", "$Extend"):
                directories.append(child.get())
        compared += 1
    assert compared > 10


def test_a_directory_spread_over_index_buffers_lists_as_dissect_lists_it(tmp_path):
    """700 entries do not fit the index root: they live in INDX buffers of $INDEX_ALLOCATION."""
    from dissect.target.filesystems.ntfs import NtfsFilesystem

    from imgscan.image.ntfs_files import list_directory
    from sample_images.build import ntfs_volume

    tree = tmp_path / "tree" / "Windows" / "servicing" / "Packages"
    tree.mkdir(parents=True)
    for n in range(700):
        (tree / f"Package_{n:03d}_for_KB{2500000 + n}~31bf3856ad364e35~amd64~~6.1.1.0.cat").write_bytes(b"x" * (n % 50))
    (tree / "Ünïcödé name.mum").write_bytes(b"<assembly/>")
    image = tmp_path / "volume.ntfs"
    ntfs_volume(tmp_path / "tree", image, 32 * 1024 * 1024, "Windows", 0, tmp_path)
    with image.open("rb") as fh:
        directory = NtfsFilesystem(fh).get("Windows/servicing/Packages")
        assert directory.entry.open("$I30", 0xA0).read()[:4] == b"INDX"  # really spread over buffers
        mine = list_directory(directory)
        assert mine is not None and len(mine) == 701
        assert {(f.name, f.segment) for f in mine} == _dissect_listing(directory)
        for indexed in mine[:50]:
            assert open_plain(indexed).read() == indexed.get().open().read()


def test_index_buffers_of_zero_bytes_make_the_directory_unreadable_not_endless():
    """dissect's Index would read 0-byte buffers forever (each is 'not INDX', the next one too): the
    fast reader reports the directory unreadable instead of handing it over."""
    from imgscan.image.ntfs_files import UnreadableIndex, list_directory

    end = struct.pack("<QHHHH", 0, 16, 0, 2, 0)
    root = struct.pack("<IIIB3x", 0x30, 1, 0, 1) + struct.pack("<IIIB3x", 16, 32, 32, 1) + end
    streams = {0x90: root, 0xA0: b"INDX" + b"\0" * 4092}
    record = SimpleNamespace(ntfs=SimpleNamespace(cluster_size=4096), open=lambda name, kind: io.BytesIO(streams[kind]))
    with pytest.raises(UnreadableIndex):
        list_directory(SimpleNamespace(entry=record))
    streams[0x90], streams[0xA0] = root[:8] + struct.pack("<I", 4096) + root[12:], b"\0" * 4096
    assert list_directory(SimpleNamespace(entry=record)) == []  # with 4 KiB buffers (none in use) it lists
