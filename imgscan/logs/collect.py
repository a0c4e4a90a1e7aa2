"""Find the logs on the Windows volume, stream them, and keep only aggregated failures.

Entries are folded as they stream by into one `LogGroup` per (family, subject,
HRESULT), holding counts, first/last times and a few sample lines, so memory
grows with the number of distinct failures, not with the size of the logs.
Both are bounded too: past MAX_GROUPS groups in one family, every further
failure folds into ONE group of that family (subject OTHER_SUBJECTS) that counts
its entries per code (the first MAX_CODES codes; entries under later codes are
counted together), and a group keeps at most MAX_NAMES of the names seen beside
its subject and SAMPLES sample lines. A family thus never has more than
MAX_GROUPS + 1 groups, whatever its logs hold: 200,000 distinct failing packages,
or 65,536 distinct codes, give a report of bounded size.
A log that cannot be read (a truncated CAB, a damaged event log) is an
`errors` entry; everything read before the damage is kept.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import PureWindowsPath
from typing import BinaryIO

from imgscan.image.volume import WindowsVolume, child_path
from imgscan.logs import LogEntry
from imgscan.logs.cbs import read_cbs, read_checksur
from imgscan.logs.setup import read_dotnet, read_windowsupdate

CBS_DIR = r"Windows\Logs\CBS"
EVENT_DIR = r"Windows\System32\winevt\Logs"
TEMP_DIRS = (r"Windows\Temp",)
PROFILE_TEMPS = (("Users", r"AppData\Local\Temp"), ("Documents and Settings", r"Local Settings\Temp"))
SETUP_LOG = re.compile(r"(?i)^(KB\d{6,8}).*\.html?$|^dd_.*\.txt$")
SAMPLES = 3
MAX_GROUPS = 500  # distinct (subject, code) failures listed one by one per log family
MAX_NAMES = 100  # names kept beside one group's subject (for correlation)
MAX_CODES = 100  # codes counted one by one in a family's overflow group
OTHER_SUBJECTS = f"further subjects (past the first {MAX_GROUPS} distinct failures; counted together)"
# what a log reader may raise on a log it cannot read: an `errors` entry, after what was read before
LOG_ERRORS = (OSError, EOFError, ValueError)


@dataclass
class LogGroup:
    family: str  # "cbs", "setup" or "events"
    subject: str | None  # package identity, KB, catalog or failing file; None: the log names none
    hresult: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    failed: bool = False
    samples: list[dict[str, object]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)  # the components/kinds of line that reported it
    names: set[str] = field(default_factory=set)  # every subject named alongside (files, packages, KBs)
    # the overflow group only (subject OTHER_SUBJECTS): entries per code, for the first MAX_CODES codes,
    # and how many entries came under later codes
    codes: dict[str, int] | None = None
    further: int = 0
    log: str | None = None  # the log of its first entry

    def add(self, entry: LogEntry) -> None:
        self.count += 1
        if self.log is None:
            self.log = entry.path
        if self.codes is not None:
            if entry.hresult in self.codes or len(self.codes) < MAX_CODES:
                self.codes[entry.hresult or ""] = self.codes.get(entry.hresult or "", 0) + 1
            else:
                self.further += 1
        self.sources.add(entry.source)
        for name in entry.subjects:
            if len(self.names) >= MAX_NAMES:
                break
            self.names.add(name)
        self.failed = self.failed or entry.failed
        if entry.time is not None:
            self.first = min(self.first, entry.time) if self.first else entry.time
            self.last = max(self.last, entry.time) if self.last else entry.time
        if len(self.samples) < SAMPLES and entry.failed:
            where = "record" if entry.path.lower().endswith(".evtx") else "line"
            self.samples.append({"path": entry.path, where: entry.line, "text": entry.text[:400]})


@dataclass
class LogSet:
    groups: list[LogGroup] = field(default_factory=list)
    read: list[str] = field(default_factory=list)  # every log file read, for the inventory
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.read)


class _Folder:
    """Folds entries into groups; entries dated after the --as-of day have not happened yet and are left out."""

    def __init__(self, as_of: date) -> None:
        self.groups: dict[tuple[str, str | None, str], LogGroup] = {}
        self.as_of = as_of
        self.counted: dict[str, int] = {}  # groups per family, against MAX_GROUPS
        self.overflow: dict[str, LogGroup] = {}  # per family: everything past MAX_GROUPS

    def fold(self, family: str, entries: Iterable[LogEntry]) -> None:
        for entry in entries:
            if entry.hresult is None or (entry.time is not None and entry.time.date() > self.as_of):
                continue
            subjects = entry.subjects or (None,)
            key = (family, subjects[0], entry.hresult)
            group = self.groups.get(key)
            if group is None and self.counted.get(family, 0) >= MAX_GROUPS:
                group = self.overflow.get(family)
                if group is None:
                    group = self.overflow[family] = LogGroup(family, OTHER_SUBJECTS, entry.hresult, codes={})
            elif group is None:
                self.counted[family] = self.counted.get(family, 0) + 1
                group = self.groups[key] = LogGroup(family, key[1], entry.hresult)
            group.add(entry)

    def all_groups(self) -> list[LogGroup]:
        """Every group, an overflow group named by its most frequent code (the lowest of equals)."""
        for group in self.overflow.values():
            counts = group.codes or {}
            if counts:
                group.hresult = min(counts, key=lambda code: (-counts[code], code))
        return sorted([*self.groups.values(), *self.overflow.values()], key=lambda g: (g.family, g.subject or "", g.hresult))


def _files(volume: WindowsVolume, directory: str, pattern: re.Pattern[str]) -> list[str]:
    return [child_path(directory, n) for n in volume.listdir(directory) if pattern.match(n)]


def _naive_utc(entries: Iterable[LogEntry]) -> Iterator[LogEntry]:
    """Event log times are UTC-aware; text logs carry the host's local time without a zone."""
    for entry in entries:
        if entry.time is not None and entry.time.tzinfo is not None:
            entry = LogEntry(
                entry.path,
                entry.line,
                entry.time.astimezone(timezone.utc).replace(tzinfo=None),
                entry.level,
                entry.source,
                entry.text,
                entry.hresult,
                entry.subjects,
            )
        yield entry


def read_logs(volume: WindowsVolume, as_of: date) -> LogSet:
    logs = LogSet()
    folder = _Folder(as_of)

    def stream(path: str, family: str, reader: Callable[[BinaryIO, str], Iterable[LogEntry]]) -> None:
        try:
            with volume.open(path) as fh:
                folder.fold(family, _naive_utc(reader(fh, path)))
            logs.read.append(path)
        except LOG_ERRORS as exc:
            logs.errors.append({"path": path, "message": f"log unreadable: {getattr(exc, 'problem', exc)}".splitlines()[0]})

    for path in _files(volume, CBS_DIR, re.compile(r"(?i)^(cbs|cbspersist_\d+)\.log$")):
        stream(path, "cbs", lambda fh, p: read_cbs(fh, p, failures_only=True))
    for path in _files(volume, CBS_DIR, re.compile(r"(?i)^checksur(\.persist)?\.log$")):
        stream(path, "cbs", read_checksur)
    for path in _files(volume, CBS_DIR, re.compile(r"(?i)^cbspersist_\d+\.cab$")):
        _cab(volume, path, folder, logs)
    for path in _setup_logs(volume):
        name = PureWindowsPath(path).name
        match = SETUP_LOG.match(name)
        kb = match.group(1) if match else None
        stream(path, "setup", functools.partial(read_dotnet, kb=kb.upper() if kb else None))
    if volume.exists(r"Windows\WindowsUpdate.log"):
        stream(r"Windows\WindowsUpdate.log", "setup", read_windowsupdate)
    from imgscan.logs.events import read_events  # dissect.eventlog: loaded by a scan, not by rule listings

    for name in ("System.evtx", "Setup.evtx"):
        path = child_path(EVENT_DIR, name)
        if volume.exists(path):
            problems: list[str] = []
            stream(path, "events", functools.partial(read_events, problems=problems))
            logs.errors.extend({"path": path, "message": problem} for problem in problems)
    logs.groups = folder.all_groups()
    return logs


def _setup_logs(volume: WindowsVolume) -> list[str]:
    found = [p for d in TEMP_DIRS for p in _files(volume, d, SETUP_LOG)]
    for root, temp in PROFILE_TEMPS:
        for profile in volume.listdir(root):
            found += _files(volume, child_path(child_path(root, profile), temp), SETUP_LOG)
    return found


def _cab(volume: WindowsVolume, path: str, folder: _Folder, logs: LogSet) -> None:
    """A rotated CBS log compressed as an MSZIP cabinet (cabarchive decompresses it in memory)."""
    from cabarchive import CabArchive
    from cabarchive.errors import CorruptionError, NotSupportedError

    try:
        with volume.open(path) as fh:
            archive = CabArchive(fh.read())
    except (CorruptionError, NotSupportedError, ValueError, OSError) as exc:
        logs.errors.append({"path": path, "message": f"cabinet unreadable: {exc}".splitlines()[0]})
        return
    for name in sorted(archive):
        member = f"{path}|{name}"
        folder.fold("cbs", read_cbs(io.BytesIO(archive[name].buf), member, failures_only=True))
        logs.read.append(member)
