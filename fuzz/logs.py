"""What the text-log harnesses share: the contract every log reader's entries keep, and the short
line and entry bounds the harnesses read with (so that inputs of a few KB reach the cut paths that
real logs reach at 64 KB)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from imgscan.logs import LogEntry

CODE = re.compile(r"0x[0-9A-F]{8}")
SHORT_LINE = 256  # text.MAX_LINE while fuzzing
SHORT_ENTRY = 512  # cbs.MAX_ENTRY while fuzzing


@contextlib.contextmanager
def shortened() -> Iterator[None]:
    """Read with the short bounds above while inside (the readers look them up on every call); the
    modules' own bounds come back after, also in a test process replaying regressions."""
    import imgscan.logs.cbs
    import imgscan.logs.text

    line, entry = imgscan.logs.text.MAX_LINE, imgscan.logs.cbs.MAX_ENTRY
    imgscan.logs.text.MAX_LINE, imgscan.logs.cbs.MAX_ENTRY = SHORT_LINE, SHORT_ENTRY
    try:
        yield
    finally:
        imgscan.logs.text.MAX_LINE, imgscan.logs.cbs.MAX_ENTRY = line, entry


def checked(entries: Iterable[LogEntry], data: bytes) -> list[LogEntry]:
    """The entries, each checked against the readers' contract (imgscan.logs.LogEntry): in line order,
    a line number within the file, a canonical code, text no longer than an entry may hold; as many
    entries as lines at most."""
    found = list(entries)
    previous = 0
    for entry in found:
        assert isinstance(entry, LogEntry)
        assert previous < entry.line <= data.count(b"\n") + data.count(b"\r") + 1, (previous, entry.line)
        previous = entry.line
        assert entry.hresult is None or CODE.fullmatch(entry.hresult), entry.hresult
        assert entry.time is None or isinstance(entry.time, datetime)
        assert isinstance(entry.text, str) and len(entry.text) <= SHORT_ENTRY + 2 * SHORT_LINE, len(entry.text)
        assert isinstance(entry.subjects, tuple) and all(isinstance(s, str) and s for s in entry.subjects)
        assert isinstance(entry.level, str) and isinstance(entry.source, str)
    return found
