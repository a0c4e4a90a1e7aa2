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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from dissect.eventlog.evtx import ElfChnk
from dissect.eventlog.exceptions import MalformedElfChnkException

from imgscan.logs import LogEntry, canonical, subjects_of

WANTED = {
    ("microsoft-windows-windowsupdateclient", 20),
    ("microsoft-windows-wusa", 3),
    ("microsoft-windows-wusa", 8),
}
CODE_FIELDS = ("errorCode", "ErrorCode", "HResult", "hr", "Error")
DECIMAL = re.compile(r"^-?\d+$")
FILE_HEADER, CHUNK = 4096, 0x10000


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


def _records(fh: BinaryIO, problems: list[str]) -> Iterator[dict[str, object]]:
    header = fh.read(FILE_HEADER)
    if header[:8] != b"ElfFile\0":
        problems.append("not an EVTX file (no ElfFile header)")
        return
    index = 0
    while len(chunk := fh.read(CHUNK)) == CHUNK:
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
        index += 1


def read_events(fh: BinaryIO, path: str, problems: list[str]) -> Iterator[LogEntry]:
    """Update failures of one event log; damaged parts are appended to `problems`."""
    for number, fields in enumerate(_records(fh, problems), 1):
        provider = str(fields.get("Provider_Name", "")).lower()
        event_id = _number(fields.get("EventID"))
        servicing_error = provider == "microsoft-windows-servicing" and _number(fields.get("Level")) == 2
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
