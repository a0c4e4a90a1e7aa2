"""The timeline's clocks: an event log records UTC, a text log the host's local time. With the image's time zone
known (here UTC+2), a CBS.log time moves to UTC and an event log's stays as it is; event times used to be moved
by the zone too, two hours early."""

from __future__ import annotations

from typing import Any

from imgscan.timeline import timeline


def _failure(family: str, first: str) -> dict[str, Any]:
    return {"family": family, "subject": "KB2656368", "hresult": "0x80070643", "count": 1, "failed": True,
            "first": first, "last": first, "sources": ["x"], "samples": []}  # fmt: skip


def test_event_log_times_stay_utc_and_text_log_times_move_by_the_zone() -> None:
    report: Any = {
        "as_of": "2013-07-01",
        "host": {"utc_offset_minutes": 120},
        "findings": [],
        "inventory": {"logs": {"failures": [_failure("events", "2012-04-24T08:55:02Z"), _failure("cbs", "2012-04-24T10:55:02")]}},
    }
    times = {e["kind"]: e["time"] for e in timeline(report)}
    assert times == {
        "first failure in the event logs": "2012-04-24T08:55:02Z",
        "first failure in the CBS logs": "2012-04-24T08:55:02Z",
    }
