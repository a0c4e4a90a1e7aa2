"""Kind `logs`: failures recorded by CBS, CheckSUR, setup logs, WindowsUpdate.log and the event logs.

Its groups carry their family (`cbs`, `setup`, `events`), which the log checks select on. A plugin
that reads a log of its own defines its own kind of `LogRead` (see CONTRIBUTING.md), with its own
paths and inventory section, and a `LogCheck` whose `logs` is that kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.kinds import ErrorList, Kind, Section
from imgscan.logs.collect import LogGroup, LogRead, read_logs
from imgscan.report import LogFailure, LogsJson

if TYPE_CHECKING:
    from imgscan.kinds import InventoryContext, Loader


def load(art: Loader) -> LogRead:
    """Every failure entry, whatever its day: the as-of cut is the judgement's (`LogRead.until`)."""
    return read_logs(art.volume)


def group_entry(group: LogGroup) -> LogFailure:
    """One failure group as the report's inventory lists it."""
    return {
        "family": group.family,
        "subject": group.subject,
        "hresult": group.hresult,
        "count": group.count,
        "failed": group.failed,
        "first": group.written(group.first),
        "last": group.written(group.last),
        "sources": sorted(group.sources),
        "samples": group.samples,
    }


def inventory(logs: LogRead, context: InventoryContext) -> Section:
    """The failures the logs show by the as-of day of the scan context."""
    failures = logs.until(context.scan.happened).groups
    section: LogsJson = {"read": logs.read, "failures": [group_entry(g) for g in failures]}
    return {"logs": section}


def errors(logs: LogRead) -> ErrorList:
    return logs.errors


LOGS = Kind(
    name="logs",
    paths=(
        "/Windows/Logs/CBS/*",
        "/Windows/Temp/KB*.htm*",
        "/Windows/Temp/dd_*.txt",
        "/Users/*/AppData/Local/Temp/KB*.htm*",
        "/Users/*/AppData/Local/Temp/dd_*.txt",
        "/Documents and Settings/*/Local Settings/Temp/KB*.htm*",
        "/Documents and Settings/*/Local Settings/Temp/dd_*.txt",
        "/Windows/WindowsUpdate.log",
        "/Windows/System32/winevt/Logs/System.evtx",
        "/Windows/System32/winevt/Logs/Setup.evtx",
    ),
    load=load,
    absent="the image has no update logs",
    inventory=inventory,
    errors=errors,
    reading="reading the update logs",
)
