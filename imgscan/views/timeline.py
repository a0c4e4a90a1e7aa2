"""The `timeline` views: the table, Timesketch's JSONL and flow.record records for `rdump`, one row per
dated event in the order imgscan.timeline put them.

Timesketch imports JSON lines whose mandatory fields are `message`, `datetime` (ISO 8601) and
`timestamp_desc` (https://timesketch.org/guides/user/import-from-json-csv/); imgscan adds `timestamp`
(microseconds since 1970, UTC) and its own columns. Every time is UTC (`+00:00`), except a text log's when
the image records no time zone: that one is given as written, placed as if it were UTC, and says so in
`time_zone` ("host local") and in its message.
"""

from __future__ import annotations

import json

from imgscan.views.columns import columns
from imgscan.views.records import EVENT_FIELDS, EVENT_NAME, event_values, record_stream


def timeline_table(events: list[dict[str, str]]) -> str:
    rows = [["TIME", "EVENT", "SUBJECT", "DETAIL"]]
    rows += [[e["time"], e["kind"], e["subject"], e["detail"]] for e in events]
    return "\n".join(columns(rows)) + "\n"


def timesketch_jsonl(events: list[dict[str, str]]) -> str:
    """One JSON object a line, in the form Timesketch's importer reads."""
    lines = []
    for value in event_values(events):
        moment = value["ts"]
        lines.append(
            json.dumps(
                {
                    "message": f"{value['ts_description']}: {value['subject']} ({value['message']})",
                    "datetime": moment.isoformat(),
                    "timestamp": int(moment.timestamp()) * 1_000_000 + moment.microsecond,
                    "timestamp_desc": value["ts_description"],
                    "subject": value["subject"],
                    "detail": value["message"],
                    "source": value["source"],
                    "time_zone": value["time_zone"],
                    "data_type": "imgscan:timeline",
                },
                ensure_ascii=False,
            )
        )
    return "".join(line + "\n" for line in lines)


def timeline_records(events: list[dict[str, str]]) -> bytes:
    """The events as a flow.record stream (`imgscan/timeline` records) for `rdump`."""
    return record_stream(EVENT_NAME, EVENT_FIELDS, event_values(events))
