"""What a fleet run says while it works: a bar of hosts done, failing so far and the time left (on a
terminal), and with -v one line per host as it is judged.

The lines go to stderr through the bar (tqdm.write), so they never tear it; stdout stays the summary.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from imgscan import progress
from imgscan.severity import Severity


class Feedback:
    def __init__(self, total: int, fail_on: Severity, verbose: bool) -> None:
        self.fail_on = fail_on
        self.verbose = verbose
        self.failing = 0
        self.unreadable = 0
        disabled = not progress.ENABLED["progress"] or not sys.stderr.isatty()
        self.bar = tqdm(total=total, desc="hosts", unit="host", file=sys.stderr, disable=disabled, leave=False)

    def __enter__(self) -> Feedback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def done(self, row: dict[str, Any]) -> None:
        """One host judged (or unreadable): count it, and with -v say so."""
        fails = bool(row["worst"]) and Severity.parse(str(row["worst"])) >= self.fail_on
        self.failing += fails
        self.unreadable += row["status"] == "error"
        self.bar.update(1)
        self.bar.set_postfix(failing=self.failing, unreadable=self.unreadable, refresh=False)
        if self.verbose:
            tqdm.write(line(row, fails), file=sys.stderr)


def line(row: dict[str, Any], fails: bool) -> str:
    """A host's progress line: its name and verdict, with the worst severity and the day it starts failing."""
    if row["status"] == "error":
        return f"{row['host']}: unreadable: {row['error']}"
    if not fails:
        return f"{row['host']}: pass" + (f" (worst {row['worst']})" if row["worst"] else "")
    return f"{row['host']}: fail, {row['worst']}" + (f", from {row['first_failure']}" if row["first_failure"] else "")
