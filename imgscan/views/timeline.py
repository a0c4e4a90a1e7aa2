"""The `timeline` table: one row per dated event, in the order imgscan.timeline put them."""

from __future__ import annotations

from imgscan.views.columns import columns


def timeline_table(events: list[dict[str, str]]) -> str:
    rows = [["TIME", "EVENT", "SUBJECT", "DETAIL"]]
    rows += [[e["time"], e["kind"], e["subject"], e["detail"]] for e in events]
    return "\n".join(columns(rows)) + "\n"
