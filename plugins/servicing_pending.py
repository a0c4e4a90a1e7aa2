"""Servicing pending: the image carries operations that wait for a reboot it will never get.

What it finds: `Windows\\WinSxS\\pending.xml`, `PendingFileRenameOperations` in the current control
set's Session Manager, or CBS's RebootPending / PackagesPending / SessionsPending keys. Offline
servicing (DISM /Image, Add-WindowsPackage -Path) refuses such an image with 0x800F0806 CBS_E_PENDING,
and on each host the first updates wait for that reboot (0x80070BC9 ERROR_FAIL_REBOOT_REQUIRED, CBS.log
"Pending transaction content must be resolved"). Sources: Configuration Manager prerequisite check
"Pending system restart"; Microsoft troubleshooting article for Windows Update error 0x80070BC9.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import PENDING
from imgscan.check import Check, Finding, Rule, Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

SERVICING_PENDING = Rule(
    id="servicing-pending",
    severity=Severity.HIGH,
    title="Servicing operations pending a reboot in the captured image",
    summary=(
        "The image was captured with servicing work waiting for a reboot (pending.xml, pending file renames or "
        "CBS reboot markers): offline servicing refuses it with 0x800F0806 and the first updates on every host "
        "wait for a reboot the generalized image never had."
    ),
    references=(
        "https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/"
        "troubleshoot-windows-update-error-0x80070bc9",
        "https://learn.microsoft.com/en-us/mem/configmgr/core/servers/deploy/install/list-of-prerequisite-checks",
    ),
    predicts=("0x800F0806", "0x80070BC9"),
    hits="when the image is serviced offline, and at each host's first update install",
)


class ServicingPending(Check):
    rules = (SERVICING_PENDING,)
    needs = (PENDING,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        pending = artefacts.get(PENDING)
        what = ", ".join(str(e.get("marker") or e.get("value")) for e in pending.evidence)
        yield Finding(
            rule=SERVICING_PENDING,
            message=(
                f"Servicing is pending a reboot ({what}): DISM /Image and Add-WindowsPackage -Path fail with "
                "0x800F0806 CBS_E_PENDING on this image, and updates on each deployed host first wait for that reboot "
                "(0x80070BC9)."
            ),
            evidence=pending.evidence,
            remediation=(
                "Boot the reference machine, let it finish the pending operations (reboot until CBS reports nothing "
                "pending and pending.xml is gone), then generalize and capture the image again."
            ),
            hresult="0x800F0806",
        )
