r"""Update installers that failed, from their own logs: .NET `%TEMP%\KB<nnn>.html`, `dd_*.txt`, WindowsUpdate.log.

What it finds: per update (KB) and setup log, the file whose signature failed to verify
and with which error, and the installation's final result (WinTrust State 0xc9: NDP40-KB2656368.msp,
0x800b010e, final result 0x800B010B). wintrust-offline-revocation explains exactly that pair.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.check import Finding, Rule, Severity
from imgscan.logcheck import SEVERITY_POLICY, LogCheck, code_text, evidence, observed_at, severity_of, span
from imgscan.report import Evidence

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext
    from imgscan.logs.collect import LogGroup

SETUP_LOG_ERROR = Rule(
    id="setup-log-error",
    policy=SEVERITY_POLICY,
    severity=Severity.HIGH,
    title="Update setup failed (setup log)",
    summary="An update's own setup log, or WindowsUpdate.log, records a failed signature check or installation.",
    references=(
        "https://learn.microsoft.com/en-us/dotnet/framework/install/troubleshoot-blocked-installations-and-uninstallations",
        "observed: %TEMP%\\KB2656368.html 'Signature verification for file NDP40-KB2656368.msp failed with error "
        "0x800b010e', final result 0x800B010B",
    ),
    observes_logs=True,
    hits="already happened (the log line has no time)",
    subject="message",  # the update: one finding per update, whatever codes it logged
)


class SetupLogErrors(LogCheck):
    """One finding per update, joining its signature, final-result and other failures."""

    rules = (SETUP_LOG_ERROR,)
    family = "setup"

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        by_update: dict[str, list[LogGroup]] = {}
        for group in self.groups(artefacts):
            by_update.setdefault(group.subject or "(no update named)", []).append(group)
        for update, groups in by_update.items():
            verification = [g for g in groups if "setup: signature" in g.sources]
            final = [g for g in groups if "setup: final result" in g.sources]
            other = [g for g in groups if g not in verification and g not in final]
            reported = (final or verification or other)[0]
            files = sorted(n for g in verification for n in g.names if n != update)
            parts = []
            if verification:
                parts.append(
                    f"signature verification of {', '.join(files) or 'a file'} failed with "
                    f"{', '.join(code_text(g.hresult) for g in verification)}"
                )
            if final:
                parts.append(f"final result {', '.join(code_text(g.hresult) for g in final)}")
            parts += [f"{code_text(g.hresult)} ({', '.join(sorted(g.sources))})" for g in other]
            items: list[Evidence] = []
            for group in verification:
                items += [{**e, "failing_file": ", ".join(files), "verification_error": group.hresult} for e in evidence(group)]
            for group in final:
                items += [{**e, "final_result": group.hresult} for e in evidence(group)]
            for group in other:
                items += evidence(group)
            yield Finding(
                rule=SETUP_LOG_ERROR,
                severity=max(severity_of(g.hresult) for g in groups),
                message=f"{update}: {'; then '.join(parts)} ({span(reported)}).",
                evidence=items,
                remediation=(
                    "A signature check that fails with 0x800B010E (revocation could not be checked) points at the "
                    "WinTrust State of the account that ran setup: see wintrust-offline-revocation. Otherwise "
                    "download the update again and check the file's signature."
                ),
                hresult=reported.hresult,
                subjects=(update, *files),
                observed=min((o for g in groups if (o := observed_at(g))), default=None),
            )
