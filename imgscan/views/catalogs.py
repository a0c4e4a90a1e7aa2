"""The `catalogs` table: every catalog with its signer, timestamp kind, last valid day and status as of the day."""

from __future__ import annotations

from imgscan.report import CatalogsListing
from imgscan.views.columns import columns, header


def catalogs_table(view: CatalogsListing) -> str:
    rows = [["CATALOG", "SIGNER", "TIMESTAMP", "VALID UNTIL", "STATUS"]]
    for cat in view["catalogs"]:
        signer = (cat.get("signer") or {"common_name": ""})["common_name"] or ""
        stamp = cat["timestamp"]["kind"] if "timestamp" in cat else ""
        until = cat.get("valid_until") or ("no end" if cat.get("status") == "valid" else "")
        rows.append([cat["path"], signer, stamp, until, str(cat.get("problem") or cat["status_as_of"])])
    return "\n".join(header(view) + columns(rows)) + "\n"
