"""The event log reader (`imgscan.logs.events.read_events`): its chunk walk and the chunk skipper that
leaves unparsed the intact chunks naming no wanted provider.

Input: an EVTX file's bytes (file header and chunks).

Contract (read_events' docstring):
- yields `LogEntry` records and appends one-line problems; raises nothing but what collect.py
  reports as an unreadable log (`LOG_ERRORS`);
- differential: the skipper changes nothing: the same entries come out when every chunk is parsed;
- memory bounded by one chunk's records, time linear in the chunks (1 GB, 10 s per input at most).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from fuzz.engine import Limits, fuzz, instrumented
from fuzz.logs import CODE

with instrumented(__name__, "dissect.eventlog"):
    from imgscan.logs import LogEntry, events
    from imgscan.logs.collect import LOG_ERRORS

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=events.FILE_HEADER + events.CHUNK, ci_runs=25)


def _read(data: bytes, skip: bool) -> tuple[list[Any], list[str]]:
    problems: list[str] = []
    wanted = events._worth_parsing
    if not skip:
        events._worth_parsing = lambda chunk: True
    try:
        entries: list[Any] = list(events.read_events(io.BytesIO(data), "System.evtx", problems))
    except LOG_ERRORS:
        entries = ["unreadable"]
    finally:
        events._worth_parsing = wanted
    return entries, problems


def check(data: bytes) -> None:
    entries, problems = _read(data, skip=True)
    for entry in entries:
        if entry == "unreadable":
            continue
        assert isinstance(entry, LogEntry) and entry.hresult and CODE.fullmatch(entry.hresult)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    everything, _ = _read(data, skip=False)
    assert entries == everything, f"with the skipper {len(entries)} entries, without it {len(everything)}"


def seeds() -> Iterator[bytes]:
    """The sample event logs and the first chunks of the real ones."""
    from fuzz.sources import real_files, sample_files

    for log in [*sample_files(".evtx"), *real_files("evtx", ".evtx")]:
        yield log[: events.FILE_HEADER + events.CHUNK]
        yield log[: events.FILE_HEADER] + log[events.FILE_HEADER + events.CHUNK : events.FILE_HEADER + 2 * events.CHUNK]


if __name__ == "__main__":
    fuzz(check, LIMITS)
