"""`imgscan timeline`: the dated facts of a report in one ordered list, so a failure's story reads top to bottom.

A pure view of the report (the JSON contract): package installs, catalog signing,
timestamps and signer expiry, WinTrust value writes, first and last logged
failures, and the days findings start (`predicted:` after the --as-of day,
`failing since:` on or before it). Times are ISO 8601 in UTC
(`2013-06-30T10:00:00Z`); a prediction is placed at the moment it begins when
the report knows it (`starts_at`: a signer's expiry, to the second), else at the
midnight of its first day. Text logs are written in the host's local time: they are
converted with the image's own UTC offset (`host.utc_offset_minutes`, from
SYSTEM's TimeZoneInformation); when the image does not say, the time is shown
as the log wrote it, without the `Z` (`2012-04-24T08:54:49`), and marked
"(host local time; the image does not record its time zone)". Such events are
placed as if that time were UTC.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from imgscan.report import Report

Event = dict[str, str]
COLUMNS = ("time", "kind", "subject", "detail", "source")


def _event(time: str | None, kind: str, subject: str, detail: str, source: str) -> Event | None:
    return {"time": time, "kind": kind, "subject": subject, "detail": detail, "source": source} if time else None


FAMILY = {"cbs": "the CBS logs", "setup": "a setup log", "events": "the event logs"}
LOCAL_NOTE = " (host local time; the image does not record its time zone)"


def _local(text: str | None) -> str | None:
    """A text log's local time, when the zone is unknown: as written, to the second, without `Z`."""
    return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%S") if text else None


def _utc(text: str | None, offset_minutes: int | None = 0) -> str | None:
    """A report time (a date, an aware ISO time, or a naive local one) as `YYYY-MM-DDTHH:MM:SSZ`."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc) - timedelta(minutes=offset_minutes or 0)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def timeline(report: Report) -> list[Event]:
    inventory = report["inventory"]
    offset = (report.get("host") or {}).get("utc_offset_minutes")
    as_of = report["as_of"]
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
        stamp = cat.get("timestamp")
        kind, time, tsa = (stamp["kind"], stamp.get("time"), stamp.get("tsa")) if stamp else (None, None, None)
        events.append(_event(_utc(time), "catalog timestamped", name, f"{kind} by {tsa}", cat["path"]))
        signer = cat.get("signer")
        not_after, common_name = (signer.get("not_after"), signer["common_name"]) if signer else (None, None)
        until = _utc(cat.get("valid_until"))
        events.append(
            _event(
                _utc(not_after),
                "catalog signer certificate ends",
                name,
                f"{common_name}; signature {cat.get('status_as_of') or cat.get('status')} as of {as_of}"
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
        # event logs record UTC; text logs the host's local time, converted when the image gives its zone
        unknown_zone = group["family"] != "events" and offset is None
        note = LOCAL_NOTE if unknown_zone else ""

        def when(text: str | None, unknown_zone: bool = unknown_zone) -> str | None:
            return _local(text) if unknown_zone else _utc(text, offset)

        family = FAMILY.get(group["family"], f"the {group['family']} logs")
        events.append(
            _event(
                when(group["first"]),
                f"first failure in {family}",
                subject,
                f"{group['hresult']} ({group['count']} time(s)){note}",
                source,
            )
        )
        if group["last"] != group["first"]:
            events.append(_event(when(group["last"]), f"last failure in {family}", subject, f"{group['hresult']}{note}", source))
    for finding in report["findings"]:
        subject = finding["evidence"][0].get("path", "") if finding["evidence"] else ""
        predicted = finding.get("phase") in ("soon", "later")  # the scan's stamp: it starts after --as-of
        events.append(
            _event(
                _utc(finding.get("starts_at") or finding["starts"]),
                f"{'predicted' if predicted else 'failing since'}: {finding['rule']}",
                subject,
                f"{finding['severity']} {finding['hresult'] or ''}".strip(),
                "imgscan",
            )
        )
    return sorted((e for e in events if e), key=lambda e: (e["time"].removesuffix("Z"), e["kind"], e["subject"]))


def to_csv(events: list[Event]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(events)
    return out.getvalue()
