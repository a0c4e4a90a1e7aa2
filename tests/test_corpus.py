"""The bad-input corpus (tests/corpus/generate.py): every damaged input ends in a report or in one
clear line, never an internal error, never a change to the input, and within bounded memory.

CI runs the representative subset (one oddity per artefact kind, one truncation and one bit flip per
container format, and every other class); the full corpus (over 250 inputs) runs with

    IMGSCAN_FULL_CORPUS=1 python3 -m pytest tests/test_corpus.py
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from imgscan.hashing import tree_sha256
from tests.corpus.generate import Case, generate

FULL = os.environ.get("IMGSCAN_FULL_CORPUS") == "1"
MEMORY_LIMIT_MB = 1024
# root that obeys file modes, so the "unreadable" cases really are unreadable
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture(scope="module")
def corpus() -> Iterator[list[Case]]:
    # outside pytest's own temp folders: their clean-up (shutil.rmtree, recursive) cannot remove the corpus's
    # 3,000-level tree, and would fail the whole session on it if a killed run left one behind
    out = Path(tempfile.mkdtemp(prefix="imgscan-corpus-"))
    try:
        cases = generate(out)
        yield cases if FULL else [c for c in cases if not c.slow]
    finally:
        subprocess.run(["rm", "-rf", str(out)], check=False)


def _fingerprint(path: Path) -> str:
    if path.is_dir():
        return tree_sha256(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(case: Case) -> str | None:
    """None when the case behaves, else what went wrong."""
    before = _fingerprint(case.path)
    with tempfile.TemporaryFile("w+", errors="replace") as out, tempfile.TemporaryFile("w+", errors="replace") as err:
        proc = subprocess.Popen(
            [*NO_DAC, sys.executable, "-m", "imgscan", "scan", str(case.path), "--format", "json", *case.args],
            stdout=out,
            stderr=err,
        )
        timer = threading.Timer(600, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory, not the pool's
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    problems = []
    if "internal error" in stderr or "Traceback" in stderr:
        problems.append(f"internal error: {stderr.strip().splitlines()[-1]}")
    if proc.returncode in (0, 1):
        try:
            json.loads(stdout)
        except ValueError:
            problems.append("exit 0/1 without a JSON report")
    elif proc.returncode == 2:
        lines = stderr.strip().splitlines()
        if not case.may_be_unreadable:
            problems.append(f"exit 2 on a readable input: {stderr.strip()}")
        elif len(lines) != 1:
            problems.append(f"exit 2 with {len(lines)} stderr lines")
    else:
        problems.append(f"exit {proc.returncode}")
    if _fingerprint(case.path) != before:
        problems.append("the input changed")
    if usage.ru_maxrss / 1024 > MEMORY_LIMIT_MB:
        problems.append(f"peak memory {usage.ru_maxrss / 1024:.0f} MB")
    return "; ".join(problems) or None


def test_corpus_size(corpus):
    if FULL:
        assert len(corpus) >= 200
    classes = {c.klass for c in corpus}
    assert classes == {"odd-artefact", "tree", "hive-cells", "xml-bomb", "long-line", "container", "hostile-wim"}


def test_every_damaged_input_gets_a_report_or_one_line(corpus):
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        outcomes = list(pool.map(_run, corpus))
    failures = [f"{case.name}: {problem}" for case, problem in zip(corpus, outcomes, strict=True) if problem]
    assert not failures, "\n".join(failures)
