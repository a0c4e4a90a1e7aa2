"""`imgscan timeline`: the dated facts of a report in one ordered list, so a failure's story reads top to bottom.

A pure view of the report (the JSON contract): package installs, catalog signing,
timestamps and signer expiry, WinTrust value writes, first and last logged
failures, and the days predicted failures start. Text-log times are the host's
local time; event-log and certificate times are UTC (marked Z).
"""

from __future__ import annotations

import csv
import io

Event = dict[str, str]
COLUMNS = ("time", "kind", "subject", "detail", "source")


def _event(time: str | None, kind: str, subject: str, detail: str, source: str) -> Event | None:
    return {"time": time, "kind": kind, "subject": subject, "detail": detail, "source": source} if time else None


def timeline(report: dict) -> list[Event]:
    inventory = report["inventory"]
    events: list[Event | None] = []
    for package in inventory.get("packages", []):
        events.append(_event(package["installed_on"], "package installed", package["identity"],
                             f"{package['kb'] or ''} {package['state_name']}".strip(), "SOFTWARE CBS Packages"))
    seen: set[str] = set()
    for cat in inventory.get("catalogs", []):
        if cat.get("problem") or cat["sha256"] in seen:
            continue
        seen.add(cat["sha256"])
        name = cat["path"].rsplit("\\", 1)[-1]
        stamp = cat.get("timestamp") or {}
        events.append(_event(stamp.get("time"), "catalog timestamped", name,
                             f"{stamp.get('kind')} by {stamp.get('tsa')}", cat["path"]))
        signer = cat.get("signer") or {}
        events.append(_event(signer.get("not_after"), "catalog signer expires", name,
                             f"{signer.get('common_name')}; signature {cat.get('status')}: valid until "
                             f"{cat.get('valid_until') or 'no end'}", cat["path"]))
    for item in inventory.get("wintrust", []):
        events.append(_event(item.get("last_written"), "WinTrust key written", item["path"],
                             f"State {item.get('state')}", item["path"]))
    for group in inventory.get("logs", {}).get("failures", []):
        if not group["failed"]:
            continue
        subject = group["subject"] or "(no subject)"
        source = ", ".join(group["sources"])
        events.append(_event(group["first"], f"first {group['family']} failure", subject,
                             f"{group['hresult']} ({group['count']} time(s))", source))
        if group["last"] != group["first"]:
            events.append(_event(group["last"], f"last {group['family']} failure", subject, group["hresult"], source))
    for finding in report["findings"]:
        subject = finding["evidence"][0].get("path", "") if finding["evidence"] else ""
        events.append(_event(finding["starts"], f"predicted: {finding['rule']}", subject,
                             f"{finding['severity']} {finding['hresult'] or ''}".strip(), "imgscan"))
    return sorted((e for e in events if e), key=lambda e: (e["time"].replace("Z", ""), e["kind"], e["subject"]))


def to_csv(events: list[Event]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(events)
    return out.getvalue()
