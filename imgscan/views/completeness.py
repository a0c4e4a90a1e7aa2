"""What a scan report says beyond its findings, in the words every view uses: which checks crashed, which were
skipped and why, and what --severity hid.

A report can say "PASS", "clean" or "No findings." only when it is whole. A check that crashed found nothing
because it stopped, not because the image is healthy: `imgscan scan` exits 3 on it (imgscan.gate.crashed decides,
here as there), so no view may show a passing run. A skipped check judged nothing, which a CI system must see
as skipped, not passed. Findings --severity hid still count for --fail-on. Each view used to answer these on
its own, or not at all; one module keeps the HTML verdict, SARIF's invocation, JUnit's cases and the table's
summary in agreement with each other and with the exit code.
"""

from __future__ import annotations

from imgscan.check import Severity
from imgscan.gate import CRASH_PATH, CRASHED, crashed, gating, hidden_note, summary_gates
from imgscan.report import Report


def crashes(report: Report) -> dict[str, str]:
    """Each crashed check by name, with the reason its `errors` entry gives ("RuntimeError: kaboom", or "" when
    there is none): the checks whose findings are missing, in the order `imgscan.gate.crashed` lists them."""
    said = {error["path"]: error["message"] for error in report["errors"]}
    return {name: said.get(CRASH_PATH + name, "").removeprefix(CRASHED) for name in crashed(report)}


def crash_sentence(name: str, reason: str) -> str:
    """One crashed check in words, with why the run cannot pass: its reason is kept, as the bug report needs it."""
    why = f" ({reason})" if reason else ""
    return f"check {name} crashed{why}; its findings are missing, so the run cannot pass"


def incomplete(report: Report) -> str | None:
    """'check boom crashed; its findings are missing', naming every crashed check, or None for a whole report:
    the words a view puts where it would otherwise say PASS or clean."""
    broken = crashed(report)
    return f"check {', '.join(broken)} crashed; its findings are missing" if broken else None


def skipped(report: Report) -> dict[str, str]:
    """Each check skipped for a reason (it had nothing to judge: no partitions in a WIM, no UEFI boot files), by
    name: its rules judged nothing, which is not the same as finding nothing."""
    runs = report["inventory"].get("checks", [])
    return {run["check"]: run["skipped"] for run in runs if "skipped" in run}


def summary_words(report: Report) -> str:
    """The summary line's counts ('1 high, 2 suppressed'), 'clean' only for a whole report, and the crashed
    checks otherwise: a clean-looking summary above an error line was read as a pass."""
    counted = ", ".join(f"{n} {severity}" for severity, n in report["summary"].items() if n)
    missing = incomplete(report)
    if missing is None:
        return counted or "clean"
    return f"{counted}; incomplete: {missing}" if counted else f"incomplete: {missing}"


def shown_severities(report: Report) -> str | None:
    """The --severity that hid findings ('critical', 'high,critical'), or None when it hid none (or was not given)."""
    filtered = report.get("filtered")
    return ",".join(filtered["severities"]) if filtered and any(filtered["hidden"].values()) else None


def hidden_line(report: Report) -> str | None:
    """'--severity critical hid 5 finding(s) (3 high, 2 medium); they still count for --fail-on', or None."""
    filtered, shown = report.get("filtered"), shown_severities(report)
    return f"--severity {shown} hid {hidden_note(filtered['hidden'])}" if filtered and shown else None


def hidden_gates(report: Report, fail_on: Severity) -> int:
    """Causes at or above --fail-on that --severity left out of `findings`: the summary counts every cause, the
    list only those shown, so the difference fails the gate unseen."""
    return max(0, summary_gates(report["summary"], fail_on) - len(gating(report["findings"], fail_on)))
