"""Hostile and broken WIMs for the tests, made by patching an uncompressed WIM that wimlib captured.

With `--compress=none` the metadata resource (the directory tree) and the file
data are stored as plain bytes, so a test can rename an entry to `..`, give two
entries the same name, or flip a byte of a file: the patch is made in place and,
for the metadata, its SHA-1 in the blob table is recomputed, so that wimlib
reads the tree and meets exactly the defect under test. Layout from wimlib's
"WIM file format" notes: a 208-byte header whose blob table reshdr sits at
offset 48; blob table entries of 50 bytes (reshdr 24, part number 2, refcount
4, SHA-1 20); flag 0x02 marks the metadata resource.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
from pathlib import Path

HEADER_BLOB_TABLE = 48
ENTRY_SIZE = 50
FLAG_METADATA = 0x02
DENTRY_NAME_OFFSET = 102  # fixed part of an on-disk directory entry; subdir_offset at +16


def _reshdr(data: bytes, offset: int) -> tuple[int, int, int, int]:
    """(stored size, flags, offset, original size) of a 24-byte resource header."""
    size_and_flags, where, original = struct.unpack_from("<QQQ", data, offset)
    return size_and_flags & 0x00FFFFFFFFFFFFFF, size_and_flags >> 56, where, original


def _metadata_entry(data: bytes) -> int:
    """File offset of the blob table entry of the (single image's) metadata resource."""
    size, _, table, _ = _reshdr(data, HEADER_BLOB_TABLE)
    for entry in range(table, table + size, ENTRY_SIZE):
        if _reshdr(data, entry)[1] & FLAG_METADATA:
            return entry
    raise ValueError("no metadata resource in the blob table")


def capture_uncompressed(tree: Path, out: Path) -> None:
    subprocess.run(
        ["wimlib-imagex", "capture", str(tree), str(out), "hostile", "--compress=none"], check=True, capture_output=True
    )


def _patch_metadata(wim: Path, patch: object) -> None:
    """Apply `patch(metadata: bytearray)` to the metadata resource and fix its SHA-1."""
    data = bytearray(wim.read_bytes())
    entry = _metadata_entry(data)
    size, _, where, _ = _reshdr(data, entry)
    metadata = bytearray(data[where : where + size])
    patch(metadata)  # type: ignore[operator]
    data[where : where + size] = metadata
    data[entry + 30 : entry + 50] = hashlib.sha1(metadata).digest()
    wim.write_bytes(bytes(data))


def _dentry(metadata: bytearray, name: str) -> int:
    """Offset of the directory entry called `name` (its name_nbytes field must match)."""
    needle = name.encode("utf-16-le")
    position = metadata.index(needle)
    while struct.unpack_from("<H", metadata, position - 2)[0] != len(needle):
        position = metadata.index(needle, position + 1)
    return position - DENTRY_NAME_OFFSET


def make_cycle(wim: Path, child: str, ancestor: str) -> None:
    """Point directory `child`'s subdirectory list at `ancestor`'s: a tree that contains itself."""

    def patch(metadata: bytearray) -> None:
        children = struct.unpack_from("<Q", metadata, _dentry(metadata, ancestor) + 16)[0]
        struct.pack_into("<Q", metadata, _dentry(metadata, child) + 16, children)

    _patch_metadata(wim, patch)


def rename_entry(wim: Path, old: str, new: str, occurrence: int = 0) -> None:
    """Rename a directory entry in place (`new` must be as long as `old`) and fix the metadata hash."""
    if len(old) != len(new):
        raise ValueError("in-place rename needs names of equal length")

    def patch(metadata: bytearray) -> None:
        needle = old.encode("utf-16-le")
        position = -1
        for _ in range(occurrence + 1):
            position = metadata.index(needle, position + 1)
        metadata[position : position + len(needle)] = new.encode("utf-16-le")

    _patch_metadata(wim, patch)


def corrupt_content(wim: Path, content: bytes) -> None:
    """Flip one byte of a stored file's data, leaving its recorded SHA-1 as it was."""
    data = bytearray(wim.read_bytes())
    position = data.index(content)
    data[position] ^= 0xFF
    wim.write_bytes(bytes(data))
