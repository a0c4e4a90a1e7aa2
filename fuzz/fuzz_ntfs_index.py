"""The fast directory listing (`imgscan.image.ntfs_files.list_directory`, which reads $I30's index root
and INDX buffers with struct) against dissect.ntfs' `Index` on the same streams.

Input: 2 bytes (little-endian) giving the length of the $INDEX_ROOT value, that value, then the
$INDEX_ALLOCATION stream (none when empty).

Contract (list_directory's docstring):
- returns a list of IndexedFile or None, or raises one of `LISTING_ERRORS` (the caller then lists the
  directory with dissect);
- differential: when it returns a listing and dissect lists the same index, both list the same
  (name, file record number) entries in the same order (dissect.target's scandir: no DOS names, no ".");
- 1 GB and 10 s per input at most.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from fuzz.engine import Limits, fuzz, instrumented
from fuzz.ntfs import Volume, ntfs, samples

with instrumented(__name__):
    from imgscan.image.ntfs_files import LISTING_ERRORS, list_directory

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=1500)


class _Directory:
    """What list_directory and dissect's Index read of a directory: its record's $I30 streams."""

    def __init__(self, root: bytes, allocation: bytes) -> None:
        self.ntfs = ntfs(Volume())
        self._streams = {0x90: root, 0xA0: allocation}

    def open(self, name: str, attr_type: int) -> io.BytesIO:
        from dissect.ntfs.exceptions import FileNotFoundError as NoStream

        data = self._streams.get(int(attr_type)) if name == "$I30" else None
        if not data and attr_type != 0x90:
            raise NoStream(f"no {name} stream {attr_type}")
        return io.BytesIO(data or b"")


def _reference(record: _Directory) -> list[tuple[str, int]] | None:
    """dissect.target's listing of the index (scandir without DOS names and '.'), or None when dissect
    cannot list it."""
    from dissect.ntfs.c_ntfs import FILE_NAME_DOS
    from dissect.ntfs.index import Index
    from dissect.ntfs.util import segment_reference

    try:
        return [
            (e.attribute.file_name, segment_reference(e.header.FileReference))
            for e in Index(record, "$I30").entries()
            if e.attribute.flags != FILE_NAME_DOS and e.attribute.file_name != "."
        ]
    except Exception:  # noqa: BLE001 - any failure of the reference means there is nothing to compare
        return None


def check(data: bytes) -> None:
    if len(data) < 2:
        return
    size = int.from_bytes(data[:2], "little")
    root, allocation = data[2 : 2 + size], data[2 + size :]
    record = _Directory(root, allocation)
    directory: Any = SimpleNamespace(entry=record)
    try:
        listing = list_directory(directory)
    except LISTING_ERRORS:
        return
    if listing is None:
        return
    mine = [(f.name, f.segment) for f in listing]
    assert all(isinstance(name, str) and isinstance(segment, int) for name, segment in mine)
    reference = _reference(_Directory(root, allocation))
    assert reference is None or reference == mine, f"fast listing {mine[:5]}..., dissect {reference[:5]}..."


def seeds() -> Iterator[bytes]:
    for root, allocation in samples()[1]:
        yield len(root).to_bytes(2, "little") + root + allocation


if __name__ == "__main__":
    fuzz(check, LIMITS)
