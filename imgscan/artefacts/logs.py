"""Kind `logs`: failures recorded by CBS, CheckSUR, setup logs, WindowsUpdate.log and the event logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.logs.collect import LogSet, read_logs

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS = (
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
)
ABSENT = "the image has no update logs"


def load(art: ArtefactLoader) -> LogSet:
    return read_logs(art.volume, art.as_of)
