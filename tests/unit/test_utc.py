"""Every moment a report writes is ISO 8601 in UTC ending in Z, whatever zone the datetime carries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from imgscan.utc import utc_text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2013, 6, 30, 10, 0, tzinfo=timezone.utc), "2013-06-30T10:00:00Z"),
        (datetime(2013, 6, 30, 10, 0, 0, 123456, tzinfo=timezone.utc), "2013-06-30T10:00:00.123456Z"),
        (datetime.fromisoformat("2012-03-15T08:00:00+00:00"), "2012-03-15T08:00:00Z"),  # as the verdict cache reads it
        (datetime(2013, 6, 30, 10, 0), "2013-06-30T10:00:00Z"),  # naive: registry and event-log times are UTC
        (datetime(2013, 6, 30, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2013-06-30T10:00:00Z"),
        (datetime(2013, 6, 30, 10, 0, tzinfo=timezone(timedelta(0), "UTC")), "2013-06-30T10:00:00Z"),  # a zone named UTC
    ],
)
def test_utc_text(moment: datetime, text: str) -> None:
    assert utc_text(moment) == text
