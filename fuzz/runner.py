"""Seed corpora, libFuzzer runs of the harnesses, and what a run found, for `python -m fuzz` and the tests."""

from __future__ import annotations

import hashlib
import importlib
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from fuzz.engine import STAT

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
REGRESSIONS = FUZZ / "regressions"
HARNESSES = tuple(sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py")))
# what libFuzzer writes for a failed input; its "slow-unit-" files are inputs that took long in wall time,
# which on a shared machine says more about the scheduler than the reader (the CPU limit is in engine.py)
FAILURES = ("crash-", "timeout-", "oom-", "leak-")
MAX_SEEDS = 40  # per harness: enough shapes to start from, few enough for a short run to get past them


def harness(name: str) -> ModuleType:
    return importlib.import_module(f"fuzz.fuzz_{name}")


def write_seeds(name: str, out: Path) -> int:
    """Write the harness' seed inputs into `out` (one file each, named by content); how many."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for data in harness(name).seeds():
        if written >= MAX_SEEDS:
            break
        target = out / f"seed-{hashlib.sha1(data).hexdigest()[:16]}"
        if not target.exists():
            target.write_bytes(data)
            written += 1
    return written


def regression_files(name: str) -> list[Path]:
    folder = REGRESSIONS / name
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def command(name: str, corpus: Path, seeds: Path, crashes: Path, *, seed: int, runs: int = 0, seconds: int = 0) -> list[str]:
    """The libFuzzer run of one harness: new inputs go to `corpus`, `seeds` is read only, a crashing
    input is written to `crashes`. Bounded by `runs` executions or `seconds` of fuzzing."""
    crashes.mkdir(parents=True, exist_ok=True)
    corpus.mkdir(parents=True, exist_ok=True)
    flags = [f"-seed={seed}", f"-artifact_prefix={crashes}/"]
    flags += [f"-runs={runs}"] if runs else [f"-max_total_time={seconds}"]
    return [sys.executable, "-m", f"fuzz.fuzz_{name}", *flags, str(corpus), str(seeds)]


@dataclass
class Outcome:
    name: str
    returncode: int
    executions: int | None
    coverage: int | None  # libFuzzer's cov: (edges reached)
    features: int | None  # libFuzzer's ft:
    corpus: int | None
    crashes: list[Path]
    log: str
    cpu_seconds: float = 0.0  # what the run cost in CPU: on a shared machine far less than its wall time

    def stat(self) -> str | None:
        """The last of the harness' own figures (engine.STAT lines) in the run's log."""
        found = [line.removeprefix(STAT) for line in self.log.splitlines() if line.startswith(STAT)]
        return found[-1] if found else None

    def line(self) -> str:
        status = "ok" if self.returncode == 0 else f"exit {self.returncode}"
        return (
            f"{self.name:16} {status:8} executions {self.executions or 0:>10,}  cov {self.coverage or 0:>6}  "
            f"ft {self.features or 0:>7}  corpus {self.corpus or 0:>6}  crashes {len(self.crashes)}  "
            f"cpu {self.cpu_seconds:>6.0f} s"
        )


def _last(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else None


def run(name: str, work: Path, *, seed: int, runs: int = 0, seconds: int = 0, timeout: float | None = None) -> Outcome:
    """Seed (once) and run one harness under `work`; its log is kept in work/logs/<name>.log."""
    seeds, corpus, crashes = work / "seeds" / name, work / "corpus" / name, work / "crashes" / name
    if not seeds.is_dir():
        write_seeds(name, seeds)
    before = set(crashes.glob("*")) if crashes.is_dir() else set()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        command(name, corpus, seeds, crashes, seed=seed, runs=runs, seconds=seconds),
        cwd=REPO,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    log = proc.stderr + proc.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    (work / "logs" / f"{name}.log").write_text(log)
    return Outcome(
        name=name,
        returncode=proc.returncode,
        executions=_last(r"stat::number_of_executed_units:\s*(\d+)", log),
        coverage=_last(r"cov: (\d+)", log),
        features=_last(r"ft: (\d+)", log),
        corpus=_last(r"corp: (\d+)", log),
        crashes=sorted(p for p in set(crashes.glob("*")) - before if p.name.startswith(FAILURES)),
        log=log,
        cpu_seconds=after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime,
    )
