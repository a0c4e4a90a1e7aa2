"""The fleet summary: one row per host, sorted by the day it starts failing, and its views.

Each row says whether the image could be scanned (SCAN: scanned / unreadable)
and, by --fail-on, whether the host fails (VERDICT: fail / pass). FIRST FAILURE
is the first day a prediction starts, or the day a log first shows a failure.
The HTML view adds a chart of how many hosts fail by each date (a step line in
inline SVG); a failing host without a dated finding counts from the scan's
as-of day. Built from one golden image, a whole fleet typically fails on the
same day.
"""

from __future__ import annotations

import csv
import io
import json
from typing import cast

from imgscan.check import Severity
from imgscan.views.columns import columns
from imgscan.views.html import render

COLUMNS = ("host", "image", "scan", "verdict", "worst", "rules", "first_failure", "error")


def summarize(rows: list[dict[str, object]], fail_on: Severity) -> list[dict[str, object]]:
    table = []
    for r in rows:
        scanned = r["status"] != "error"
        fails = scanned and bool(r["worst"]) and Severity.parse(str(r["worst"])) >= fail_on
        table.append(
            {
                "host": r["host"],
                "image": r["path"],
                "scan": "scanned" if scanned else "unreadable",
                "verdict": ("fail" if fails else "pass") if scanned else "",
                "worst": r["worst"] or "",
                "rules": r["rules"] or "",
                "first_failure": r["first_failure"] or "",
                "error": "" if scanned else str(r["error"]),
                "as_of": r.get("as_of") or "",
                "labels": r["labels"],
                # catalogs this scan took from the fleet's verdict cache, and those it judged itself
                "verdicts_reused": r.get("verdicts_reused"),
                "verdicts_judged": r.get("verdicts_judged"),
            }
        )
    return sorted(table, key=lambda r: (r["first_failure"] or "9999", str(r["host"]).lower()))


def gating(summary: list[dict[str, object]]) -> int:
    return sum(1 for r in summary if r["verdict"] == "fail")


def to_table(summary: list[dict[str, object]]) -> str:
    rows = [["HOST", "IMAGE", "SCAN", "VERDICT", "WORST", "RULES", "FIRST FAILURE", "ERROR"]]
    rows += [[str(r[c]) for c in COLUMNS] for r in summary]
    unreadable = sum(1 for r in summary if r["scan"] == "unreadable")
    foot = [f"{len(summary)} host(s): {gating(summary)} fail, {unreadable} unreadable"]
    reused = sum(cast(int, r["verdicts_reused"] or 0) for r in summary)
    judged = sum(cast(int, r["verdicts_judged"] or 0) for r in summary)
    if reused or judged:
        foot.append(
            f"verdict cache: {reused} catalog verdict(s) reused, {judged} judged ({100 * reused / (reused + judged):.0f}% hits)"
        )
    return "\n".join(columns(rows) + ["", *foot]) + "\n"


def to_json(summary: list[dict[str, object]]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"


def to_csv(summary: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary)
    return out.getvalue()


def failures_by_date(summary: list[dict[str, object]]) -> list[tuple[str, int]]:
    """(date, hosts failing on or before it) at every date on which the count grows: every host that
    fails counts, one without a dated finding from its scan's as-of day."""
    days = sorted(
        str(r["first_failure"] or r["as_of"]) for r in summary if r["first_failure"] or (r["verdict"] == "fail" and r["as_of"])
    )
    steps: list[tuple[str, int]] = []
    for count, day in enumerate(days, 1):
        if steps and steps[-1][0] == day:
            steps[-1] = (day, count)
        else:
            steps.append((day, count))
    return steps


def to_html(summary: list[dict[str, object]], fail_on: Severity) -> str:
    steps = failures_by_date(summary)
    width, height, left, bottom = 900, 260, 60, 40
    total = max(len(summary), 1)
    points = []
    if steps:
        from datetime import date

        first, last = date.fromisoformat(steps[0][0]), date.fromisoformat(steps[-1][0])
        span = max((last - first).days, 1)
        x = lambda d: round(left + (width - left - 20) * (date.fromisoformat(d) - first).days / span, 1)  # noqa: E731
        y = lambda n: round(height - bottom - (height - bottom - 20) * n / total, 1)  # noqa: E731
        previous = y(0)
        for day, count in steps:
            points.append({"x": x(day), "y_before": previous, "y": y(count), "day": day, "count": count})
            previous = y(count)
    return render(
        "fleet.html.j2",
        summary=summary,
        points=points,
        width=width,
        height=height,
        left=left,
        bottom=bottom,
        total=len(summary),
        gating=gating(summary),
        fail_on=str(fail_on),
    )
