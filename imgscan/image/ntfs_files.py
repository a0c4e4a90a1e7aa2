"""Reading thousands of small NTFS files at the speed of the disk: a plain file's data straight from its
MFT record.

dissect.ntfs decodes every attribute header of a record through cstruct before it can open a stream
(`MftRecord.attributes`), and dissect.target asks for them again to rule out a reparse point: about
1 ms per catalog, 24% of a 20,000-catalog scan. Most files in the catalog folders are plain: one
unnamed `$DATA` attribute, resident or in a single run list held in the record, not compressed,
encrypted or sparse, no attribute list, no reparse point (the directory index already says so). For
those this module reads the attribute headers with `struct` from the record's bytes (already fixed up
by dissect) and the clusters from dissect's volume stream. Anything else returns None and the caller
takes dissect's general path, so what is read never differs; tests compare both on every file of the
sample images.

A file listed by the fast directory reader below is read without a dissect record at all: its
1 KiB FILE record comes from dissect's $MFT stream, the update sequence (fixups) is applied and the
record header read here with `struct` (dissect's `MftRecord.from_bytes` parses that header with
cstruct: half of what reading a catalog cost). A record dissect would refuse (no FILE signature,
fixups out of range or not matching), an extension record, or one whose update sequence array
reaches a sector's last bytes is left to dissect's `Mft.get`, which reads or refuses it as before.

This is the part of `MftRecord.open` that a faster upstream `AttributeHeader` would make unnecessary;
it uses dissect.ntfs's public record, index and volume objects, and the NTFS object's record size.
"""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING, Any, BinaryIO

from dissect.ntfs.util import varint

if TYPE_CHECKING:
    from dissect.ntfs.mft import MftRecord

END = 0xFFFFFFFF
ATTRIBUTE_LIST = 0x20
DATA = 0x80
REPARSE_POINT = 0xC0
NOT_PLAIN = 0x0001 | 0x4000 | 0x8000  # compressed, encrypted, sparse
RESIDENT_HEADER, NONRESIDENT_HEADER = 24, 64  # an attribute's header up to its value / its data runs
RECORD_IN_USE, RECORD_IS_DIRECTORY = 0x0001, 0x0002
SECTOR = 512  # the unit of the update sequence (and of index buffers smaller than a cluster)
RECORD_HEADER = 42  # FILE_RECORD_SEGMENT_HEADER, up to NextAttributeInstance
# what the readers below may raise on a damaged record or index (besides dissect's own errors): the
# volume then reads the file, or lists the directory, through dissect, which says what is wrong
RECORD_ERRORS = (OSError, ValueError, EOFError)
LISTING_ERRORS = (OSError, ValueError, EOFError, struct.error, KeyError)


def open_plain(dir_entry: object) -> BinaryIO | None:
    """The data of the file a dissect NTFS directory entry names, when it is a plain file (see module
    docstring); None for anything else, or for a directory entry of another file system."""
    if isinstance(dir_entry, IndexedFile):
        data = read_plain(dir_entry.ntfs, dir_entry.segment) if dir_entry.plain() else None
        return io.BytesIO(data) if data is not None else None
    index_entry = getattr(dir_entry, "entry", None)
    if index_entry is None or not hasattr(index_entry, "dereference"):
        return None
    name = index_entry.attribute
    if name.is_dir() or name.is_symlink() or name.is_mount_point():
        return None
    data = plain_data(index_entry.dereference())
    return io.BytesIO(data) if data is not None else None


def plain_data(record: MftRecord) -> bytes | None:
    """The unnamed data stream of a plain file's record (see module docstring), or None for any other
    record: the caller then reads it through dissect. May raise one of RECORD_ERRORS on a damaged
    record. When dissect's general path can read the record, this reads the same bytes or returns
    None (fuzz/fuzz_ntfs_record.py checks it), and it never asks the volume for more than the file's
    size, whatever the run list claims."""
    raw = record.data
    if raw is None or record.header is None:
        return None
    return _plain(raw, record.header.FirstAttributeOffset, record.header.Flags, record.ntfs)


def read_plain(ntfs: Any, segment: int) -> bytes | None:
    """The unnamed data stream of file record `segment` of a dissect NTFS volume when it is a plain
    file, read without a dissect record (see module docstring); None when it is not plain, or when its
    record is one dissect reads or refuses itself (the caller then asks dissect's `Mft.get`). May raise
    one of RECORD_ERRORS. Reads the same bytes as dissect (tests/test_ntfs_records.py compares every
    record of the sample images; fuzz/fuzz_ntfs_record.py damaged ones)."""
    mft, size = getattr(ntfs, "mft", None), getattr(ntfs, "_record_size", None)
    if mft is None or not isinstance(size, int):
        return None
    mft.fh.seek(segment * size)
    raw = mft.fh.read(size)
    return record_data(raw, ntfs) if len(raw) == size else None


def record_data(raw: bytes, ntfs: Any) -> bytes | None:
    """`read_plain` of a FILE record's bytes as they lie in the $MFT (update sequence not applied)."""
    fixed = fixed_up(raw)
    if fixed is None:
        return None
    first, flags = struct.unpack_from("<HH", fixed, 20)
    if struct.unpack_from("<Q", fixed, 32)[0]:
        return None  # an extension record: part of another file's attributes
    return _plain(fixed, first, flags, ntfs)


def fixed_up(raw: bytes) -> bytes | None:
    """A FILE record with its update sequence applied, the same bytes as dissect's `apply_fixup`
    gives, or None where dissect refuses the record (no FILE signature, an array out of range, a
    sector whose last two bytes do not match the sequence number: a torn write) or reads the array
    in a way not copied here (an array reaching the first sector's last two bytes, which dissect
    overwrites while reading it)."""
    sectors = len(raw) >> 9
    if raw[:4] != b"FILE" or len(raw) < RECORD_HEADER or not sectors:
        return None
    (array,) = struct.unpack_from("<H", raw, 4)
    if array & 1 or array + 2 * (sectors + 1) > SECTOR - 2:
        return None
    number = raw[array : array + 2]
    parts: list[bytes] = []
    start = 0
    for n in range(sectors):
        end = n * SECTOR + SECTOR - 2
        if raw[end : end + 2] != number:
            return None
        parts += (raw[start:end], raw[array + 2 + 2 * n : array + 4 + 2 * n])
        start = end + 2
    parts.append(raw[start:])
    return b"".join(parts)


def _plain(raw: bytes, offset: int, flags: int, ntfs: Any) -> bytes | None:
    """plain_data of a fixed-up record's bytes, its first attribute's offset and its flags."""
    if not flags & RECORD_IN_USE or flags & RECORD_IS_DIRECTORY:
        return None
    found = None
    while offset + 16 <= len(raw):
        type_code, length = struct.unpack_from("<II", raw, offset)
        if type_code == END:
            break
        if length < 16 or offset + length > len(raw) or type_code in (ATTRIBUTE_LIST, REPARSE_POINT):
            return None
        if type_code == DATA and raw[offset + 9] == 0:  # the unnamed stream
            if found is not None or struct.unpack_from("<H", raw, offset + 12)[0] & NOT_PLAIN:
                return None
            found = (offset, length)
        offset += length
    if found is None:
        return None
    start, length = found
    if length < (RESIDENT_HEADER if raw[start + 8] == 0 else NONRESIDENT_HEADER):
        return None
    if raw[start + 8] == 0:  # resident: the value is in the record
        size, value_offset = struct.unpack_from("<IH", raw, start + 16)
        if value_offset + size > length:
            return None
        return raw[start + value_offset : start + value_offset + size]
    return _nonresident(ntfs, raw[start : start + length])


def _nonresident(ntfs: Any, attribute: bytes) -> bytes | None:
    lowest, highest = struct.unpack_from("<qq", attribute, 16)
    (pairs,) = struct.unpack_from("<H", attribute, 32)
    size = struct.unpack_from("<q", attribute, 48)[0]
    runs = _runs(attribute, pairs)
    if lowest != 0 or runs is None or ntfs is None or sum(count for _, count in runs) != highest + 1:
        return None  # an extent in another record, or a broken run list: dissect's general path
    cluster = ntfs.cluster_size
    if not 0 <= size <= (highest + 1) * cluster:
        return None  # more data than the runs allocate
    chunks = []
    remaining = size
    for lcn, count in runs:
        if remaining <= 0:
            break
        wanted = min(count * cluster, remaining)  # the clusters past the file's end are not read
        ntfs.fh.seek(lcn * cluster)
        chunk = ntfs.fh.read(wanted)
        if len(chunk) < wanted:
            return None  # a run beyond the volume's end
        chunks.append(chunk)
        remaining -= wanted
    return b"".join(chunks)


def implausible(record: Any) -> str | None:
    """Why a dissect.ntfs record's attributes cannot be what they claim, in words, or None. dissect
    sizes its buffers and run tables from those claims as soon as it parses a record's attributes
    (`MftRecord.attributes`, which dissect.target asks for to rule out a link): a hostile record made
    it allocate gigabytes. So the attribute headers are read here first, with struct: a non-resident
    attribute may not claim more bytes or clusters than the whole volume holds, and a compressed one
    must use NTFS' compression unit (16 clusters)."""
    raw, ntfs, header = getattr(record, "data", None), getattr(record, "ntfs", None), getattr(record, "header", None)
    if raw is None or ntfs is None or header is None:
        return None
    volume = ntfs.fh.seek(0, io.SEEK_END)
    offset = header.FirstAttributeOffset
    while offset + 16 <= len(raw):
        type_code, length = struct.unpack_from("<II", raw, offset)
        if type_code == END or length < 16 or offset + length > len(raw):
            return None  # the end, or damage dissect reports itself
        if raw[offset + 8] and length >= NONRESIDENT_HEADER:
            (pairs,) = struct.unpack_from("<H", raw, offset + 32)
            claims = [
                *struct.unpack_from("<qqq", raw, offset + 40),
                _clusters(raw[offset : offset + length], pairs) * ntfs.cluster_size,
            ]
            if max(claims) > volume or min(claims) < 0:
                return f"attribute 0x{type_code:x} claims {max(claims, key=abs)} bytes, the volume holds {volume}"
            compression = raw[offset + 34]
            if struct.unpack_from("<H", raw, offset + 12)[0] & 0x00FF and compression != 4:
                return f"attribute 0x{type_code:x} has a compression unit of {compression} (NTFS uses 4)"
        offset += length
    return None


def _clusters(attribute: bytes, offset: int) -> int:
    """How many clusters a mapping-pairs array claims, sparse runs included (as far as it can be read)."""
    total = 0
    while 0 <= offset < len(attribute) and attribute[offset]:
        size_length, offset_length = attribute[offset] & 0xF, attribute[offset] >> 4
        total += max(varint(attribute[offset + 1 : offset + 1 + size_length]), 0) if 1 <= size_length <= 8 else 0
        offset += 1 + size_length + offset_length
    return total


def _runs(attribute: bytes, offset: int) -> list[tuple[int, int]] | None:
    """(first cluster, cluster count) of each run of a mapping-pairs array. None (dissect then reads
    the file) for a sparse run, a count or cluster that is not positive, or an array whose closing 0
    byte is not inside the attribute; otherwise dissect reads the same runs (fuzz/fuzz_ntfs_runs.py)."""
    runs: list[tuple[int, int]] = []
    lcn = 0
    while offset < len(attribute):
        header = attribute[offset]
        if not header:
            return runs
        size_length, offset_length = header & 0xF, header >> 4
        if not (1 <= size_length <= 8 and 1 <= offset_length <= 8) or offset + 1 + size_length + offset_length > len(attribute):
            return None
        count = varint(attribute[offset + 1 : offset + 1 + size_length])
        lcn += varint(attribute[offset + 1 + size_length : offset + 1 + size_length + offset_length])
        if count <= 0 or lcn < 0:
            return None
        runs.append((lcn, count))
        offset += 1 + size_length + offset_length
    return None


# --- directory listings -------------------------------------------------------------------------
# Listing a directory through dissect parses every index entry and its $FILE_NAME key with cstruct
# (about 0.2 ms per entry: 4 s for a 20,000-entry servicing\Packages). The entries are read here
# with struct from the same $INDEX_ROOT and $INDEX_ALLOCATION streams, visiting them as dissect's
# Index.entries() does (the root, then every INDX buffer in order, skipping ones that are not INDX),
# and leaving DOS-only names out as dissect.target's scandir does. Tests compare both listings.

INDEX_ROOT, INDEX_ALLOCATION = 0x90, 0xA0
FILE_NAME = 0x30  # the attribute a directory index is keyed on
ENTRY_NODE, ENTRY_END = 0x01, 0x02
NAMESPACE_DOS = 2
FILE_NAME_INDEX_PRESENT = 0x10000000  # the $FILE_NAME flag of a directory
FILE_ATTRIBUTE_REPARSE_POINT = 0x400


class IndexedFile:
    """A directory entry read from the index: its name, file record number and $FILE_NAME flags."""

    __slots__ = ("flags", "name", "ntfs", "parent", "segment")

    def __init__(self, parent: Any, name: str, segment: int, flags: int) -> None:
        self.parent = parent  # the dissect.target FilesystemEntry of the directory
        self.name = name
        self.segment = segment
        self.flags = flags
        self.ntfs = parent.entry.ntfs

    def get(self) -> Any:
        """The dissect.target entry, as NtfsDirEntry.get() would return it."""
        from dissect.target.filesystems.ntfs import NtfsFilesystemEntry
        from dissect.target.helpers import fsutil

        path = fsutil.join(self.parent.path, self.name, alt_separator=self.parent.fs.alt_separator)
        return NtfsFilesystemEntry(self.parent.fs, path, self.record())

    def record(self) -> Any:
        """Its file record. A damaged one (bad signature or fixups) is dissect's FilesystemError: the file
        is listed, but cannot be read."""
        from dissect.ntfs.exceptions import Error as NtfsError
        from dissect.target.exceptions import FilesystemError

        try:
            return self.ntfs.mft.get(self.segment)
        except NtfsError as exc:
            raise FilesystemError(f"damaged file record: {exc}") from exc

    def plain(self) -> bool:
        return not self.flags & (FILE_NAME_INDEX_PRESENT | FILE_ATTRIBUTE_REPARSE_POINT)


class UnreadableIndex(OSError):
    """An index no reader can list: dissect's would not end (an allocation of 0-byte index buffers)."""


def list_directory(directory: Any) -> list[IndexedFile] | None:
    """The entries of a dissect.target NTFS directory entry, or None for anything else (a directory
    of another file system, or an index this reader does not follow: dissect lists those). May raise
    one of LISTING_ERRORS on a damaged index, or UnreadableIndex. When dissect can list the index,
    this lists the same entries in the same order or returns None (fuzz/fuzz_ntfs_index.py checks it):
    every shape where dissect reads otherwise (entries before the root's header end, an entry without
    a whole file name key, no end entry inside the declared size) is left to dissect."""
    record = getattr(directory, "entry", None)
    if record is None or getattr(record, "ntfs", None) is None or not hasattr(record, "open"):
        return None
    root = record.open("$I30", INDEX_ROOT).read()
    if len(root) < 32:
        return None
    indexed, _, block_size = struct.unpack_from("<III", root, 0)
    entries_offset, entries_size = struct.unpack_from("<II", root, 16)
    if indexed != FILE_NAME or entries_offset != 16:
        return None  # dissect reads the root's entries from byte 32, whatever the header says
    found = _entries(directory, root, 32, 16 + entries_size)
    if found is None:
        return None
    try:
        allocation = record.open("$I30", INDEX_ALLOCATION).read()
    except (FileNotFoundError, KeyError):
        return found
    if not allocation:
        return found
    if block_size == 0:
        raise UnreadableIndex("$I30 index buffers are 0 bytes long")
    from dissect.ntfs.util import apply_fixup

    # dissect reads a buffer at every cluster (or sector, for buffers smaller than a cluster)
    step = record.ntfs.cluster_size if record.ntfs.cluster_size <= block_size else SECTOR
    for start in range(0, len(allocation) - block_size + 1, step):
        block = allocation[start : start + block_size]
        if block[:4] != b"INDX":
            continue
        block = apply_fixup(block)
        entries_offset, entries_size = struct.unpack_from("<II", block, 24)
        more = _entries(directory, block, 24 + entries_offset, 24 + entries_size)
        if more is None:
            return None
        found += more
    return found


def _entries(directory: Any, data: bytes, offset: int, end: int) -> list[IndexedFile] | None:
    """The entries from `offset` up to the end entry, which must come before `end`; None for an entry
    dissect reads another way."""
    found: list[IndexedFile] = []
    end = min(end, len(data))
    while offset + 16 <= end:
        reference, length, key_length, flags = struct.unpack_from("<QHHH", data, offset)
        if flags & ENTRY_END or length == 0:
            return found
        key = offset + 16
        if length < 16 + 0x42 or offset + length > end or not 0x42 <= key_length <= length - 16:
            return None
        name_length, namespace = data[key + 0x40], data[key + 0x41]
        if 0x42 + 2 * name_length > key_length:
            return None
        if namespace != NAMESPACE_DOS:
            name = data[key + 0x42 : key + 0x42 + 2 * name_length].decode("utf-16-le", "surrogatepass")
            if name != ".":
                file_flags = struct.unpack_from("<I", data, key + 0x38)[0]
                found.append(IndexedFile(directory, name, reference & 0xFFFFFFFFFFFF, file_flags))
        offset += length
    return None
