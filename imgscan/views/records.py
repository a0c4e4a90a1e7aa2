"""The report as flow.record records, the format dissect's tools read (`rdump`, `target-query`).

Declared once: the fields of a finding, a catalog and a timeline event are the lists below, and the values
come from the report alone (the JSON contract), so `target-query -f imgscan.findings` (the dissect.target
plugin in imgscan.dissect_plugin) and `imgscan timeline --format records` give what `imgscan scan -f json`
and `imgscan timeline -f json` give. Every time is a UTC datetime; a day without a time is its midnight.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import TypedDict

from imgscan.report import LogLink, Report

FINDING_NAME = "imgscan/finding"
FINDING_FIELDS = [
    ("string", "id"),  # the finding's identity: rule and subject (`imgscan diff`, SARIF and the ignore file use it)
    ("string", "rule"),
    ("string", "subject"),
    ("string", "severity"),
    ("string", "gating_severity"),  # None on a finding counted with its cause
    ("string", "caused_by"),
    ("datetime", "starts"),  # the first day it fails (UTC midnight); None when it fails whatever the day
    ("string", "hresult"),
    ("string", "evidence_path"),  # the first evidence's path on the Windows volume
    ("string", "title"),
    ("string", "message"),
    ("string[]", "confirmed_by"),  # log lines that show it happened: "path line N" / "path record N"
    ("string", "remediation"),
    ("datetime", "as_of"),  # the day the image was judged on
    # when a log first shows an observed failure: ISO 8601, ending in Z for an event log's UTC, without a zone
    # for a text log's host local time (text, not a datetime: a host's local time is no UTC instant)
    ("string", "observed"),
]
CATALOG_NAME = "imgscan/catalog"
CATALOG_FIELDS = [
    ("string", "path"),
    ("string", "sha256"),
    ("boolean", "signed"),
    ("string", "signer"),
    ("string", "timestamp_kind"),
    ("string", "status"),  # what the signature is, whatever the day
    ("string", "status_as_of"),  # what WinVerifyTrust says on the as_of day
    ("datetime", "valid_from"),
    ("datetime", "valid_until"),
    ("string", "hresult"),
    ("string", "reason"),
    ("datetime", "as_of"),
]
EVENT_NAME = "imgscan/timeline"
EVENT_FIELDS = [
    ("datetime", "ts"),  # UTC; a text log's time when the image records no time zone (see time_zone)
    ("string", "ts_description"),  # what happened at that time: "package installed", "predicted: ..."
    ("string", "subject"),
    ("string", "message"),
    ("string", "source"),
    ("string", "time_zone"),  # "UTC", or "host local" when the image does not record its zone
]


def moment(text: str | None) -> datetime | None:
    """A report time (a day, an ISO time with `Z` or an offset, or a naive one taken as UTC) as an aware UTC
    datetime."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _line(link: LogLink) -> str:
    where = next((f"{key} {link[key]}" for key in ("line", "record") if link.get(key) is not None), "")
    return f"{link.get('path', '')} {where}".strip()


def finding_values(report: Report) -> Iterator[dict[str, object]]:
    """The fields of each finding of the report, in its order."""
    as_of = moment(report["as_of"])
    for finding in report["findings"]:
        identity = str(finding.get("id", ""))
        yield {
            "id": identity,
            "rule": finding["rule"],
            "subject": identity.partition(":")[2],  # empty for a rule of one finding per image (qfe-empty)
            "severity": finding["severity"],
            "gating_severity": finding.get("gating_severity"),
            "caused_by": finding.get("caused_by"),
            "starts": moment(finding.get("starts")),
            "hresult": finding.get("hresult"),
            "evidence_path": finding["evidence"][0]["path"] if finding["evidence"] else None,
            "title": finding["title"],
            "message": finding["message"],
            "confirmed_by": [_line(link) for link in finding.get("confirmed_by", [])],
            "remediation": finding["remediation"],
            "as_of": as_of,
            "observed": finding.get("observed"),
        }


def catalog_values(report: Report) -> Iterator[dict[str, object]]:
    """The fields of each catalog of the report's inventory."""
    as_of = moment(report["as_of"])
    for catalog in report["inventory"]["catalogs"]:
        signer, stamp = catalog.get("signer"), catalog.get("timestamp")
        yield {
            "path": catalog["path"],
            "sha256": catalog.get("sha256"),
            "signed": catalog.get("signed"),
            "signer": signer["common_name"] if signer else None,
            "timestamp_kind": stamp["kind"] if stamp else None,
            "status": catalog.get("status"),
            "status_as_of": catalog.get("status_as_of"),
            "valid_from": moment(catalog.get("valid_from")),
            "valid_until": moment(catalog.get("valid_until")),
            "hresult": catalog.get("hresult"),
            "reason": catalog.get("reason"),
            "as_of": as_of,
        }


class EventFields(TypedDict):
    """EVENT_FIELDS' values for one timeline event."""

    ts: datetime
    ts_description: str
    subject: str
    message: str
    source: str
    time_zone: str


def event_values(events: list[dict[str, str]]) -> Iterator[EventFields]:
    """The fields of each timeline event (imgscan.timeline): a time without `Z` is a text log's local time."""
    for event in events:
        utc = event["time"].endswith("Z")
        ts = moment(event["time"])
        assert ts is not None, "every timeline event has its time"
        yield {
            "ts": ts,
            "ts_description": event["kind"],
            "subject": event["subject"],
            "message": event["detail"],
            "source": event["source"],
            "time_zone": "UTC" if utc else "host local",
        }


def record_stream(name: str, fields: list[tuple[str, str]], values: Iterable[Mapping[str, object]]) -> bytes:
    """A flow.record stream of `values`, the bytes `rdump` reads from a file or a pipe."""
    from flow.record import RecordDescriptor
    from flow.record.stream import RecordStreamWriter

    descriptor = RecordDescriptor(name, fields)
    out = io.BytesIO()
    writer = RecordStreamWriter(out)
    for value in values:
        writer.write(descriptor(**value))
    writer.flush()
    data = out.getvalue()
    writer.close()
    return data
