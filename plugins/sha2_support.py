"""SHA-2 support missing: a Windows 7 SP1 / Server 2008 R2 SP1 image that cannot verify SHA-2 signed updates.

What it finds: a 6.1.7601 image (SOFTWARE `Microsoft\\Windows NT\\CurrentVersion`) without KB4474419
(SHA-2 code signing support) installed, or without a servicing stack update of March 2019 or later
(KB4490628 or a later SSU; the list and its sources are in imgscan/data/windows7_servicing.toml).
Updates released from 2019-08-13 on are signed with SHA-2 only, and such an image fails them with
0x80092004 CRYPT_E_NOT_FOUND (reported on the August 2019 rollups KB4512506 and KB4512486).
Source: Microsoft KB4472027, "2019 SHA-2 code signing support requirement for Windows and WSUS".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import MACHINE_HIVES, PACKAGES
from imgscan.check import Check, Finding, Rule, Severity, Timing

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

SHA2_SUPPORT_MISSING = Rule(
    id="sha2-support-missing",
    severity=Severity.HIGH,
    timing=Timing(now=Severity.HIGH, soon=Severity.MEDIUM),
    title="Windows 7 SP1 image without SHA-2 code signing support",
    summary=(
        "A Windows 7 SP1 / Server 2008 R2 SP1 image lacks KB4474419 or a servicing stack update of March 2019 "
        "or later: every update released from 2019-08-13 on is signed with SHA-2 only and fails with 0x80092004."
    ),
    references=(
        "https://support.microsoft.com/help/4472027",
        "https://support.microsoft.com/help/4474419",
        "https://support.microsoft.com/help/4490628",
    ),
    predicts=("0x80092004",),
)


class Sha2Support(Check):
    rules = (SHA2_SUPPORT_MISSING,)
    needs = (MACHINE_HIVES,)
    uses = (PACKAGES,)

    def applies(self, artefacts: CheckContext) -> bool:
        os = artefacts.get(MACHINE_HIVES).os_version
        return bool(os and os.is_windows7_sp1)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        from imgscan.servicing_levels import servicing_level, windows7_servicing

        data = windows7_servicing()
        os = artefacts.get(MACHINE_HIVES).os_version
        level = servicing_level(artefacts.get(PACKAGES).packages)
        missing = []
        if level.sha2_support is None:
            missing.append(f"{data.sha2_support[0].kb} (SHA-2 code signing support)")
        if level.latest_ssu is None:
            missing.append(f"a servicing stack update of March 2019 or later ({data.first_sha2_ssu.kb} or newer)")
        if not missing:
            return
        yield Finding(
            rule=SHA2_SUPPORT_MISSING,
            message=(
                f"This Windows 7 SP1 / Server 2008 R2 SP1 image lacks {' and '.join(missing)}: updates released from "
                f"{data.sha2_only_from.isoformat()} on are signed with SHA-2 only, and every host built from it fails "
                "them with 0x80092004 CRYPT_E_NOT_FOUND."
            ),
            evidence=[
                {
                    "path": r"Windows\servicing\Packages",
                    "os": os.name if os else None,
                    "missing": missing,
                    "installed_ssus": list(level.ssus),
                    "sha2_support": level.sha2_support,
                }
            ],
            remediation=(
                f"Install {data.first_sha2_ssu.kb} (or the newest servicing stack update) first, then "
                f"{data.sha2_support[0].kb}, into the reference image (DISM /Add-Package or on the running machine, "
                "restarting between them), and capture it again."
            ),
            starts=data.sha2_only_from,
            hresult="0x80092004",
        )
