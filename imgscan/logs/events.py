"""Windows Update failures in System.evtx and Setup.evtx, read with dissect.eventlog.

- System, Microsoft-Windows-WindowsUpdateClient (Windows Update Agent) event 20:
  "Installation Failure: Windows failed to install the following update with error %1: %2".
- Setup, Microsoft-Windows-WUSA events 3 and 8: "Windows update %1 could not be (un)installed
  because of error %2" with the error in decimal (2148204801 = 0x800B0101).
- Setup, Microsoft-Windows-Servicing events at Error level with an error code.

dissect.eventlog also reads the chunks after the header's chunk count (records a
volume shadow copy or a wrapped log left behind), which a responder wants too.
A damaged chunk ends the file's reading with an `errors` entry; the records read
before it are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from dissect.eventlog.evtx import Evtx

from imgscan.logs import LogEntry, canonical, subjects_of

WANTED = {
    ("microsoft-windows-windowsupdateclient", 20),
    ("microsoft-windows-wusa", 3),
    ("microsoft-windows-wusa", 8),
}
CODE_FIELDS = ("errorCode", "ErrorCode", "HResult", "hr", "Error")
DECIMAL = re.compile(r"^-?\d+$")


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


def _record_id(value: object, fallback: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return fallback


def read_events(fh: BinaryIO, path: str, problems: list[str]) -> Iterator[LogEntry]:
    """Update failures of one event log; a damaged part is appended to `problems` and ends the reading."""
    number = 0
    try:
        for record in Evtx(fh):
            number += 1
            provider = str(record["Provider_Name"]).lower() if "Provider_Name" in record else ""
            event_id = record["EventID"] if "EventID" in record else None
            servicing_error = provider == "microsoft-windows-servicing" and record["Level"] == 2 if "Level" in record \
                else False
            if (provider, event_id) not in WANTED and not servicing_error:
                continue
            fields = {k: record[k] for k in record.keys()}
            code = next((c for c in (_code(fields.get(f)) for f in CODE_FIELDS) if c), None)
            if code is None:
                continue
            text = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("Provider_Guid", "Keywords"))
            yield LogEntry(
                path=path, line=_record_id(fields.get("EventRecordID"), number), time=_time(fields.get("TimeCreated_SystemTime")),
                level="Error", source=f"{fields.get('Provider_Name')} {event_id}", text=text, hresult=code,
                subjects=subjects_of(" ".join(str(v) for v in fields.values())),
            )
    except (EOFError, ValueError, KeyError, IndexError, OSError) as exc:
        problems.append(f"event log damaged after {number} records: {type(exc).__name__}: {exc}".splitlines()[0])
