"""CBS.log (and its CbsPersist_* rotations) and CheckSUR.log, as streams of `LogEntry`.

CBS.log: `YYYY-MM-DD HH:MM:SS, <Level> <Component> <message>`, results appended as
`[HRESULT = 0x800b0101 - CERT_E_EXPIRED]`; lines that do not start with a
timestamp continue the entry above. A failing entry that names no package
(CBS's "Failed to internally open package.") inherits the package of the last
entry of the same HRESULT, which is how CBS prints one failure as a cascade.

CheckSUR.log: a run date line, then findings such as
`(w) CBS Catalog Expired 0x800B0101 servicing\\Packages\\<id>.cat`; every such line
is a problem CheckSUR found, so each counts as failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from imgscan.logs import LogEntry, canonical, moment, subjects_of
from imgscan.logs.text import lines

ENTRY = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),\s+(\w+)\s+(\S+)\s+(.*)$")
HRESULT = re.compile(r"\[HRESULT = (0x[0-9a-fA-F]{8})")
MAX_ENTRY = 16 * 1024  # characters of continuation text kept per entry
CHECKSUR_RUN = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})\s*$")
CHECKSUR_FINDING = re.compile(r"^\((f|w)\)\s+(.+?)\s+(0x[0-9A-Fa-f]{8})\s+(\S+)(.*)$")


def _entry(path: str, number: int, stamp: str, level: str, component: str, text: str) -> LogEntry:
    match = HRESULT.search(text) if "HRESULT" in text else None
    code = canonical(match.group(1)) if match else None
    failing = code is not None and int(code, 16) & 0x80000000
    return LogEntry(
        path=path,
        line=number,
        time=moment(stamp),
        level=level,
        source=component,
        text=text,
        hresult=code if failing else None,
        subjects=subjects_of(text) if failing else (),
    )


def read_cbs(fh: BinaryIO, path: str, failures_only: bool = False) -> Iterator[LogEntry]:
    """Every entry of a CBS log; with `failures_only`, only entries that carry an HRESULT (a scan's
    case: most lines have none, and building their records is most of the cost). Never raises on any
    bytes: undecodable bytes become U+FFFD, an impossible date leaves its entry without a time, and
    an entry keeps at most MAX_ENTRY characters of continuation (fuzz/fuzz_cbs_log.py)."""
    pending: tuple[int, str, str, str] | None = None  # number, stamp, level, component of the entry being read
    text = ""  # its text, continuation lines included
    context: dict[str, tuple[str, ...]] = {}  # HRESULT -> subjects of its last entry that named any

    def flush(head: tuple[int, str, str, str], text: str) -> Iterator[LogEntry]:
        if not failures_only or "HRESULT" in text:
            yield _with_context(_entry(path, *head, text), context)

    for number, line, _cut in lines(fh):
        match = ENTRY.match(line) if line[:1].isdigit() else None
        if match is None:
            if pending is not None and len(text) < MAX_ENTRY:
                text += "\n" + line.strip()
            continue
        if pending is not None:
            yield from flush(pending, text)
        stamp, level, component, text = match.groups()
        pending = (number, stamp, level, component)
    if pending is not None:
        yield from flush(pending, text)


def _with_context(entry: LogEntry, context: dict[str, tuple[str, ...]]) -> LogEntry:
    if entry.hresult is None:
        return entry
    if entry.subjects:
        context[entry.hresult] = entry.subjects
        return entry
    inherited = context.get(entry.hresult, ())
    return LogEntry(entry.path, entry.line, entry.time, entry.level, entry.source, entry.text, entry.hresult, inherited)


def read_checksur(fh: BinaryIO, path: str) -> Iterator[LogEntry]:
    """Every problem line of a CheckSUR log, dated by the run line above it; never raises on any bytes."""
    run: datetime | None = None
    for number, line, _cut in lines(fh):
        text = line.strip()
        if match := CHECKSUR_RUN.match(text):
            run = moment(match.group(1))
        elif match := CHECKSUR_FINDING.match(text):
            kind, problem, code, subject, rest = match.groups()
            yield LogEntry(
                path=path,
                line=number,
                time=run,
                level="Error" if kind == "f" else "Warning",
                source="CheckSUR",
                text=text,
                hresult=canonical(code),
                subjects=subjects_of(subject + rest) or (subject,),
            )
