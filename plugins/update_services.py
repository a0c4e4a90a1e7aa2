"""Update services disabled: every host built from the image refuses Windows Update.

What it finds: `Start` = 4 (disabled) for the services wuauserv (Windows Update), BITS or
TrustedInstaller (Windows Modules Installer) in the current control set, or the policy
`SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate` `DisableWindowsUpdateAccess` = 1. Sources:
Microsoft, "Manage additional Windows Update settings" (the policy) and the Windows Update
troubleshooting article for 0x8024002E; 0x80070422 is ERROR_SERVICE_DISABLED.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import MACHINE_HIVES
from imgscan.check import Check, Finding, InventoryItem, Rule, Severity
from imgscan.report import Evidence

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

SERVICES = {
    "wuauserv": "Windows Update",
    "BITS": "Background Intelligent Transfer Service",
    "TrustedInstaller": "Windows Modules Installer",
}
POLICY_KEY = r"Policies\Microsoft\Windows\WindowsUpdate"
DISABLED = 4

UPDATE_SERVICE_DISABLED = Rule(
    id="update-service-disabled",
    severity=Severity.HIGH,
    title="Windows Update service or access disabled in the image",
    summary=(
        "A service updates need (wuauserv, BITS, TrustedInstaller) is disabled, or policy disables access to "
        "Windows Update: every host built from the image fails updates with 0x80070422 or 0x8024002E."
    ),
    references=(
        "https://learn.microsoft.com/en-us/windows/deployment/update/waas-wu-settings",
        "https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/"
        "troubleshoot-windows-update-error-code-0x8024002e",
    ),
    predicts=("0x80070422", "0x8024002E"),
    hits="at every update scan and install",
)


class UpdateServices(Check):
    rules = (UPDATE_SERVICE_DISABLED,)
    needs = (MACHINE_HIVES,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        hives = artefacts.get(MACHINE_HIVES)
        system, software = hives.system, hives.software
        control_set = system.control_set() if system else None
        evidence: list[Evidence] = []
        codes = []
        if system is not None and control_set is not None:
            for name, label in SERVICES.items():
                key = rf"{control_set}\Services\{name}"
                start = system.value(key, "Start")
                yield InventoryItem("update_services", {"path": rf"SYSTEM\{key}", "service": name, "start": start})
                if start == DISABLED:
                    evidence.append({"path": rf"SYSTEM\{key}", "value": "Start", "data": DISABLED, "service": label})
                    codes.append("0x80070422")
        access = software.value(POLICY_KEY, "DisableWindowsUpdateAccess") if software else None
        if access == 1:
            evidence.append({"path": rf"SOFTWARE\{POLICY_KEY}", "value": "DisableWindowsUpdateAccess", "data": 1})
            codes.append("0x8024002E")
        if not evidence:
            return
        what = "; ".join(
            f"{service} disabled" if (service := e.get("service")) else "policy DisableWindowsUpdateAccess = 1" for e in evidence
        )
        yield Finding(
            rule=UPDATE_SERVICE_DISABLED,
            message=f"{what}: every host built from this image fails Windows Update with {' / '.join(dict.fromkeys(codes))}.",
            evidence=evidence,
            remediation=(
                "In the reference machine, set the services back to their defaults (wuauserv and BITS Manual/"
                "trigger start, TrustedInstaller Manual: 'sc config wuauserv start= demand' and likewise) and remove "
                "DisableWindowsUpdateAccess from the WindowsUpdate policy key (or the GPO that sets it), then recapture."
            ),
            hresult=codes[0],
        )
