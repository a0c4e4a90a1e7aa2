"""Write Windows registry hive files (regf) for the sample images.

Only what sample hives need: one hive bin, keys with compressed (Latin-1)
names, `lh` subkey lists, values of the common types, one shared security
cell, and a valid base-block checksum. The layout follows libregf's
"Windows NT Registry File (REGF) format" document; every hive written here is
read back by independent readers (hivexsh, reglookup) in the tests, so a
mistake here cannot hide behind imgscan's own reader.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone

from construct import Bytes, Const, Int16ul, Int32ul, Int64ul, PaddedString, Struct

REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_MULTI_SZ = 7
REG_QWORD = 11

NO_CELL = 0xFFFFFFFF
BASE_BLOCK_SIZE = 4096
HBIN_HEADER_SIZE = 32
MAX_INLINE_DATA = 16344  # larger values need "db" big-data cells, which samples never use

BaseBlock = Struct(
    "signature" / Const(b"regf"),
    "primary_sequence" / Int32ul,
    "secondary_sequence" / Int32ul,
    "last_written" / Int64ul,
    "major_version" / Int32ul,
    "minor_version" / Int32ul,
    "file_type" / Int32ul,
    "file_format" / Int32ul,
    "root_cell_offset" / Int32ul,
    "hive_bins_data_size" / Int32ul,
    "clustering_factor" / Int32ul,
    "file_name" / PaddedString(64, "utf-16-le"),
    "reserved" / Bytes(396),
    "checksum" / Int32ul,
)

HbinHeader = Struct(
    "signature" / Const(b"hbin"),
    "offset" / Int32ul,
    "size" / Int32ul,
    "reserved" / Bytes(8),
    "timestamp" / Int64ul,
    "spare" / Int32ul,
)

KeyNode = Struct(
    "signature" / Const(b"nk"),
    "flags" / Int16ul,
    "last_written" / Int64ul,
    "access_bits" / Int32ul,
    "parent" / Int32ul,
    "subkey_count" / Int32ul,
    "volatile_subkey_count" / Int32ul,
    "subkey_list" / Int32ul,
    "volatile_subkey_list" / Int32ul,
    "value_count" / Int32ul,
    "value_list" / Int32ul,
    "security" / Int32ul,
    "class_name" / Int32ul,
    "largest_subkey_name" / Int32ul,
    "largest_subkey_class" / Int32ul,
    "largest_value_name" / Int32ul,
    "largest_value_data" / Int32ul,
    "work_var" / Int32ul,
    "name_length" / Int16ul,
    "class_name_length" / Int16ul,
)

ValueKey = Struct(
    "signature" / Const(b"vk"),
    "name_length" / Int16ul,
    "data_size" / Int32ul,
    "data_offset" / Int32ul,
    "data_type" / Int32ul,
    "flags" / Int16ul,
    "spare" / Int16ul,
)

SecurityKey = Struct(
    "signature" / Const(b"sk"),
    "reserved" / Int16ul,
    "flink" / Int32ul,
    "blink" / Int32ul,
    "reference_count" / Int32ul,
    "descriptor_size" / Int32ul,
)

KEY_HIVE_ENTRY = 0x0004
KEY_NO_DELETE = 0x0008
KEY_COMP_NAME = 0x0020
VALUE_COMP_NAME = 0x0001

# Self-relative security descriptor: owner BUILTIN\Administrators, group SYSTEM, no DACL.
_SID_ADMINS = bytes([1, 2, 0, 0, 0, 0, 0, 5]) + struct.pack("<II", 32, 544)
_SID_SYSTEM = bytes([1, 1, 0, 0, 0, 0, 0, 5]) + struct.pack("<I", 18)
SECURITY_DESCRIPTOR = struct.pack("<BBHIIII", 1, 0, 0x8000, 20, 20 + len(_SID_ADMINS), 0, 0) + _SID_ADMINS + _SID_SYSTEM


def filetime(moment: datetime) -> int:
    """FILETIME (100 ns ticks since 1601-01-01 UTC) of an aware datetime."""
    epoch = datetime(1601, 1, 1, tzinfo=timezone.utc)
    delta = moment - epoch
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


@dataclass
class Value:
    """One registry value; `data` is already in its on-disk byte form."""

    name: str
    type: int
    data: bytes

    @classmethod
    def dword(cls, name: str, number: int) -> Value:
        return cls(name, REG_DWORD, struct.pack("<I", number))

    @classmethod
    def string(cls, name: str, text: str, *, expand: bool = False) -> Value:
        return cls(name, REG_EXPAND_SZ if expand else REG_SZ, (text + "\0").encode("utf-16-le"))

    @classmethod
    def binary(cls, name: str, data: bytes) -> Value:
        return cls(name, REG_BINARY, data)


@dataclass
class Key:
    """A registry key with its values and subkeys."""

    name: str
    values: list[Value] = field(default_factory=list)
    subkeys: list[Key] = field(default_factory=list)

    def path(self, path: str) -> Key:
        """Return the descendant at backslash-separated `path`, creating missing keys."""
        key = self
        for part in filter(None, path.split("\\")):
            found = next((k for k in key.subkeys if k.name.lower() == part.lower()), None)
            if found is None:
                found = Key(part)
                key.subkeys.append(found)
            key = found
        return key

    def set(self, path: str, value: Value) -> Key:
        """Set `value` on the key at `path` (replacing a value of the same name)."""
        key = self.path(path)
        key.values = [v for v in key.values if v.name.lower() != value.name.lower()] + [value]
        return key


def _lh_hash(name: str) -> int:
    result = 0
    for char in name.upper():
        result = (result * 37 + ord(char)) & 0xFFFFFFFF
    return result


class _CellHeap:
    """Allocates cells in one hive bin; offsets are relative to the first bin."""

    def __init__(self) -> None:
        self.data = bytearray()

    def allocate(self, payload: bytes) -> int:
        offset = HBIN_HEADER_SIZE + len(self.data)
        size = (4 + len(payload) + 7) & ~7
        self.data += struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload))
        return offset

    def patch(self, offset: int, payload: bytes) -> None:
        start = offset - HBIN_HEADER_SIZE + 4
        self.data[start : start + len(payload)] = payload


def _write_key(heap: _CellHeap, key: Key, parent: int, security: int, stamp: int, root: bool) -> int:
    name = key.name.encode("latin-1")
    placeholder = bytes(KeyNode.sizeof() + len(name))
    offset = heap.allocate(placeholder)

    value_offsets = []
    for value in key.values:
        value_offsets.append(_write_value(heap, value))
    value_list = heap.allocate(struct.pack(f"<{len(value_offsets)}I", *value_offsets)) if value_offsets else NO_CELL

    children = sorted(key.subkeys, key=lambda k: k.name.upper())
    child_offsets = [_write_key(heap, child, offset, security, stamp, False) for child in children]
    subkey_list = NO_CELL
    if children:
        entries = b"".join(struct.pack("<II", o, _lh_hash(c.name)) for o, c in zip(child_offsets, children, strict=True))
        subkey_list = heap.allocate(b"lh" + struct.pack("<H", len(children)) + entries)

    node = KeyNode.build(
        dict(
            flags=(KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME) if root else KEY_COMP_NAME,
            last_written=stamp,
            access_bits=0,
            parent=parent,
            subkey_count=len(children),
            volatile_subkey_count=0,
            subkey_list=subkey_list,
            volatile_subkey_list=NO_CELL,
            value_count=len(value_offsets),
            value_list=value_list,
            security=security,
            class_name=NO_CELL,
            largest_subkey_name=max((len(c.name) * 2 for c in children), default=0),
            largest_subkey_class=0,
            largest_value_name=max((len(v.name) * 2 for v in key.values), default=0),
            largest_value_data=max((len(v.data) for v in key.values), default=0),
            work_var=0,
            name_length=len(name),
            class_name_length=0,
        )
    )
    heap.patch(offset, node + name)
    return offset


def _write_value(heap: _CellHeap, value: Value) -> int:
    if len(value.data) > MAX_INLINE_DATA:
        raise ValueError(f"value {value.name!r}: {len(value.data)} bytes needs big-data cells (not supported)")
    if len(value.data) <= 4:
        data_size = 0x80000000 | len(value.data)
        data_offset = int.from_bytes(value.data.ljust(4, b"\0"), "little")
    else:
        data_size = len(value.data)
        data_offset = heap.allocate(value.data)
    name = value.name.encode("latin-1")
    record = ValueKey.build(
        dict(
            name_length=len(name),
            data_size=data_size,
            data_offset=data_offset,
            data_type=value.type,
            flags=VALUE_COMP_NAME if name else 0,
            spare=0,
        )
    )
    return heap.allocate(record + name)


def build_hive(root: Key, file_name: str, written: datetime, *, dirty: bool = False) -> bytes:
    """Serialise `root` into a complete hive file.

    `dirty` leaves the secondary sequence number behind the primary one, as
    Windows does while a write is in flight: the state a hive is captured in
    when a machine is imaged without a clean shutdown.
    """
    stamp = filetime(written)
    heap = _CellHeap()
    security = heap.allocate(bytes(SecurityKey.sizeof() + len(SECURITY_DESCRIPTOR)))
    root_offset = _write_key(heap, root, NO_CELL, security, stamp, True)
    heap.patch(
        security,
        SecurityKey.build(
            dict(
                reserved=0,
                flink=security,
                blink=security,
                reference_count=_count_keys(root),
                descriptor_size=len(SECURITY_DESCRIPTOR),
            )
        )
        + SECURITY_DESCRIPTOR,
    )

    used = HBIN_HEADER_SIZE + len(heap.data)
    bin_size = (used + 4095) // 4096 * 4096
    free = bin_size - used
    cells = bytes(heap.data) + (struct.pack("<i", free) + bytes(free - 4) if free else b"")
    hbin = HbinHeader.build(dict(offset=0, size=bin_size, reserved=bytes(8), timestamp=stamp, spare=0)) + cells

    sequence = 7
    fields = dict(
        primary_sequence=sequence,
        secondary_sequence=sequence - 1 if dirty else sequence,
        last_written=stamp,
        major_version=1,
        minor_version=5,
        file_type=0,
        file_format=1,
        root_cell_offset=root_offset,
        hive_bins_data_size=bin_size,
        clustering_factor=1,
        file_name=file_name[-31:],
        reserved=bytes(396),
        checksum=0,
    )
    head = BaseBlock.build(fields)
    fields["checksum"] = _checksum(head[:508])
    base = BaseBlock.build(fields).ljust(BASE_BLOCK_SIZE, b"\0")
    return base + hbin


def _checksum(head: bytes) -> int:
    result = 0
    for (word,) in struct.iter_unpack("<I", head):
        result ^= word
    if result == 0xFFFFFFFF:
        return 0xFFFFFFFE
    return result or 1


def _count_keys(key: Key) -> int:
    return 1 + sum(_count_keys(child) for child in key.subkeys)
