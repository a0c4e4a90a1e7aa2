"""Run the fuzz harnesses.

python -m fuzz run [--minutes 10] [--seed 1] [--work fuzz/work] [HARNESS...]
    every harness (or those named) in turn for that long each; prints executions, coverage
    (libFuzzer's cov: and ft:) and crashes per harness. A crashing input is left in
    WORK/crashes/<harness>/: fix the reader, then commit the input (minimised with
    `python -m fuzz.fuzz_<harness> -minimize_crash=1 -runs=10000 FILE` when large) as
    fuzz/regressions/<harness>/<what-it-is>; tests/test_fuzz.py replays every such file.
python -m fuzz run --runs 2000 ...     a fixed number of executions instead (what the tests run)
python -m fuzz seeds OUT [HARNESS...]  write the seed corpora only
python -m fuzz list                    the harnesses
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fuzz.runner import FUZZ, HARNESSES, run, write_seeds


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run")
    runner.add_argument("harnesses", nargs="*", choices=[*HARNESSES, []], metavar="HARNESS")
    budget = runner.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=10)
    budget.add_argument("--runs", type=int)
    runner.add_argument("--seed", type=int, default=1)
    runner.add_argument("--work", type=Path, default=FUZZ / "work")
    seeder = commands.add_parser("seeds")
    seeder.add_argument("out", type=Path)
    seeder.add_argument("harnesses", nargs="*", choices=[*HARNESSES, []], metavar="HARNESS")
    commands.add_parser("list")
    args = parser.parse_args()

    if args.command == "list":
        print("\n".join(HARNESSES))
        return 0
    names = args.harnesses or list(HARNESSES)
    if args.command == "seeds":
        for name in names:
            print(f"{name}: {write_seeds(name, args.out / name)} seed(s)")
        return 0
    failed = 0
    for name in names:
        outcome = run(name, args.work, seed=args.seed, runs=args.runs or 0, seconds=0 if args.runs else round(args.minutes * 60))
        print(outcome.line(), flush=True)
        if stat := outcome.stat():
            print(f"    {stat}")
        for crash in outcome.crashes:
            print(f"    crash: {crash}")
        failed += outcome.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
