"""A host's report as the fleet store keeps it, built by the worker that judged the host.

The parent of a fleet run commits every host alone; decoding pickled report dicts and encoding them as JSON
there was most of its CPU in a 10,000-host run (bench/fleet.py), so a worker hands over the report already
encoded, with what the host's row and its `findings` rows say of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imgscan.gate import crashed, gating_severity
from imgscan.severity import Severity
from imgscan.undecodable import compact_json

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class StoredReport:
    """A host's report as the store keeps it: its JSON, and what the host's row and `findings` rows say of it.
    Built once per judgement by the worker that judged it (work.scan_image), so hosts judged alike share it."""

    text: str  # the report's JSON
    digest: str  # its SHA-256: the key hosts that share it are stored under
    host: str | None  # the host name the report gives
    sha256: str | None  # the image's
    as_of: str | None  # the day it was judged on
    worst: str | None  # the worst gating severity
    earliest: str | None  # a prediction's first day, or the day a log first shows an observed failure
    fails: bool  # any finding not suppressed
    rules: str  # the rules of those findings
    findings: list[tuple[object, ...]]  # its `findings` rows, without their scan id
    crashed: tuple[str, ...] = ()  # checks that crashed: their findings are missing, so the host cannot pass
    observed_days: tuple[str, ...] = ()  # the days its logs first show each failure (the image's, whatever the host)
    # (gating severity, the first day a finding counting at it fails, None when none is dated), worst first
    failing_days: tuple[tuple[Severity, str | None], ...] = ()


def stored_report(report: Mapping[str, Any], text: str | None = None) -> StoredReport:
    """`report` (a Report's JSON form) encoded and summarized for the store; `text`: its encoding when judging
    already made it (scan.ScanResult.report_json)."""
    if text is None:
        text = compact_json(report) or json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    every = report.get("findings", [])
    findings = [f for f in every if not f.get("suppressed")]
    levels = {str(level) for f in every if (level := gating_severity(f)) is not None}
    starts = sorted(day for f in findings if (day := f["starts"] or (f.get("observed") or "")[:10]))
    rows: list[tuple[object, ...]] = [
        (
            f["rule"],
            f["severity"],
            f["starts"],
            f["hresult"],
            str(f["evidence"][0].get("path", "")) if f["evidence"] else None,
            int(bool(f.get("suppressed"))),
            f.get("id"),
            f.get("caused_by"),
        )
        for f in every
    ]
    return StoredReport(
        text,
        hashlib.sha256(text.encode()).hexdigest(),
        (report.get("host") or {}).get("name"),
        report.get("image", {}).get("sha256"),
        report.get("as_of"),
        next((s for s in SEVERITY_ORDER if s in levels), None),
        starts[0] if starts else None,
        bool(findings),
        ",".join(sorted({f["rule"] for f in findings})),
        rows,
        tuple(crashed(report)),
        tuple(sorted({str(f["observed"])[:10] for f in every if f.get("observed")})),
        failing_days(every),
    )


def failing_days(every: list[Any]) -> tuple[tuple[Severity, str | None], ...]:
    """For each severity the host's findings count at for the gate: the first day one of them fails (a
    prediction's start, or the day a log first shows it), or None when none is dated. A consequence counts
    at its root cause's severity and dates it (a log showing the failure dates a cause that is not dated
    itself). A host's first failing day is then chosen by `--fail-on` when its row is shown: a finding
    below it fails nothing, so its day is not the host's (summary.first_failing_day)."""
    counts_at = {f["id"]: gating_severity(f) for f in every if f.get("id") and not f.get("caused_by")}
    days: dict[Severity, list[str]] = {}
    for f in every:
        level = counts_at.get(f["caused_by"]) if f.get("caused_by") else gating_severity(f)
        if level is None or f.get("suppressed"):
            continue
        dated = days.setdefault(level, [])
        if day := f["starts"] or (f.get("observed") or "")[:10]:
            dated.append(day)
    return tuple((level, min(days[level], default=None)) for level in sorted(days, reverse=True))


def encode_failing_days(days: tuple[tuple[Severity, str | None], ...], deployed: str | None) -> str:
    """`failing_days` as the store keeps them (`critical=2013-06-30;high=`; summary.first_failing_day reads
    them), never before the host was deployed: an undated failure hits it from the day it comes up."""
    if deployed:
        days = tuple((level, max(day or deployed, deployed)) for level, day in days)
    return ";".join(f"{level}={day or ''}" for level, day in days)
