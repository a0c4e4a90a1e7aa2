"""What a fleet run says while it works: a bar of hosts done, failing so far and the time left (on a
terminal), and with -v one line per host as it is judged.

The lines go to stderr through the bar (tqdm.write), so they never tear it; stdout stays the summary.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from imgscan import progress
from imgscan.fleet.summary import first_failing_day
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

    def done(self, rows: list[dict[str, Any]]) -> None:
        """Hosts judged (or unreadable), an image's at a time: count them, and with -v say so. The bar moves
        once per image, not per host: updating it for each of 10,000 hosts was a tenth of the parent's CPU
        (bench/fleet.py, issue 24)."""
        for row in rows:
            fails = bool(row["worst"]) and Severity.parse(str(row["worst"])) >= self.fail_on
            self.failing += fails
            self.unreadable += row["status"] == "error"
            if self.verbose:
                day = first_failing_day(row["failing_days"], row["first_failure"], self.fail_on) if fails else ""
                tqdm.write(line(row, fails, day), file=sys.stderr)
        self.bar.update(len(rows))
        self.bar.set_postfix(failing=self.failing, unreadable=self.unreadable, refresh=False)


def line(row: dict[str, Any], fails: bool, day: str) -> str:
    """A host's progress line: its name and verdict, with the worst severity and the day it starts failing. A
    host the host list does not name goes by its image's ComputerName, shared by copies of that image: its
    image is named too, so that two such lines can be told apart."""
    image = row.get("image")
    who = f"{row['host']} ({image})" if image and image != row["host"] else str(row["host"])
    if row["status"] == "error":
        return f"{who}: unreadable: {row['error']}"
    if row["error"]:  # judged, but a check crashed (fleet.store.incomplete)
        return f"{who}: " + ("fail, " if fails else "") + f"incomplete: {row['error']}"
    if not fails:
        return f"{who}: pass" + (f" (worst {row['worst']})" if row["worst"] else "")
    return f"{who}: fail, {row['worst']}" + (f", from {day}" if day else "")
