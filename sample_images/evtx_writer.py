"""Write small but real .evtx files: one chunk, records as template instances, as Windows writes them.

Layout after libyal's "Windows XML Event Log (EVTX)" document and [MS-EVEN6]:
file header (4096 bytes, CRC32), chunk header (512 bytes: CRC32 of the header and
of the records), records (`**\\0\\0`, size, id, FILETIME, BinXml, size again). Each
record's BinXml is a fragment header and a template instance whose template
definition follows inline (element tree with substitution tokens), then the
typed substitution values. The tests read these files with dissect.eventlog and
with python-evtx, independently.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

FILE_HEADER = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER = 512
RECORDS_START = CHUNK_HEADER

STRING, UINT8, UINT16, UINT64, FILETIME = 0x01, 0x04, 0x06, 0x0A, 0x11


@dataclass
class Event:
    provider: str
    event_id: int
    level: int
    time: datetime  # naive = UTC
    record_id: int
    channel: str
    computer: str
    data: dict[str, str] = field(default_factory=dict)


def _filetime(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    delta = aware - datetime(1601, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _name_hash(name: str) -> int:
    value = 0
    for char in name:
        value = (value * 65599 + ord(char)) & 0xFFFFFFFF
    return value & 0xFFFF


class _Template:
    """Builds a template's element tree; names are written inline, at chunk offsets."""

    def __init__(self, base: int) -> None:
        self.base = base  # chunk offset of the first byte this builder writes
        self.out = bytearray()

    def _name(self, name: str) -> None:
        here = self.base + len(self.out) + 4
        self.out += struct.pack("<IIHH", here, 0, _name_hash(name), len(name)) + name.encode("utf-16-le") + b"\0\0"

    def element(
        self, name: str, attributes: list[tuple[str, object]] = (), content: object = None, children: list[object] = ()
    ) -> None:
        """An element; attribute values and `content` are str (plain text) or int (substitution id)."""
        self.out += bytes([0x41 if attributes else 0x01]) + struct.pack("<HI", 0xFFFF, 0)
        size_at = len(self.out) - 4
        self._name(name)
        if attributes:
            list_at = len(self.out)
            self.out += struct.pack("<I", 0)
            for index, (attr, value) in enumerate(attributes):
                self.out += bytes([0x46 if index < len(attributes) - 1 else 0x06])
                self._name(attr)
                self._value(value)
            struct.pack_into("<I", self.out, list_at, len(self.out) - list_at - 4)
        if content is None and not children:
            self.out += b"\x03"  # close empty element
        else:
            self.out += b"\x02"  # close start element
            if content is not None:
                self._value(content)
            for child in children:
                child()  # type: ignore[operator]
            self.out += b"\x04"  # end element
        struct.pack_into("<I", self.out, size_at, len(self.out) - size_at - 4)

    def _value(self, value: object) -> None:
        if isinstance(value, int):  # substitution: id, value type
            self.out += b"\x0e" + struct.pack("<HB", value, 0)
        else:
            text = str(value).encode("utf-16-le")
            self.out += b"\x05\x01" + struct.pack("<H", len(text) // 2) + text


def _record_binxml(event: Event, record_offset: int) -> bytes:
    """Fragment header, template instance with inline definition, substitution values."""
    names = list(event.data)
    values: list[tuple[int, bytes]] = [
        (STRING, event.provider.encode("utf-16-le")),
        (UINT16, struct.pack("<H", event.event_id)),
        (UINT8, struct.pack("<B", event.level)),
        (FILETIME, struct.pack("<Q", _filetime(event.time))),
        (UINT64, struct.pack("<Q", event.record_id)),
        (STRING, event.channel.encode("utf-16-le")),
        (STRING, event.computer.encode("utf-16-le")),
    ] + [(STRING, event.data[n].encode("utf-16-le")) for n in names]

    head = b"\x0f\x01\x01\x00" + b"\x0c\x01" + struct.pack("<I", 0)  # fragment, template instance, template id
    offset_field = record_offset + 24 + len(head)
    definition_at = offset_field + 4
    body_at = definition_at + 24  # next template (4), GUID (16), data size (4)
    tpl = _Template(body_at + 4)  # after the template's own fragment header
    system = [
        lambda: tpl.element("Provider", [("Name", 0)]),
        lambda: tpl.element("EventID", content=1),
        lambda: tpl.element("Level", content=2),
        lambda: tpl.element("TimeCreated", [("SystemTime", 3)]),
        lambda: tpl.element("EventRecordID", content=4),
        lambda: tpl.element("Channel", content=5),
        lambda: tpl.element("Computer", content=6),
    ]
    data = [lambda n=n, i=i: tpl.element("Data", [("Name", n)], content=7 + i) for i, n in enumerate(names)]
    tpl.element(
        "Event",
        [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")],
        children=[
            lambda: tpl.element("System", children=system),
            lambda: tpl.element("EventData", children=data),
        ],
    )
    fragment = b"\x0f\x01\x01\x00" + bytes(tpl.out) + b"\x00"
    definition = (
        struct.pack("<I", 0)
        + uuid.uuid5(uuid.NAMESPACE_URL, event.provider).bytes_le
        + struct.pack("<I", len(fragment))
        + fragment
    )
    substitutions = struct.pack("<I", len(values)) + b"".join(struct.pack("<HBB", len(v), t, 0) for t, v in values)
    values_bytes = b"".join(v for _, v in values)
    return head + struct.pack("<I", definition_at) + definition + substitutions + values_bytes + b"\x00"  # end of stream


def write_evtx(events: list[Event]) -> bytes:
    records = bytearray()
    last_offset = RECORDS_START
    for event in events:
        offset = RECORDS_START + len(records)
        last_offset = offset
        binxml = _record_binxml(event, offset)
        size = 24 + len(binxml) + 4
        records += struct.pack("<IIQQ", 0x2A2A, size, event.record_id, _filetime(event.time)) + binxml
        records += struct.pack("<I", size)
    free = RECORDS_START + len(records)
    if free > CHUNK_SIZE:
        raise ValueError("sample events must fit in one chunk")
    first, last = events[0].record_id, events[-1].record_id
    header = bytearray(
        struct.pack("<8sQQQQIIII", b"ElfChnk\0", first, last, first, last, 128, last_offset, free, zlib.crc32(records))
    )
    header += bytes(CHUNK_HEADER - len(header))
    checksum = zlib.crc32(bytes(header[:120]) + bytes(header[128:CHUNK_HEADER]))
    struct.pack_into("<I", header, 124, checksum)
    chunk = bytes(header) + bytes(records) + bytes(CHUNK_SIZE - free)

    file_header = bytearray(struct.pack("<8sQQQIHHHH", b"ElfFile\0", 0, 0, last + 1, 128, 1, 3, FILE_HEADER, 1))
    file_header += bytes(120 - len(file_header))
    file_header += struct.pack("<II", 0, zlib.crc32(bytes(file_header[:120])))
    return bytes(file_header) + bytes(FILE_HEADER - len(file_header)) + chunk
