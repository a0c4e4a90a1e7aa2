"""Find the logs on the Windows volume, stream them, and keep only aggregated failures.

Entries are folded as they stream by into parts per (family, subject, HRESULT)
and day, holding counts, first/last times and a few sample lines, so memory
grows with the number of distinct failures and the days they span, not with the
size of the logs. Every entry is read whatever the as-of day: `LogRead.until`
gives the groups (`LogGroup`) of the entries that had happened by one.
Both are bounded too: past MAX_GROUPS distinct (subject, code) failures in one
family (counted over the whole logs), every further failure folds into ONE group
of that family (subject OTHER_SUBJECTS) that counts its entries per code (the
first MAX_CODES codes; entries under later codes are counted together), and a
group keeps at most MAX_NAMES of the names seen beside its subject and SAMPLES
sample lines. A family thus never has more than MAX_GROUPS + 1 groups, whatever
its logs hold: 200,000 distinct failing packages, or 65,536 distinct codes, give
a report of bounded size.
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
from imgscan.report import LogLineEvidence
from imgscan.utc import utc_text

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
    samples: list[LogLineEvidence] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)  # the components/kinds of line that reported it
    names: set[str] = field(default_factory=set)  # every subject named alongside (files, packages, KBs)
    # the overflow group only (subject OTHER_SUBJECTS): entries per code, for the first MAX_CODES codes,
    # and how many entries came under later codes
    codes: dict[str, int] | None = None
    further: int = 0
    log: str | None = None  # the log of its first entry

    def written(self, moment: datetime | None) -> str | None:
        """A time of this group as the reports write it: event logs record UTC, so theirs ends in `Z`; text
        logs the host's local time, so theirs has no zone (a reader must not take one for the other)."""
        if moment is None:
            return None
        return utc_text(moment) if self.family == "events" else moment.isoformat()


@dataclass
class LogSet:
    """The failures the logs show up to one day (what a scan judges): one group per failure."""

    groups: list[LogGroup] = field(default_factory=list)
    read: list[str] = field(default_factory=list)  # every log file read, for the inventory
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.read)


@dataclass
class _Part:
    """The entries of one group on one day (or undated), each sample and name with its place in the
    stream, so that the parts of any run of days merge into the group a fold of those entries gives."""

    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    failed: bool = False
    samples: list[tuple[int, LogLineEvidence]] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    names: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (entry, position) first named
    log: tuple[int, str] | None = None  # the place and log of its first entry
    codes: dict[str, tuple[int, int]] | None = None  # the overflow group's only: code -> (entries, first place)

    def add(self, order: int, entry: LogEntry) -> None:
        self.count += 1
        if self.log is None:
            self.log = (order, entry.path)
        if self.codes is not None:
            entries, first = self.codes.get(entry.hresult or "", (0, order))
            self.codes[entry.hresult or ""] = (entries + 1, first)
        self.sources.add(entry.source)
        for position, name in enumerate(entry.subjects):
            if len(self.names) >= MAX_NAMES:
                break
            self.names.setdefault(name, (order, position))
        self.failed = self.failed or entry.failed
        if entry.time is not None:
            self.first = min(self.first, entry.time) if self.first else entry.time
            self.last = max(self.last, entry.time) if self.last else entry.time
        if len(self.samples) < SAMPLES and entry.failed:
            sample: LogLineEvidence = (
                {"path": entry.path, "record": entry.line, "text": entry.text[:400]}
                if entry.path.lower().endswith(".evtx")  # an event log's entries are records
                else {"path": entry.path, "line": entry.line, "text": entry.text[:400]}
            )
            self.samples.append((order, sample))


@dataclass
class LogRead:
    """Every failure entry of the logs, folded by group and day: the `logs` kind. It holds no as-of day;
    `until` gives the failures that had happened by one, so one read serves every as-of day."""

    parts: dict[tuple[str, str | None, str], dict[date | None, _Part]] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    _until: dict[frozenset[date], LogSet] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.read)

    def until(self, happened: Callable[[date], bool]) -> LogSet:
        """The groups of the entries that are undated or dated on a day `happened` accepts (the time policy
        decides which days have happened by --as-of; entries after it have not happened yet). Asked once the
        read is complete, by every check and judgement of it: the groups are merged once per set of days
        that have happened (a fleet judges one read for many hosts and days; treat them as read-only)."""
        dated = {day for days in self.parts.values() for day in days if day is not None}
        accepted = frozenset(day for day in dated if happened(day))
        found = self._until.get(accepted)
        if found is None:
            found = self._until[accepted] = self._merged(accepted)
        return found

    def _merged(self, accepted: frozenset[date]) -> LogSet:
        groups = []
        for (family, subject, hresult), days in self.parts.items():
            parts = [part for day, part in days.items() if day is None or day in accepted]
            if parts:
                groups.append(_merge(LogGroup(family, subject, hresult), parts))
        groups.sort(key=lambda g: (g.family, g.subject or "", g.hresult))
        return LogSet(groups, self.read, self.errors)


def _merge(group: LogGroup, parts: list[_Part]) -> LogGroup:
    """One group from its parts, as folding their entries in stream order gives it."""
    group.count = sum(p.count for p in parts)
    group.failed = any(p.failed for p in parts)
    firsts, lasts = [p.first for p in parts if p.first], [p.last for p in parts if p.last]
    group.first, group.last = (min(firsts), max(lasts)) if firsts else (None, None)
    group.sources = set().union(*(p.sources for p in parts))
    group.samples = [sample for _, sample in sorted((s for p in parts for s in p.samples), key=lambda s: s[0])[:SAMPLES]]
    named: dict[str, tuple[int, int]] = {}
    for part in parts:
        for name, where in part.names.items():
            named[name] = min(where, named.get(name, where))
    group.names = set(sorted(named, key=lambda n: named[n])[:MAX_NAMES])
    group.log = min(p.log for p in parts if p.log)[1] if any(p.log for p in parts) else None
    if group.subject == OTHER_SUBJECTS:
        _count_codes(group, parts)
    return group


def _count_codes(group: LogGroup, parts: list[_Part]) -> None:
    """The overflow group's entries per code: the first MAX_CODES codes seen one by one, the entries under
    later ones counted together; the group is named by its most frequent code (the lowest of equals)."""
    seen: dict[str, tuple[int, int]] = {}
    for part in parts:
        for code, (entries, first) in (part.codes or {}).items():
            total, earliest = seen.get(code, (0, first))
            seen[code] = (total + entries, min(earliest, first))
    ordered = sorted(seen, key=lambda code: seen[code][1])
    group.codes = {code: seen[code][0] for code in ordered[:MAX_CODES]}
    group.further = sum(seen[code][0] for code in ordered[MAX_CODES:])
    if group.codes:
        group.hresult = min(group.codes, key=lambda code: (-group.codes[code], code))  # type: ignore[index]


class _Folder:
    """Folds failure entries into parts by group and day. Past MAX_GROUPS distinct failures in a family
    (counted over the whole logs, whatever the as-of day), every further one folds into the family's one
    overflow group, which counts entries per code."""

    def __init__(self, into: LogRead) -> None:
        self.parts = into.parts
        self.groups: dict[str, set[tuple[str | None, str]]] = {}  # distinct groups per family, against MAX_GROUPS
        self.order = 0  # the place of an entry in the stream of every log read

    def fold(self, family: str, entries: Iterable[LogEntry]) -> None:
        for entry in entries:
            if entry.hresult is None:
                continue
            self.order += 1
            subject = (entry.subjects or (None,))[0]
            hresult = entry.hresult
            seen = self.groups.setdefault(family, set())
            if (subject, hresult) not in seen and len(seen) >= MAX_GROUPS:
                subject, hresult = OTHER_SUBJECTS, ""  # one overflow group per family, named at the merge
            else:
                seen.add((subject, hresult))
            day = entry.time.date() if entry.time is not None else None
            days = self.parts.setdefault((family, subject, hresult), {})
            part = days.get(day)
            if part is None:
                part = days[day] = _Part(codes={} if subject == OTHER_SUBJECTS else None)
            part.add(self.order, entry)


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


Reader = Callable[[BinaryIO, str], Iterable[LogEntry]]  # a log file (and its path) -> its entries


def _streamer(volume: WindowsVolume, folder: _Folder, logs: LogRead) -> Callable[[str, str, Reader], None]:
    """Streams one file of a family into the folder; a file that cannot be read is an `errors` entry."""

    def stream(path: str, family: str, reader: Reader) -> None:
        try:
            with volume.open(path) as fh:
                folder.fold(family, _naive_utc(reader(fh, path)))
            logs.read.append(path)
        except LOG_ERRORS as exc:
            logs.errors.append({"path": path, "message": f"log unreadable: {getattr(exc, 'problem', exc)}".splitlines()[0]})

    return stream


def read_family(volume: WindowsVolume, family: str, paths: Iterable[str], reader: Reader) -> LogRead:
    """A log family of a plugin's own kind: each of `paths` that exists, read with `reader` and folded by
    group and day (every entry, whatever the as-of day)."""
    logs = LogRead()
    stream = _streamer(volume, _Folder(logs), logs)
    for path in paths:
        if volume.exists(path):
            stream(path, family, reader)
    return logs


def read_logs(volume: WindowsVolume) -> LogRead:
    """The built-in families: `cbs` (CBS and CheckSUR logs), `setup` (setup logs, WindowsUpdate.log), `events`."""
    logs = LogRead()
    folder = _Folder(logs)
    stream = _streamer(volume, folder, logs)

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
    return logs


def _setup_logs(volume: WindowsVolume) -> list[str]:
    found = [p for d in TEMP_DIRS for p in _files(volume, d, SETUP_LOG)]
    for root, temp in PROFILE_TEMPS:
        for profile in volume.listdir(root):
            found += _files(volume, child_path(child_path(root, profile), temp), SETUP_LOG)
    return found


def _cab(volume: WindowsVolume, path: str, folder: _Folder, logs: LogRead) -> None:
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
