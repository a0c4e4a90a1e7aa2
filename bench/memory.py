"""Peak memory of whole scans against the stated bounds: many large profile hives, and a CBS.log
with a very large number of distinct failures.

    python3 bench/memory.py [--profiles 2000] [--profile-mb 1.3] [--lines 200000] [--codes 65536] [--work DIR]
                            [--cases profiles,log,codes]

Each case is a directory tree built from the healthy sample scenario, scanned by a real
`imgscan scan` process whose peak resident memory (ru_maxrss, from wait4) is read for that
process alone. The floor is the same scan of the unchanged tree, measured in the same run, so
the figures are printed both in MB and as a ratio to that floor.

- profiles: the tree gains N profile folders under Users, each with an NTUSER.DAT of about
  --profile-mb MB (a link to one padded hive file, read separately for every profile, so the
  benchmark does not need N copies on disk). Bound: 300 MB for 2,000 profiles of 1.3 MB.
- log: Windows\\Logs\\CBS\\CBS.log with --lines Error lines, each for a different package.
  Bound: the report stays bounded (one finding per log group, MAX_GROUPS groups) and memory
  stays near the floor.
- codes: the same log whose HRESULTs also run through --codes distinct values. Bound: at most a
  few hundred findings (MAX_GROUPS + 1), under 150 MB peak and a report under 2 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sample_images.logs import write_distinct_failures  # noqa: E402
from sample_images.regf import Key, Value, build_hive  # noqa: E402
from sample_images.scenario import load, write_tree  # noqa: E402


def scan(tree: Path) -> tuple[float, float, dict]:
    """(peak RSS in MB, seconds, report) of one `imgscan scan` process."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgscan", "scan", str(tree), "--as-of", "2013-07-01", "--format", "json"],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        out.seek(0)
        report = json.loads(out.read())
    return usage.ru_maxrss / 1024, time.monotonic() - started, report


def padded_hive(megabytes: float) -> bytes:
    root = Key("ROOT")
    root.set(
        r"Software\Microsoft\Windows\CurrentVersion\WinTrust\Trust Providers\Software Publishing", Value.dword("State", 0x23C00)
    )
    chunk = bytes(range(256)) * 16  # 4 KiB values: plain cells, no big-data records needed
    for n in range(int(megabytes * 1024 * 1024 / len(chunk))):
        root.set(rf"Software\Padding\Key{n // 64:04d}", Value.binary(f"Value{n:05d}", chunk))
    return build_hive(root, r"\??\C:\Users\bench\ntuser.dat", datetime(2013, 1, 1, tzinfo=timezone.utc))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--profile-mb", type=float, default=1.3)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--codes", type=int, default=65_536)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--cases", default="profiles,log,codes", help="which cases to run (the floor always runs)")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    work = args.work or Path(tempfile.mkdtemp(prefix="imgscan-bench-memory-"))

    floor_tree = write_tree(load("healthy"), work / "floor")
    floor_mb, floor_s, _ = scan(floor_tree)
    print(f"floor (healthy tree): {floor_mb:.0f} MB peak, {floor_s:.1f} s")

    if "profiles" in cases:
        profiles_case(args, work, floor_mb)
    for case, codes in (("log", 1), ("codes", args.codes)):
        if case in cases:
            log_case(args, work, floor_mb, case, codes)


def profiles_case(args: argparse.Namespace, work: Path, floor_mb: float) -> None:
    profiles = write_tree(load("healthy"), work / "profiles")
    hive = profiles / "padded-ntuser.dat"
    hive.write_bytes(padded_hive(args.profile_mb))
    for n in range(args.profiles):
        folder = profiles / "Users" / f"user{n:05d}"
        folder.mkdir()
        (folder / "NTUSER.DAT").symlink_to(os.path.relpath(hive, folder))
    peak, seconds, report = scan(profiles)
    hives = sum(1 for h in report["inventory"]["hives"] if h["role"] == "user")
    print(
        f"profiles: {args.profiles} x {hive.stat().st_size / 1e6:.2f} MB hives ({hives} user hives read): "
        f"{peak:.0f} MB peak ({peak / floor_mb:.2f}x the floor), {seconds:.1f} s; bound 300 MB: "
        f"{'met' if peak <= 300 else 'MISSED'}"
    )


def log_case(args: argparse.Namespace, work: Path, floor_mb: float, case: str, codes: int) -> None:
    logs = write_tree(load("healthy"), work / case)
    log = logs / "Windows" / "Logs" / "CBS" / "CBS.log"
    write_distinct_failures(log, args.lines, codes)
    peak, seconds, report = scan(logs)
    findings = sum(1 for f in report["findings"] if f["rule"] == "cbs-log-error")
    size = len(json.dumps(report)) / 1e6
    met = findings <= 501 and peak < 150 and size < 2
    print(
        f"{case}: {args.lines} distinct failing packages under {codes} code(s) ({log.stat().st_size / 1e6:.0f} MB): "
        f"{findings} findings, {size:.2f} MB report, {peak:.0f} MB peak ({peak / floor_mb:.2f}x the floor), "
        f"{seconds:.1f} s; bound 501 findings, 150 MB, 2 MB report: {'met' if met else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
