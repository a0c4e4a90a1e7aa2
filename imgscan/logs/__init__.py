"""Readers of the servicing, setup and event logs that a responder looks at after a failure.

Each reader streams its file and yields `LogEntry` records; `text.lines` bounds
memory per line, so a 1 GB log or a 2 GB single line costs a few hundred KB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

PACKAGE_IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*~[0-9a-fA-F]{16}~[A-Za-z0-9_]*~[A-Za-z-]*~\d+(?:\.\d+)*")
KB = re.compile(r"\bKB(\d{6,8})\b", re.IGNORECASE)


@dataclass(frozen=True)
class LogEntry:
    """One logical log entry (continuation lines attached) with what imgscan recognised in it."""

    path: str  # volume path of the log (for a CAB: cab path + "|" + member name)
    line: int  # 1-based line of the entry's first line
    time: datetime | None
    level: str  # "Error", "Warning", "Info", or "" when the log has no levels
    source: str  # CBS, CSI, DISM, CheckSUR, .NET setup, WindowsUpdate, event log provider
    text: str
    hresult: str | None  # the failure code the entry reports, canonical "0x800B0101"
    subjects: tuple[str, ...] = ()  # package identities, KB numbers, catalog paths it names

    @property
    def failed(self) -> bool:
        """A failure code at Error level; every CheckSUR line with a code is a problem it found."""
        return self.hresult is not None and (self.level == "Error" or self.source == "CheckSUR")


def subjects_of(text: str) -> tuple[str, ...]:
    """Package identities, catalog files and KB numbers named in a log line, in order, without repeats."""
    found: list[str] = []
    for match in PACKAGE_IDENTITY.finditer(text):
        found.append(match.group(0))
    for match in KB.finditer(text):
        found.append(f"KB{match.group(1)}")
    return tuple(dict.fromkeys(found))


def canonical(code: str | int) -> str:
    value = int(code, 16) if isinstance(code, str) else code
    return f"0x{value & 0xFFFFFFFF:08X}"
