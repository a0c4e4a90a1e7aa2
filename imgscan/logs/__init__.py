"""Readers of the servicing, setup and event logs that a responder looks at after a failure.

Each reader streams its file and yields `LogEntry` records; `text.lines` bounds
memory per line, so a 1 GB log or a 2 GB single line costs a few hundred KB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

PACKAGE_IDENTITY = r"[A-Za-z0-9][A-Za-z0-9_.-]*~[0-9a-fA-F]{16}~[A-Za-z0-9_]*~[A-Za-z-]*~\d+(?:\.\d+)*"
# one pass over a line finds package identities, KB numbers and winsxs catalog names
SUBJECT = re.compile(rf"({PACKAGE_IDENTITY})|\b[Kk][Bb](\d{{6,8}})\b|((?i:winsxs\\Catalogs\\[0-9a-f]{{64}}\.cat))")


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
    """Package identities, KB numbers and winsxs catalog files named in a log line, without repeats;
    identities first (they name the most)."""
    identities, others = [], []
    for identity, kb, catalog in SUBJECT.findall(text):
        if identity:
            identities.append(identity)
        else:
            others.append(f"KB{kb}" if kb else catalog)
    return tuple(dict.fromkeys(identities + others))


def moment(text: str, pattern: str | None = None) -> datetime | None:
    """A log line's time (ISO 8601, or strptime's `pattern`); None for a date that does not exist, so
    a damaged or forged line keeps its entry (without a time) and the rest of the log is still read."""
    try:
        return datetime.strptime(text, pattern) if pattern else datetime.fromisoformat(text)
    except ValueError:
        return None


def canonical(code: str | int) -> str:
    value = int(code, 16) if isinstance(code, str) else code
    return f"0x{value & 0xFFFFFFFF:08X}"
