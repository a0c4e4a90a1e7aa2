"""Windows Update failures in System.evtx and Setup.evtx, read with dissect.eventlog.

- System, Microsoft-Windows-WindowsUpdateClient (Windows Update Agent) event 20:
  "Installation Failure: Windows failed to install the following update with error %1: %2".
- Setup, Microsoft-Windows-WUSA events 3 and 8: "Windows update %1 could not be (un)installed
  because of error %2" with the error in decimal (2148204801 = 0x800B0101).
- Setup, Microsoft-Windows-Servicing events at Error level with an error code.

dissect.eventlog also reads the chunks after the header's chunk count (records a
volume shadow copy or a wrapped log left behind), which a responder wants too.
Chunks are walked here (dissect's own iterator skips a damaged chunk silently): a
damaged chunk is an `errors` entry and the other chunks are still read.

Parsing binary XML costs about 0.25 ms a record, and a System log holds tens of thousands of
records of which a handful matter. A chunk is only parsed when it can hold a wanted record: a
chunk's templates and substitution values are stored in the chunk itself, so a record of a
wanted provider puts that provider's name (UTF-16, or ANSI in an ANSI substitution) into the
chunk's bytes. A chunk whose name search fails is skipped only when its header and record
checksums (CRC32, as Windows writes them; libyal's EVTX format notes, "Chunk header") prove it
intact; a chunk that fails them is parsed as before, so damage is still reported.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO

from dissect.eventlog import bxml
from dissect.eventlog.evtx import ElfChnk
from dissect.eventlog.exceptions import BxmlException, MalformedElfChnkException

from imgscan.logs import LogEntry, canonical, subjects_of

WANTED = {
    ("microsoft-windows-windowsupdateclient", 20),
    ("microsoft-windows-wusa", 3),
    ("microsoft-windows-wusa", 8),
}
SERVICING = "microsoft-windows-servicing"  # at Error level with a code, whatever the event id
NEEDLES = tuple(
    name.encode(encoding) for name in sorted({p for p, _ in WANTED} | {SERVICING}) for encoding in ("utf-16-le", "ascii")
)
CODE_FIELDS = ("errorCode", "ErrorCode", "HResult", "hr", "Error")
DECIMAL = re.compile(r"^-?\d+$")
FILE_HEADER, CHUNK = 4096, 0x10000


def _read_descriptor_array(stream: BinaryIO, descriptor: bxml.BxmlTemplateDescriptor) -> Iterator[object]:
    """dissect.eventlog's reader of an array substitution, ended where the array's bytes end. dissect's
    own (3.11) reads items until the position *equals* the array's size, so an array of items that
    take no bytes (type NULL) never ends: a forged record hung the scan (fuzz/fuzz_evtx.py). Replaced
    in dissect for this process; the chunk is then reported damaged like any other bad record."""
    while stream.tell() < descriptor.size:
        before = stream.tell()
        yield descriptor.value_type(stream)
        if stream.tell() == before:
            raise BxmlException("array item of no size")


bxml.read_descriptor_array = _read_descriptor_array


def _code(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.lower().startswith("0x"):
        return canonical(text)
    if DECIMAL.match(text):
        return canonical(int(text))
    return None


def _time(value: object) -> datetime | None:
    """Record times are datetimes, but a damaged record can carry an unparsed substitution."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _number(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _intact(chunk: bytes) -> bool:
    """Magic, header CRC32 (bytes 0-120 and 128-512) and records CRC32 (512 to the free-space offset)."""
    free, records_crc = struct.unpack_from("<II", chunk, 0x30)
    (header_crc,) = struct.unpack_from("<I", chunk, 0x7C)
    return (
        chunk[:8] == b"ElfChnk\0"
        and 512 <= free <= CHUNK
        and zlib.crc32(chunk[:120] + chunk[128:512]) == header_crc
        and zlib.crc32(chunk[512:free]) == records_crc
    )


def _worth_parsing(chunk: bytes) -> bool:
    """False only for an intact chunk that names none of the wanted providers (see the module's docstring)."""
    lowered = chunk.lower()  # ASCII letters only, which is all the provider names hold, in either encoding
    return any(needle in lowered for needle in NEEDLES) or not _intact(chunk)


def _records(
    fh: BinaryIO, problems: list[str], worth_parsing: Callable[[bytes], bool] = lambda chunk: True
) -> Iterator[dict[str, object]]:
    """Every record of the chunks `worth_parsing` lets through, in file order."""
    header = fh.read(FILE_HEADER)
    if header[:8] != b"ElfFile\0":
        problems.append("not an EVTX file (no ElfFile header)")
        return
    for index, chunk in enumerate(iter(lambda: fh.read(CHUNK), b"")):
        if len(chunk) < CHUNK:
            break
        if not worth_parsing(chunk):
            continue
        where = f"chunk {index} (offset {FILE_HEADER + index * CHUNK})"
        read = 0
        try:
            parsed = ElfChnk(chunk)
            for record in parsed.read():
                read += 1
                yield {k: record[k] for k in record.keys()}
            declared = parsed.header.last_record_nr - parsed.header.first_record_nr + 1
            if not parsed.empty and read < declared:  # dissect stops at a damaged record without a word
                problems.append(f"{where} is damaged: {read} of its {declared} records could be read")
        except MalformedElfChnkException:
            if chunk[:8] != b"\0" * 8:  # an unused chunk is all zeros, a damaged one is not
                problems.append(f"{where} is damaged; {read} of its records could be read")


def read_events(fh: BinaryIO, path: str, problems: list[str]) -> Iterator[LogEntry]:
    """Update failures of one event log; damaged parts are appended to `problems` (one line each). Raises
    nothing but collect.LOG_ERRORS; the chunk skipper never changes which failures are read
    (fuzz/fuzz_evtx.py)."""
    for number, fields in enumerate(_records(fh, problems, _worth_parsing), 1):
        provider = str(fields.get("Provider_Name", "")).lower()
        event_id = _number(fields.get("EventID"))
        servicing_error = provider == SERVICING and _number(fields.get("Level")) == 2
        if (provider, event_id) not in WANTED and not servicing_error:
            continue
        code = next((c for c in (_code(fields.get(f)) for f in CODE_FIELDS) if c), None)
        if code is None:
            continue
        text = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("Provider_Guid", "Keywords"))
        names = subjects_of(" ".join(str(v) for v in fields.values()))
        title = fields.get("updateTitle") or fields.get("UpdateTitle")
        yield LogEntry(
            path=path,
            line=_number(fields.get("EventRecordID")) or number,
            time=_time(fields.get("TimeCreated_SystemTime")),
            level="Error",
            source=f"{fields.get('Provider_Name')} {event_id}",
            text=text,
            hresult=code,
            subjects=names or ((str(title),) if title else ()),
        )
