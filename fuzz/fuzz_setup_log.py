"""The update setup log readers: .NET/Visual Studio setup logs (`imgscan.logs.setup.read_dotnet`) and
WindowsUpdate.log (`read_windowsupdate`).

Input: a log file's bytes.

Contract (the readers' docstrings):
- both yield `LogEntry` records and never raise on any bytes (a line with an impossible date is
  skipped, the rest of the log is still read);
- entries in line order, with canonical codes and text bounded by the line limit; the .NET reader
  names the update it was given;
- memory bounded by one line, time linear in the input (1 GB, 10 s per input at most).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented
from fuzz.logs import checked, shortened

with instrumented(__name__):
    from imgscan.logs.setup import read_dotnet, read_windowsupdate

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=8192, ci_runs=3000)


def check(data: bytes) -> None:
    with shortened():
        for entry in checked(read_dotnet(io.BytesIO(data), "KB2656368.html", kb="KB2656368"), data):
            assert entry.subjects[0] == "KB2656368"
        checked(read_windowsupdate(io.BytesIO(data), "WindowsUpdate.log"), data)


def seeds() -> Iterator[bytes]:
    """The sample .NET setup log, and WindowsUpdate.log lines as the agent writes them."""
    from fuzz.sources import sample_files

    yield from (log[:4096] for log in sample_files(".html"))
    yield (
        b"2013-07-01\t09:00:00:000\t 900\t 1f0\tAgent\t*************\n"
        b"2013-07-01\t09:00:01:123\t 900\t 1f0\tHandler\tFATAL: UH: 0x80070643: Installation failure for KB2656368\n"
        b"2013-07-01\t09:00:02:456\t 900\t 1f0\tAgent\tWARNING: Failed to evaluate Installed rule, error = 0x80240017\n"
    )


if __name__ == "__main__":
    fuzz(check, LIMITS)
