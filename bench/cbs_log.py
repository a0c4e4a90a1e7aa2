"""CBS.log parsing throughput and memory: a generated log of realistic lines, parsed end to end.

    python3 bench/cbs_log.py [--mb 500] [--work DIR]

Writes (once, cached) a CBS.log of MB megabytes: ordinary CBS/CSI lines, indented
continuation lines, an Info-level failure code on about 2% of the lines (the real
CBS.log in ../shared/realdata has under 1%), and a failure cascade every few
thousand lines. Then it times `read_cbs` folded into failure groups exactly as a
scan does (one core), against the floor of merely reading the same file's lines
in the same process, and reports MB/s and peak traced memory for the full log
and for a tenth of it: memory must not grow with the log.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgscan.logs.cbs import read_cbs  # noqa: E402
from imgscan.logs.collect import _Folder  # noqa: E402
from sample_images.logs import _expired_catalog_cascade, cbs_line  # noqa: E402

ROUTINE = (
    (
        "Info",
        "CBS",
        "Loaded Servicing Stack v6.1.7601.17592 with Core: C:\\Windows\\winsxs\\amd64_microsoft-windows-"
        "servicingstack_31bf3856ad364e35_6.1.7601.17592_none_672ce6b7e8b9c494\\cbscore.dll",
    ),
    (
        "Info",
        "CSI",
        "00000001@2013/6/1:07:04:00.123 WcpInitialize (wcp.dll version 0.0.0.6) called "
        "(stack @0x7fef65fdb5d @0x7fef6b6a9f6 @0x7fef6b6a4b0)",
    ),
    (
        "Info",
        "CBS",
        "Read out cached package applicability for package: Package_for_KB2506212~31bf3856ad364e35~amd64~~"
        "6.1.1.0, ApplicableState: 112, CurrentState:112",
    ),
    ("Info", "CBS", "Session: 30307881_965955247 initialized by client WindowsUpdateAgent."),
    ("Info", "CSI", '00000002 Creating NT transaction (seq 1), objectname [6]"(null)"'),
    ("Info", "CBS", "Exec: Processing started.  Client: WindowsUpdateAgent, Session(Id): 30307881_965955247"),
)


def build(path: Path, megabytes: int) -> None:
    if path.exists() and path.stat().st_size >= megabytes << 20:
        return
    moment = datetime(2013, 6, 1)
    with path.open("w", encoding="utf-8", newline="\r\n") as out:
        written = 0
        n = 0
        while written < megabytes << 20:
            block = []
            for i in range(48):
                level, component, text = ROUTINE[i % len(ROUTINE)]
                block.append(cbs_line(moment + timedelta(seconds=i), level, component, text))
                if i % 12 == 0:
                    block.append("    continuation: TxfTransactionHandle 0x00000000000001c4")
            block.append(
                cbs_line(
                    moment,
                    "Info",
                    "CBS",
                    "Failed to find a matching version for servicing stack [HRESULT = 0x80070490 - ERROR_NOT_FOUND]",
                )
            )
            if n % 100 == 0:
                block += _expired_catalog_cascade(moment, f"Package_{n % 7}_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1")
            text = "\n".join(block) + "\n"
            out.write(text)
            written += len(text)
            moment += timedelta(seconds=50)
            n += 1


def parse(path: Path, limit: int | None = None) -> tuple[float, int]:
    folder = _Folder(date(2100, 1, 1))
    start = time.perf_counter()
    with path.open("rb") as fh:
        entries = read_cbs(fh, "CBS.log", failures_only=True)
        if limit:
            entries = (e for e in entries if e.line <= limit)
        folder.fold("cbs", entries)
    return time.perf_counter() - start, len(folder.groups)


def floor(path: Path) -> float:
    start = time.perf_counter()
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for _ in fh:
            pass
    return time.perf_counter() - start


def peak(path: Path) -> int:
    tracemalloc.start()
    parse(path)
    _, high = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "imgscan-bench-cbs")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    full, tenth = args.work / f"CBS-{args.mb}.log", args.work / f"CBS-{args.mb // 10}.log"
    build(full, args.mb)
    build(tenth, args.mb // 10)
    size = full.stat().st_size / 1e6
    read_floor = min(floor(full) for _ in range(2))
    elapsed, groups = min(parse(full) for _ in range(2))
    print(f"log: {size:.0f} MB, {groups} failure groups")
    print(
        f"line-read floor {size / read_floor:.0f} MB/s; CBS parse + fold {size / elapsed:.1f} MB/s on one core "
        f"({elapsed / read_floor:.1f}x the floor)"
    )
    print(
        f"peak traced memory: {peak(tenth) / 1e6:.2f} MB for {tenth.stat().st_size / 1e6:.0f} MB, "
        f"{peak(full) / 1e6:.2f} MB for {size:.0f} MB"
    )


if __name__ == "__main__":
    main()
