"""A moment as every report writes it: ISO 8601 in UTC, ending in `Z` (`2013-06-30T10:00:00Z`)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_text(moment: datetime) -> str:
    """`moment` in UTC with `Z`; a naive one is taken as UTC already (registry and event-log times are)."""
    if moment.tzinfo is timezone.utc:  # nearly every moment of a scan: certificates, catalogs, verdicts
        return moment.isoformat()[:-6] + "Z"
    utc = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return utc.isoformat().replace("+00:00", "Z")
