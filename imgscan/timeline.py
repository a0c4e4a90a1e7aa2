"""`imgscan timeline`: the dated facts of a report in one ordered list, so a failure's story reads top to bottom.

A pure view of the report (the JSON contract): package installs, catalog signing,
timestamps and signer expiry, WinTrust value writes, first and last logged
failures, and the days predicted failures start. Every time is ISO 8601 in UTC
(`2013-06-30T10:00:00Z`); a day without a time (a prediction's first day) is
its midnight. Text logs are written in the host's local time: they are
converted with the image's own UTC offset (`host.utc_offset_minutes`, from
SYSTEM's TimeZoneInformation), or, when the image does not say, taken as UTC
and marked "(host local time, zone unknown)".
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from imgscan.check import Json

Event = dict[str, str]
COLUMNS = ("time", "kind", "subject", "detail", "source")


def _event(time: str | None, kind: str, subject: str, detail: str, source: str) -> Event | None:
    return {"time": time, "kind": kind, "subject": subject, "detail": detail, "source": source} if time else None


def _utc(text: str | None, offset_minutes: int | None = 0) -> str | None:
    """A report time (a date, an aware ISO time, or a naive local one) as `YYYY-MM-DDTHH:MM:SSZ`."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc) - timedelta(minutes=offset_minutes or 0)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def timeline(report: Json) -> list[Event]:
    inventory = report["inventory"]
    offset = (report.get("host") or {}).get("utc_offset_minutes")
    local_note = "" if offset is not None else " (host local time, zone unknown)"
    events: list[Event | None] = []
    for package in inventory.get("packages", []):
        events.append(
            _event(
                _utc(package.get("installed_at") or package["installed_on"]),
                "package installed",
                package["identity"],
                f"{package['kb'] or ''} {package['state_name']}".strip(),
                "SOFTWARE CBS Packages",
            )
        )
    seen: set[str] = set()
    for cat in inventory.get("catalogs", []):
        if cat.get("problem") or cat["sha256"] in seen:
            continue
        seen.add(cat["sha256"])
        name = cat["path"].rsplit("\\", 1)[-1]
        stamp = cat.get("timestamp") or {}
        events.append(
            _event(
                _utc(stamp.get("time")), "catalog timestamped", name, f"{stamp.get('kind')} by {stamp.get('tsa')}", cat["path"]
            )
        )
        signer = cat.get("signer") or {}
        until = _utc(cat.get("valid_until"))
        events.append(
            _event(
                _utc(signer.get("not_after")),
                "catalog signer expires",
                name,
                f"{signer.get('common_name')}; signature {cat.get('status')}"
                + (f", valid until {until}" if until else ", with no end date"),
                cat["path"],
            )
        )
    for item in inventory.get("wintrust", []):
        events.append(
            _event(
                _utc(item.get("last_written")), "WinTrust key written", item["path"], f"State {item.get('state')}", item["path"]
            )
        )
    for group in inventory.get("logs", {}).get("failures", []):
        if not group["failed"]:
            continue
        subject = group["subject"] or "(no subject)"
        source = ", ".join(group["sources"])
        note = local_note if group["family"] != "events" else ""  # event logs record UTC
        events.append(
            _event(
                _utc(group["first"], offset),
                f"first {group['family']} failure",
                subject,
                f"{group['hresult']} ({group['count']} time(s)){note}",
                source,
            )
        )
        if group["last"] != group["first"]:
            events.append(
                _event(
                    _utc(group["last"], offset), f"last {group['family']} failure", subject, f"{group['hresult']}{note}", source
                )
            )
    for finding in report["findings"]:
        subject = finding["evidence"][0].get("path", "") if finding["evidence"] else ""
        events.append(
            _event(
                _utc(finding["starts"]),
                f"predicted: {finding['rule']}",
                subject,
                f"{finding['severity']} {finding['hresult'] or ''}".strip(),
                "imgscan",
            )
        )
    return sorted((e for e in events if e), key=lambda e: (e["time"], e["kind"], e["subject"]))


def to_csv(events: list[Event]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(events)
    return out.getvalue()
