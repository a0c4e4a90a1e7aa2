"""Saved JSON reports (tests/data/golden) of the bundled sample images: the regression baseline a refactoring must keep.

python -m tests.golden        rewrite them from the current code (review the diff before committing)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAVED = REPO / "tests" / "data" / "golden"
CASES = {  # saved report -> (image, as-of day)
    "ws-acc-0417-2013-07-01.json": ("sample_images/built/ws-acc-0417.vhdx", "2013-07-01"),
    "ref-w7-2012q3-2012-12-01.json": ("sample_images/built/ref-w7-2012q3.vhdx", "2012-12-01"),
    "ref-w7-2012q3-2013-07-01.json": ("sample_images/built/ref-w7-2012q3.vhdx", "2013-07-01"),
    "healthy-2013-07-01.json": ("sample_images/built/healthy.vhdx", "2013-07-01"),
}


def report(image: str, as_of: str) -> str:
    """The JSON report of one image, scanned from the repository root as a user would, without the list of
    checks that ran (which grows with every new check; tests/unit tests each check on its own). The rest is
    the report's own bytes: it is written back exactly as the JSON view writes it."""
    run = subprocess.run(
        [sys.executable, "-m", "imgscan", "scan", image, "--as-of", as_of, "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr
    parsed = json.loads(run.stdout)
    assert _dumps(parsed) == run.stdout  # written back byte for byte as the JSON view writes it
    del parsed["inventory"]["checks"]
    return _dumps(parsed)


def _dumps(report: object) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, (image, as_of) in CASES.items():
        (SAVED / name).write_text(report(image, as_of), encoding="utf-8")
        print("wrote", name)
