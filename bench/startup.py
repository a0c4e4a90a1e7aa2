"""Start-up cost of the quick subcommands, as CPU time of whole processes against a bare interpreter.

    python3 bench/startup.py [--runs 10]

For each command the best of --runs runs (user + system CPU of the process, from wait4) is
printed in seconds and as a ratio to `python3 -c pass` measured in the same run. Target:
`--version`, `--help`, `explain` and `plugins` each under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

COMMANDS = {
    "bare interpreter": [sys.executable, "-c", "pass"],
    "imgscan --version": [sys.executable, "-m", "imgscan", "--version"],
    "imgscan --help": [sys.executable, "-m", "imgscan", "--help"],
    "imgscan explain 0x800b0101": [sys.executable, "-m", "imgscan", "explain", "0x800b0101"],
    "imgscan plugins": [sys.executable, "-m", "imgscan", "plugins"],
}
TARGET = 0.3


def cpu_seconds(command: list[str]) -> float:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    best = {name: min(cpu_seconds(command) for _ in range(args.runs)) for name, command in COMMANDS.items()}
    floor = best["bare interpreter"]
    for name, seconds in best.items():
        verdict = "" if name == "bare interpreter" else ("  ok" if seconds < TARGET else f"  over {TARGET} s")
        print(f"{name:<30} {seconds:6.3f} s CPU  {seconds / floor:5.1f}x the bare interpreter{verdict}")


if __name__ == "__main__":
    main()
