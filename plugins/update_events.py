"""Windows Update failures in the event logs: System (Windows Update Agent event 20) and Setup (WUSA 3/8, Servicing).

What it finds: each update and error code the event logs record as failed, with the
error in hex (WUSA logs it in decimal: 2148204801 = 0x800B0101), when, and the records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.check import Finding, Rule, Severity
from imgscan.logcheck import SEVERITY_POLICY, LogCheck, code_text, evidence, observed_at, severity_of, span

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.logs.collect import LogGroup

    pass

UPDATE_EVENT_ERROR = Rule(
    id="update-event-error",
    policy=SEVERITY_POLICY,
    severity=Severity.HIGH,
    title="Update installation failure in the event log",
    summary="System.evtx or Setup.evtx records an update that failed to install, with its error code.",
    references=(
        "https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/"
        "fix-windows-update-errors",
        "observed: System log, Windows Update Agent event 20 'Installation Failure ... error 0x80070643'; Setup log, "
        "Microsoft-Windows-WUSA event 3 with error 2148204801 (0x800B0101)",
    ),
    observes_logs=True,
    hits="already happened (the event has no time)",
    subject="message",  # the update, then the HRESULT
    subject_code=True,
)


class UpdateEvents(LogCheck):
    rules = (UPDATE_EVENT_ERROR,)
    family = "events"
    only_failed = False

    def finding(self, group: LogGroup) -> Finding:
        value = int(group.hresult, 16)
        update = group.subject or "an update"
        return Finding(
            rule=UPDATE_EVENT_ERROR,
            severity=severity_of(group.hresult),
            message=f"{update}: {code_text(group.hresult)} (decimal {value}) — {', '.join(sorted(group.sources))}, "
            f"{span(group)}.",
            evidence=evidence(group),
            # the fix when no prediction explains it; one that does gives its own (imgscan.correlate)
            remediation=(
                f"No check of this image predicts this failure: `imgscan explain {group.hresult}` says what the code "
                "means and which rules would predict it."
            ),
            hresult=group.hresult,
            observed=observed_at(group),
            subjects=tuple(sorted(group.names)),
        )
