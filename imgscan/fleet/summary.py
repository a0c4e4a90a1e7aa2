"""The fleet summary: one row per host, sorted by the day it starts failing, and its views.

The HTML view adds a chart of how many hosts fail by each date (a step line in
inline SVG), the fleet-level picture of seed 001: every host built from the
image fails on the same day.
"""

from __future__ import annotations

import csv
import io
import json

from imgscan.check import Severity
from imgscan.views.html import render
from imgscan.views.text import columns

COLUMNS = ("host", "image", "worst", "rules", "first_failure", "status")


def summarize(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    table = [
        {"host": r["host"], "image": r["path"], "worst": r["worst"] or "", "rules": r["rules"] or "",
         "first_failure": r["first_failure"] or "", "status": "error: " + str(r["error"]) if r["status"] == "error" else "ok",
         "labels": r["labels"]}
        for r in rows
    ]
    return sorted(table, key=lambda r: (r["first_failure"] or "9999", str(r["host"]).lower()))


def gating(summary: list[dict[str, object]], fail_on: Severity) -> int:
    return sum(1 for r in summary if r["worst"] and Severity.parse(str(r["worst"])) >= fail_on)


def to_table(summary: list[dict[str, object]]) -> str:
    rows = [["HOST", "IMAGE", "WORST", "RULES", "FIRST FAILURE", "STATUS"]]
    rows += [[str(r[c]) for c in COLUMNS] for r in summary]
    errors = sum(1 for r in summary if str(r["status"]).startswith("error"))
    return "\n".join(columns(rows) + ["", f"{len(summary)} host(s), {errors} unreadable"]) + "\n"


def to_json(summary: list[dict[str, object]]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False) + "\n"


def to_csv(summary: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary)
    return out.getvalue()


def failures_by_date(summary: list[dict[str, object]]) -> list[tuple[str, int]]:
    """(date, hosts failing on or before it) at every date on which the count grows."""
    days = sorted(str(r["first_failure"]) for r in summary if r["first_failure"])
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
        "fleet.html.j2", summary=summary, points=points, width=width, height=height, left=left, bottom=bottom, total=len(summary),
        gating=gating(summary, fail_on), fail_on=str(fail_on),
    )
