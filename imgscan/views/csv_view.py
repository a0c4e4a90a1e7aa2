"""CSV: one row per finding, for spreadsheets and ticket imports; columns fixed, values from the report."""

from __future__ import annotations

import csv
import io

from imgscan.report import Report

# columns are only added, at the end: `id` is the finding's identity, `caused_by` its root cause's
COLUMNS = (
    "image",
    "host",
    "as_of",
    "rule",
    "severity",
    "title",
    "starts",
    "hresult",
    "path",
    "suppressed",
    "message",
    "id",
    "caused_by",
    "gating_severity",
    "observed",  # a log finding: when a log first shows it (Z: UTC; no zone: the host's local time)
)


def rows(report: Report) -> list[dict[str, str]]:
    host = (report.get("host") or {}).get("name") or ""
    return [
        {
            "image": report["image"]["path"],
            "host": host,
            "as_of": report["as_of"],
            "rule": f["rule"],
            "severity": f["severity"],
            "title": f["title"],
            "starts": f["starts"] or "",
            "hresult": f["hresult"] or "",
            "path": str(f["evidence"][0].get("path", "")) if f["evidence"] else "",
            "suppressed": f["suppressed"]["reason"] if f.get("suppressed") else "",
            "message": f["message"],
            "id": f["id"],
            "caused_by": f.get("caused_by") or "",
            "gating_severity": f.get("gating_severity") or "",
            "observed": f.get("observed") or "",
        }
        for f in report["findings"]
    ]


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report))
    return out.getvalue()
