"""The CBS.log and CheckSUR.log readers (`imgscan.logs.cbs.read_cbs`, `read_checksur`) and the line
reader under them (`imgscan.logs.text.lines`).

Input: a log file's bytes (any encoding: the readers sniff a BOM).

Contract (the readers' docstrings):
- every reader yields `LogEntry` records and never raises on any bytes (a damaged line is skipped or
  kept as text, never the end of the log);
- entries come in line order, with canonical codes and text bounded by the entry and line limits;
- read_cbs(failures_only=True) yields exactly the entries with a code that the full read yields;
- memory bounded by one line and one entry, time linear in the input (1 GB, 10 s per input at most).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented
from fuzz.logs import checked, shortened

with instrumented(__name__):
    from imgscan.logs.cbs import read_cbs, read_checksur

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=8192, ci_runs=3000)


def check(data: bytes) -> None:
    with shortened():
        every = checked(read_cbs(io.BytesIO(data), "CBS.log"), data)
        failures = checked(read_cbs(io.BytesIO(data), "CBS.log", failures_only=True), data)
        assert [e for e in failures if e.hresult] == [e for e in every if e.hresult]
        checked(read_checksur(io.BytesIO(data), "CheckSUR.log"), data)


def seeds() -> Iterator[bytes]:
    """The sample logs, the real CBS.log cut into pieces around its failures, and the same in UTF-16."""
    from fuzz.sources import real_files, sample_files

    samples = [*sample_files("CBS.log"), *sample_files("CheckSUR.log")]
    for real in real_files("cbslogs", ".log"):
        lines = real.splitlines(keepends=True)
        samples += [b"".join(lines[max(n - 3, 0) : n + 3]) for n, line in enumerate(lines) if b"HRESULT" in line]
        samples.append(b"".join(lines[:20]))
    for sample in samples:
        yield sample[:4096]
    for sample in samples[:3]:
        yield b"\xff\xfe" + sample[:2048].decode("utf-8", "replace").encode("utf-16-le")


if __name__ == "__main__":
    fuzz(check, LIMITS)
