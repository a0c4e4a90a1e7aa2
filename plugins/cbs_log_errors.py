"""Failures recorded by Component Based Servicing: CBS.log, its CbsPersist rotations (.log, .cab), CheckSUR.

What it finds: each (package or catalog, HRESULT) that CBS logged at Error level, or
that CheckSUR reported, with when it first and last happened, how often, and sample
lines (path and line number). A prediction that explains it (catalog-expiry for
CERT_E_EXPIRED on the same package) is linked both ways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.check import Finding, Rule, Severity
from imgscan.logcheck import SEVERITY_POLICY, LogCheck, code_text, evidence, observed_at, severity_of, span

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.logs.collect import LogGroup

    pass

CBS_LOG_ERROR = Rule(
    id="cbs-log-error",
    policy=SEVERITY_POLICY,
    severity=Severity.HIGH,
    title="Servicing failure recorded in CBS.log / CheckSUR.log",
    summary="CBS or CheckSUR logged a failure for a package or catalog; severity follows the HRESULT's class.",
    references=(
        "https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/"
        "fix-windows-update-errors",
        "https://learn.microsoft.com/en-us/troubleshoot/windows-server/deployment/fix-windows-update-errors-with-checksur",
    ),
    observes_logs=True,
    hits="already happened (the log line has no time)",
    subject="message",  # the group's package or catalog, then its HRESULT
    subject_code=True,
)


class CbsLogErrors(LogCheck):
    rules = (CBS_LOG_ERROR,)
    family = "cbs"

    def finding(self, group: LogGroup) -> Finding:
        subject = group.subject or "(no package named)"
        return Finding(
            rule=CBS_LOG_ERROR,
            severity=severity_of(group.hresult),
            message=f"{subject}: {code_text(group.hresult)} logged {span(group)} ({', '.join(sorted(group.sources))}).",
            evidence=evidence(group),
            # the fix when no prediction explains it; one that does gives its own (imgscan.correlate)
            remediation=(
                f"No check of this image predicts this failure: `imgscan explain {group.hresult}` says what the code "
                "means; repair the component store (DISM /RestoreHealth on Windows 8+, CheckSUR / System Update "
                "Readiness on Windows 7)."
            ),
            hresult=group.hresult,
            observed=observed_at(group),
            subjects=tuple(sorted(group.names | ({group.subject} if group.subject else set()))),
        )
