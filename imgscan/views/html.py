"""The HTML report: one self-contained file (no script, no network) for people who decide whether an image ships.

Summary verdict, findings by severity with evidence and fix, the package
inventory, and a timeline chart (inline SVG) of each package's catalog validity
against the --as-of day and the horizon: red bars end inside the horizon (the scan's `catalog_phase` stamp
says which; the days only place the bars).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TypedDict

from jinja2 import Environment, PackageLoader, select_autoescape

from imgscan.check import Severity
from imgscan.gate import gating_severity, summary_gates
from imgscan.report import FindingJson, Report
from imgscan.views.columns import plain
from imgscan.views.completeness import incomplete, summary_words

WIDTH, LEFT, ROW, TOP = 1100, 430, 22, 40
CHAR = 7.0  # a generous width of one 11 px character, to keep labels inside the chart and apart
TICK_GAP = 48  # at least this many pixels between two year labels


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


class _Row(TypedDict):
    """A package's bar, in days."""

    label: str
    kb: str
    start: date
    end: date | None
    fails: date | None
    failing: bool


def chart(report: Report) -> dict[str, object]:
    """Bars (package, start, end, failing) laid out in pixels for the template."""
    as_of = date.fromisoformat(report["as_of"])
    horizon_end = as_of + timedelta(days=int(report.get("horizon_days", 365)))
    packages = [p for p in report["inventory"].get("packages", []) if p.get("catalog_status") not in (None, "no catalog")]
    rows: list[_Row] = []
    for package in packages:
        start = _day(package.get("installed_on")) or as_of
        end = _day(package.get("catalog_valid_until"))
        fails = _day(package.get("catalog_fails_from")) if package.get("catalog_fails_from") != "never valid" else start
        rows.append(
            {
                "label": package["identity"],
                "kb": package.get("kb") or "",
                "start": start,
                "end": end,
                "fails": fails,
                "failing": package.get("catalog_phase") in ("failing", "soon"),
            }
        )
    days = [d for r in rows for d in (r["start"], r["end"]) if d] + [as_of, horizon_end]
    first, last = min(days) - timedelta(days=30), max(days) + timedelta(days=30)
    span = (last - first).days or 1

    def x(day: date) -> float:
        return round(LEFT + (WIDTH - LEFT - 20) * (day - first).days / span, 1)

    bars: list[dict[str, object]] = []
    fit = int((LEFT - 12) / CHAR)  # characters of a package name that fit left of the bars
    for n, row in enumerate(rows):
        right = x(row["end"]) if row["end"] else WIDTH - 20
        shown = row["label"] if len(row["label"]) <= fit else row["label"][: fit - 1] + "…"
        bars.append({**row, "x": x(row["start"]), "width": max(right - x(row["start"]), 2), "y": TOP + n * ROW, "shown": shown})
    years = range(first.year + 1, last.year + 1)
    step = max(1, -(-TICK_GAP * len(years) // int(WIDTH - LEFT - 20)) if years else 1)
    ticks = [date(year, 1, 1) for year in years if (year - first.year - 1) % step == 0]
    height = TOP + len(rows) * ROW + 44  # two label rows under the bars: "as of" and "horizon"
    return {
        "bars": bars,
        "width": WIDTH,
        "height": height,
        "left": LEFT,
        "as_of": _marker(x(as_of), f"as of {as_of}", height - 22),
        "horizon": _marker(x(horizon_end), f"horizon {horizon_end}", height - 6),
        "ticks": [{"x": x(t), "label": t.year} for t in ticks],
    }


def _marker(at: float, text: str, baseline: float) -> dict[str, object]:
    """A vertical line's label on its own row, right of the line, or left of it where it would leave the chart."""
    width = len(text) * CHAR
    if at + 4 + width <= WIDTH - 2:
        return {"x": at, "label_x": at + 4, "anchor": "start", "text": text, "y": baseline}
    return {"x": at, "label_x": max(at - 4, width + 2), "anchor": "end", "text": text, "y": baseline}


def render(template: str, **context: object) -> str:
    """Render one of imgscan's HTML templates (autoescaped)."""
    environment = Environment(loader=PackageLoader("imgscan", "templates"), autoescape=select_autoescape(["j2"]))
    environment.filters["plain"] = plain
    return environment.get_template(template).render(**context)


def to_html(report: Report, fail_on: Severity) -> str:
    """The verdict counts causes from the summary, so it agrees with the exit code whatever --severity
    showed; each cause is listed under the severity it gates at, its consequences nested in it. A crashed
    check's findings are missing, so the verdict is never PASS then (as a fleet's incomplete host): FAIL on
    the findings there are, else INCOMPLETE, and either says which check crashed."""
    findings = report["findings"]
    listed = {f["id"]: f for f in findings if "id" in f}
    # a cause the ignore file accepts is listed under Suppressed, unless a consequence it has still gates
    causes = [f for f in findings if f.get("caused_by") not in listed and (gating_severity(f) or not f.get("suppressed"))]
    groups = [
        (str(s), [(f, [listed[i] for i in f.get("explains", []) if i in listed]) for f in causes if _level(f) == s])
        for s in reversed(Severity)
    ]
    gating = summary_gates(report["summary"], fail_on)
    missing = incomplete(report)
    return render(
        "report.html.j2",
        report=report,
        groups=[g for g in groups if g[1]],
        verdict="FAIL" if gating else ("INCOMPLETE" if missing else "PASS"),
        incomplete=missing,
        summary=summary_words(report),
        gating=gating,
        fail_on=str(fail_on),
        chart=chart(report),
        suppressed=[f for f in findings if f.get("suppressed")],
        hidden=sum(filtered["hidden"].values()) if (filtered := report.get("filtered")) else 0,
    )


def _level(finding: FindingJson) -> Severity:
    return gating_severity(finding) or Severity.parse(finding["severity"])
