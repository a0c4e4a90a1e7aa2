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
    )
