"""The fleet summary: one row per host, sorted by the day it starts failing, and its views.

Each row says whether the image could be scanned (SCAN: scanned / unreadable,
or incomplete when a check crashed and its findings are missing) and, by
--fail-on, whether the host fails (VERDICT: fail / pass; an incomplete host
never passes: it fails or has no verdict). FIRST FAILURE
is the first day a prediction starts, or the day a log first shows a failure.
The HTML view adds a chart of how many hosts fail by each date (a step line in
inline SVG); a failing host without a dated finding counts from the scan's
as-of day. Built from one golden image, a whole fleet typically fails on the
same day.

With `--updates`, each row carries the host's verdict on each update (`updates`), and the table lists
each update's hosts by verdict: how many it fails on (will not install, or stops installing within the
horizon) and from which day. The table's last line counts the hosts by verdict, and with `--updates` the
hosts an update will not install on: the two reasons the run exits 1.

The lines that list hosts by name (which fail when, each update's verdicts) name a host that shares its
name with another listed host (copies of one image share its ComputerName) with its image as well.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from imgscan.hosts import LABELS
from imgscan.severity import Severity
from imgscan.views import json_view
from imgscan.views.columns import columns
from imgscan.views.html import render

FILTERS = ("site", "ring", "model")  # what the HTML view filters hosts by: labels, and the hardware model fact
# the per-host row of every view; columns are only appended, so older readers of the CSV keep theirs
COLUMNS = (
    "host",
    "image",
    "scan",
    "verdict",
    "worst",
    "rules",
    "first_failure",
    "error",
    "as_of",
    *LABELS,
    "model",
    "updates",
    "image_sha256",
)
NAMES_PER_LINE = 6  # a date's hosts listed by name; the rest counted
CHAR = 7.0  # a generous width of one 11 px character: date labels are kept inside the chart and apart


def first_failing_day(stored: str | None, fallback: str | None, fail_on: Severity) -> str:
    """The first day a host fails by `fail_on`, from its stored `failing_days` (stored_report.encode_failing_days
    writes them): the earliest dated day of a severity at or above it ("" when none is dated). A row stored before
    imgscan kept them (None) gives `fallback`, the first day of any of its findings."""
    if stored is None:
        return fallback or ""
    pairs = (pair.partition("=") for pair in stored.split(";") if pair)
    return min((day for level, _, day in pairs if day and Severity.parse(level) >= fail_on), default="")


def summarize(rows: list[dict[str, Any]], fail_on: Severity) -> list[dict[str, Any]]:
    """One row per host for every view. Ten thousand hosts name a few images and severities: each is worked
    out once (per host it was half the time of the summary, bench/fleet.py)."""
    table = []
    failing: dict[str, bool] = {}  # worst severity: whether it fails the gate
    labels: dict[tuple[str, object], str] = {}  # (image path, which image of a WIM): its short label
    days: dict[tuple[str | None, str | None], str] = {}  # (stored failing days, first failure): the failing day
    for r in rows:
        scanned = r["status"] != "error"
        whole = scanned and not r["error"]  # judged, and no check crashed (fleet.store.incomplete)
        worst = str(r["worst"] or "")
        if worst not in failing:
            failing[worst] = bool(worst) and Severity.parse(worst) >= fail_on
        fails = scanned and failing[worst]
        if fails and (stored := (r["failing_days"], r["first_failure"])) not in days:
            days[stored] = first_failing_day(*stored, fail_on)
        which = r.get("image_index") or r.get("image_name")
        if (r["path"], which) not in labels:
            labels[r["path"], which] = Path(str(r["path"])).name + (f" #{which}" if which else "")
        table.append(
            {
                "host": r["host"],
                "image": r["path"],
                "image_sha256": r.get("sha256") or "",  # the evidence judged (empty for a missing file or a folder not read)
                "image_index": r.get("image_index"),
                "image_name": r.get("image_name"),
                "scan": ("scanned" if whole else "incomplete") if scanned else "unreadable",
                "verdict": "fail" if fails else ("pass" if whole else ""),
                "worst": r["worst"] or "",
                "rules": r["rules"] or "",
                # the first day a finding at or above --fail-on fails: a host that passes has none
                "first_failure": days[r["failing_days"], r["first_failure"]] if fails else "",
                "error": str(r["error"] or ""),
                "as_of": r.get("judged_on") or "",  # the day the host was judged on (its deployment day when later)
                "labels": r["labels"],
                "facts": r.get("facts") or {},
                "origin": r.get("origin") or "",  # new, rescanned, retried or reused (a resumed run)
                # catalogs this host's judgement took from the fleet's verdict cache, and those it judged itself
                "verdicts_reused": r.get("verdicts_reused"),
                "verdicts_judged": r.get("verdicts_judged"),
                "updates": r.get("updates") or [],  # the host's verdict on each update of --updates
                "_image_label": labels[r["path"], which],
                **{k: r["labels"].get(k, "") for k in LABELS},
                "model": (r.get("facts") or {}).get("model") or "",
            }
        )
    _name_apart(table)
    return sorted(table, key=lambda r: (r["first_failure"] or "9999", str(r["host"]).lower(), r["_name"].lower()))


def _name_apart(table: list[dict[str, Any]]) -> None:
    """Each row's `_name`, what the summary's lines call its host: the host's name, and when another listed
    host has the same one (copies of an image share its ComputerName) with its image, by file name (and
    which image of a WIM), or by path when that too is shared, so a reader can tell which hosts fail."""
    named: dict[str, int] = {}
    for r in table:
        named[str(r["host"])] = named.get(str(r["host"]), 0) + 1
    labelled: dict[tuple[str, str], int] = {}
    for r in table:
        if named[str(r["host"])] > 1:
            key = (str(r["host"]), r["_image_label"])
            labelled[key] = labelled.get(key, 0) + 1
    for r in table:
        host = str(r["host"])
        if named[host] == 1:
            r["_name"] = host
            continue
        label = r["_image_label"]
        if labelled[host, label] > 1:  # one file name in two folders: the whole path
            label = str(r["image"]) + label[len(Path(str(r["image"])).name) :]
        r["_name"] = f"{host} ({label})"


def name(row: dict[str, Any]) -> str:
    """What the summary calls a row's host (see _name_apart)."""
    return str(row.get("_name") or row["host"])


def gating(summary: list[dict[str, Any]]) -> int:
    return sum(1 for r in summary if r["verdict"] == "fail")


def incomplete(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hosts judged without a crashed check's findings: the gate cannot pass on them."""
    return [r for r in summary if r["scan"] == "incomplete"]


def updates_gating(summary: list[dict[str, Any]]) -> int:
    """How many hosts an update will not install on (as preflight gates on an image): the run fails on any."""
    return sum(1 for r in summary if any(u["status"] == "will-not-install" for u in r["updates"]))


def by_update(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each update with the hosts it fails on, by the day it starts failing on them, and the hosts by verdict."""
    found: dict[str, dict[str, Any]] = {}
    for r in summary:
        for u in r["updates"]:
            entry = found.setdefault(u["file"], {"file": u["file"], "kb": u["kb"], "hosts": 0, "fails_from": {}, "verdicts": {}})
            entry["hosts"] += 1
            if u["fails_from"]:
                entry["fails_from"][u["fails_from"]] = entry["fails_from"].get(u["fails_from"], 0) + 1
            verdict = " ".join(filter(None, (u["status"], u["hresult"])))
            entry["verdicts"].setdefault(verdict, []).append(name(r))
    return [found[f] for f in sorted(found)]


def _update_lines(summary: list[dict[str, Any]]) -> list[str]:
    lines = []
    for entry in by_update(summary):
        days = sorted(entry["fails_from"].items())
        failing = sum(n for _, n in days)
        when = ": " + ", ".join(f"{n} from {day}" for day, n in days) if days else ""
        lines.append(f"  {entry['kb'] or '-'} {Path(entry['file']).name}: fails on {failing} of {entry['hosts']} host(s){when}")
        for verdict, names in sorted(entry["verdicts"].items()):
            lines.append(f"    {verdict}: {_listed(names)}")
    return ["", "updates, hosts by verdict:", *lines] if lines else []


def _listed(names: list[str]) -> str:
    more = len(names) - NAMES_PER_LINE
    return f"{len(names)} host(s): " + ", ".join(names[:NAMES_PER_LINE]) + (f" and {more} more" if more > 0 else "")


def to_table(summary: list[dict[str, Any]], run: dict[str, Any], verbose: bool = False) -> str:
    """The hosts, then which of them fail when, in the words of the run's dates; -v adds the verdict cache."""
    rows = [["HOST", "IMAGE", "SCAN", "VERDICT", "WORST", "FIRST FAILURE", "RULES", "ERROR"]]
    order = ("host", "_image_label", "scan", "verdict", "worst", "first_failure", "rules", "error")
    rows += [[str(r[c]) for c in order] for r in summary]
    images = len({(r["image"], r["image_index"], r["image_name"]) for r in summary})
    end = date.fromisoformat(run["as_of"]) + timedelta(days=run["horizon_days"])
    head = f"run {run['id']}: {len(summary)} host(s) on {images} image(s), judged as of {run['as_of']}, looking ahead to {end}"
    if run.get("finished_at") is None:  # interrupted, or still running
        head += " (not finished: only the hosts judged so far)"
    foot = ["", head, *_when(summary, run["as_of"], end.isoformat()), *_update_lines(summary)]
    unreadable = sum(1 for r in summary if r["scan"] == "unreadable")
    passing = sum(1 for r in summary if r["verdict"] == "pass")
    counts = f"{len(summary)} host(s): {gating(summary)} fail, {passing} pass, {unreadable} unreadable"
    counts += f", {len(broken)} incomplete (a check crashed)" if (broken := incomplete(summary)) else ""
    # the counts close the summary, after the updates: what fails the run is said on its last line (cli.fleet's
    # exit 1 comes from a host failing or an update that will not install on one, a host that passes or not)
    if updates := updates_gating(summary):
        counts += f"; {updates} host(s) where an update of --updates will not install"
    foot.append(counts)
    reused = sum(int(r["verdicts_reused"] or 0) for r in summary)
    judged = sum(int(r["verdicts_judged"] or 0) for r in summary)
    if verbose and (reused or judged):
        foot.append(
            f"verdict cache: {reused} catalog verdict(s) reused, {judged} judged ({100 * reused / (reused + judged):.0f}% hits)"
        )
    return "\n".join(columns(rows) + foot) + "\n"


def _group(row: dict[str, Any], as_of: str, end: str) -> tuple[int, str]:
    """(rank, label) of a host's line in "which hosts fail when"."""
    day = row["first_failure"]
    if row["verdict"] == "pass":
        return (3, f"passing through {end}")
    if row["verdict"] != "fail":
        return (4, "incomplete, a check crashed") if row["scan"] == "incomplete" else (5, "unreadable")
    if not day:
        return (1, "failing now, undated")
    return (0, f"failing since {day}") if day <= as_of else (2, f"failing from {day}")


def when(summary: list[dict[str, Any]], as_of: str, end: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Which hosts fail when, in the run's dates: failing hosts by the day they start (since a day up to the
    run's as-of, now without a start day, or from a later day), then those that pass through the horizon,
    those a crashed check left without a verdict and those unreadable; (label, rows) in that order."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in summary:
        groups.setdefault(_group(r, as_of, end), []).append(r)
    return [(key[1], groups[key]) for key in sorted(groups)]  # by rank, then day


def rule_counts(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(rule, hosts it names) over some hosts, most hosts first."""
    counts: dict[str, int] = {}
    for r in rows:
        for rule in filter(None, str(r["rules"]).split(",")):
            counts[rule] = counts.get(rule, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _when(summary: list[dict[str, Any]], as_of: str, end: str) -> list[str]:
    groups = when(summary, as_of, end)
    width = max((len(label) for label, _ in groups), default=0)
    lines = ["which hosts fail when:"]
    for label, rows in groups:
        lines.append(f"  {label:<{width}}  {_listed([name(r) for r in rows])}")
    return lines


def to_json(summary: list[dict[str, Any]]) -> str:
    return json_view.to_json([_public(r) for r in summary])


# how the run went about its work, not what it found: two workers reading copies of one image at once split
# its catalogs between "reused" and "judged" differently from run to run. `-v` prints them; the JSON, which
# must be the same bytes for the same input, leaves them out (the fleet database keeps them).
STATISTICS = ("verdicts_reused", "verdicts_judged")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_") and k not in STATISTICS}


def to_csv(summary: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(r | {"updates": _update_cell(r["updates"])} for r in summary)
    return out.getvalue()


def _update_cell(updates: list[dict[str, Any]]) -> str:
    """A host's update verdicts in one CSV cell: `KB=status code from DAY; ...`."""
    cells = []
    for u in updates:
        text = f"{u['kb'] or Path(u['file']).name}={' '.join(filter(None, (u['status'], u['hresult'])))}"
        cells.append(text + (f" from {u['fails_from']}" if u["fails_from"] else ""))
    return "; ".join(cells)


def failures_by_date(summary: list[dict[str, Any]]) -> list[tuple[str, int]]:
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


def _date_labels(points: list[dict[str, Any]], low: float, high: float) -> list[dict[str, Any]]:
    """The x of each step's date label, centred under its step but kept between low and high (the right-hand
    label used to be cut off); a label that would touch the next one to its right is left out, so the last
    day always shows."""
    half = 10 * CHAR / 2  # YYYY-MM-DD
    shown: list[dict[str, Any]] = []
    for p in reversed(points):
        x = min(max(p["x"], low + half), high - half)
        if shown and x + half + CHAR > shown[-1]["x"] - half:
            continue
        shown.append({"x": round(x, 1), "day": p["day"]})
    return shown[::-1]


def to_html(summary: list[dict[str, Any]], run: dict[str, Any], fail_on: Severity) -> str:
    """The chart of hosts failing by date with its legend, which hosts fail when (counts per rule), the hosts,
    and a filter by site, ring and model; one file with a small inline script and nothing fetched."""
    steps = failures_by_date(summary)
    width, height, left, right, bottom = 900, 290, 60, 20, 70
    total = max(len(summary), 1)
    points = []
    if steps:
        first, last = date.fromisoformat(steps[0][0]), date.fromisoformat(steps[-1][0])
        span = max((last - first).days, 1)

        def x(day: str) -> float:
            return round(left + (width - left - right) * (date.fromisoformat(day) - first).days / span, 1)

        def y(count: int) -> float:
            return round(height - bottom - (height - bottom - 20) * count / total, 1)

        previous = y(0)
        for day, count in steps:
            points.append({"x": x(day), "y_before": previous, "y": y(count), "day": day, "count": count})
            previous = y(count)
    end = (date.fromisoformat(run["as_of"]) + timedelta(days=run["horizon_days"])).isoformat()
    groups = [(label, rows, rule_counts(rows)) for label, rows in when(summary, run["as_of"], end)]
    filters = {k: sorted({str(r[k]) for r in summary if r[k]}) for k in FILTERS}
    return render(
        "fleet.html.j2",
        summary=summary,
        points=points,
        labels=_date_labels(points, 4, width - 4),
        groups=groups,
        filters={k: v for k, v in filters.items() if v},
        width=width,
        height=height,
        left=left,
        right=right,
        bottom=bottom,
        total=len(summary),
        gating=gating(summary),
        fail_on=str(fail_on),
        run=run,
        name=name,  # which hosts fail when: by the summary's names, with their image where hosts share a name
    )
