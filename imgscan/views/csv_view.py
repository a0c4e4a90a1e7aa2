"""CSV: one row per finding, for spreadsheets and ticket imports; columns fixed, values from the report."""

from __future__ import annotations

import csv
import io

from imgscan.check import Json

COLUMNS = ("image", "host", "as_of", "rule", "severity", "title", "starts", "hresult", "path", "suppressed", "message")


def rows(report: Json) -> list[dict[str, str]]:
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
        }
        for f in report["findings"]
    ]


def to_csv(report: Json) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report))
    return out.getvalue()
