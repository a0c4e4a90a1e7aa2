"""The preflight report as one self-contained HTML file (no script, no network), in the scan report's style:
the verdict (FAIL when any update will not install, as the exit code), the image's facts, each update with
its reasons, evidence and fix, the install order and what cannot install in any order."""

from __future__ import annotations

from imgscan.preflight.report import PreflightReport
from imgscan.views.html import render


def to_preflight_html(report: PreflightReport) -> str:
    failing = sum(u["status"] == "will-not-install" for u in report["updates"])
    return render("preflight.html.j2", report=report, failing=failing, verdict="FAIL" if failing else "PASS")
