"""Per-update setup logs (.NET `%TEMP%\\KB<nnn>.html`, Visual Studio/.NET `dd_*.txt`) and WindowsUpdate.log.

The .NET setup log lines that matter (a .NET 4 update, KB2656368, failing on a host whose WinTrust State was 0xc9):
  [4/24/2012, 8:54:49] ... Signature verification for file NDP40-KB2656368.msp (d:\\...) failed with error 0x800b010e (...)
  [4/24/2012, 8:54:51] Final Result: Installation failed with error code: (0x800B010B), "..." (Elapsed time: ...)
WindowsUpdate.log lines are tab-separated: date, time, process, thread, component, text; a failure names
`0x8...` and usually the KB.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from imgscan.logs import LogEntry, canonical, moment, subjects_of
from imgscan.logs.text import lines

DOTNET_LINE = re.compile(r"^\[(\d{1,2}/\d{1,2}/\d{4}), (\d{1,2}:\d{2}:\d{2})\]\s*(.*)$")
SIGNATURE = re.compile(r"Signature verification for file (\S+) .*?failed with error (0x[0-9a-fA-F]{8})")
FINAL = re.compile(r"Final Result: Installation failed with error code: \((0x[0-9a-fA-F]{8})\)")
TAG = re.compile(r"<[^>]+>")
WU_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})\t(\d{2}:\d{2}:\d{2})[:.]\d+\t[^\t]*\t[^\t]*\t([^\t]*)\t(.*)$")
WU_FAILURE = re.compile(r"(?i)(?:fail|fatal|error)[^\n]*?(0x8[0-9a-f]{7})")


def read_dotnet(fh: BinaryIO, path: str, kb: str | None) -> Iterator[LogEntry]:
    """Signature verification failures and the final result of a .NET/VS setup log; never raises on any
    bytes (a line with an impossible date keeps its entry without a time; fuzz/fuzz_setup_log.py)."""
    subjects = (kb,) if kb else ()
    for number, line, _cut in lines(fh):
        text = TAG.sub("", line).strip()
        match = DOTNET_LINE.match(text)
        if match is None:
            continue
        stamp = moment(f"{match.group(1)} {match.group(2)}", "%m/%d/%Y %H:%M:%S")
        message = match.group(3)
        if found := SIGNATURE.search(message):
            yield LogEntry(
                path, number, stamp, "Error", "setup: signature", message, canonical(found.group(2)), subjects + (found.group(1),)
            )
        elif found := FINAL.search(message):
            yield LogEntry(path, number, stamp, "Error", "setup: final result", message, canonical(found.group(1)), subjects)


def read_windowsupdate(fh: BinaryIO, path: str) -> Iterator[LogEntry]:
    """The failures WindowsUpdate.log records (a failure word and a 0x8... code); never raises on any bytes."""
    for number, line, _cut in lines(fh):
        match = WU_LINE.match(line)
        if match is None:
            continue
        date, time, component, text = match.groups()
        if failure := WU_FAILURE.search(text):
            yield LogEntry(
                path,
                number,
                moment(f"{date} {time}"),
                "Error",
                f"WindowsUpdate {component.strip()}",
                text.strip(),
                canonical(failure.group(1)),
                subjects_of(text),
            )
