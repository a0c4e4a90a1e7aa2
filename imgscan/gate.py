"""What --fail-on counts, read from the JSON report: one count per cause, never per symptom.

A consequence (a finding with `caused_by`) gates through its root; a root (or a
finding on its own) gates at its `gating_severity`, the worst severity of its
group that no ignore entry accepts. The scan's summary and exit code, the HTML
verdict, JUnit's failures, `diff` and the fleet all count with these functions.
A report saved before findings were linked has no `gating_severity`: there each
finding counts on its own, unless the ignore file accepted it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from imgscan.report import FindingJson
from imgscan.severity import Severity


def gating_severity(finding: FindingJson) -> Severity | None:
    """The severity this finding counts at for the gate; None when it does not count (a consequence,
    or a cause whose whole group the ignore file accepted)."""
    if finding.get("caused_by"):
        return None
    if "gating_severity" in finding:
        return Severity.parse(finding["gating_severity"]) if finding["gating_severity"] else None
    return None if finding.get("suppressed") else Severity.parse(finding["severity"])


def summary(findings: Iterable[FindingJson]) -> dict[str, int]:
    """Causes per gating severity, and how many findings the ignore file accepted."""
    listed = list(findings)
    counted = [gating_severity(f) for f in listed]
    return {str(s): sum(c == s for c in counted) for s in reversed(Severity)} | {
        "suppressed": sum(bool(f.get("suppressed")) for f in listed)
    }


def gating(findings: Iterable[FindingJson], fail_on: Severity) -> list[FindingJson]:
    """The causes at or above --fail-on."""
    return [f for f in findings if (level := gating_severity(f)) is not None and level >= fail_on]


def summary_gates(summary_counts: Mapping[str, int], fail_on: Severity) -> int:
    """How many causes reach --fail-on, from a report's summary (which counts hidden findings too)."""
    return sum(int(summary_counts.get(str(s), 0)) for s in Severity if s >= fail_on)


def hidden_note(hidden: Mapping[str, int]) -> str:
    """What --severity left out, in words: '4 finding(s) (2 high, 2 medium); they still count for --fail-on'."""
    parts = [f"{n} {name}" for name, n in hidden.items() if n]
    live = unaccepted(hidden)
    note = f"{sum(hidden.values())} finding(s) ({', '.join(parts)})"
    if live and hidden.get("suppressed"):
        return note + "; those the ignore file does not accept still count for --fail-on"
    return note + ("; they still count for --fail-on" if live else "")


CRASH_PATH = "check:"  # a crashed check's entry in a report's `errors`: {"path": "check:NAME", "message": CRASHED + why}
CRASHED = "check crashed: "


def crash_error(name: str, why: str) -> dict[str, str]:
    """The `errors` entry of check `name` that crashed (`why`: the exception), as the views read it back."""
    return {"path": CRASH_PATH + name, "message": CRASHED + why}


def unaccepted(hidden: Mapping[str, int]) -> int:
    """How many of the findings --severity hid the ignore file does not accept: those may still fail the gate."""
    return sum(n for name, n in hidden.items() if name != "suppressed")


def crashed(report: Mapping[str, object]) -> list[str]:
    """The checks that crashed in the scan `report` holds (its `inventory.checks`: not completed, and not skipped
    for a reason): their findings are missing, so the gate cannot pass on it, whatever it found."""
    inventory = report.get("inventory")
    runs = inventory.get("checks", []) if isinstance(inventory, Mapping) else []
    return [str(run["check"]) for run in runs if isinstance(run, Mapping) and not run.get("completed") and "skipped" not in run]
