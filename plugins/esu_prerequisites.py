"""ESU prerequisites missing: a Windows 7 SP1 / Server 2008 R2 SP1 image that cannot install Extended
Security Updates.

What it finds: from 2020-01-14 (the end of extended support; a scan whose --horizon reaches that day
predicts it, as it does other dated failures), a 6.1.7601 image without
the ESU Licensing Preparation Package (KB4538483, or KB4575903 that replaces it), or without the SHA-2
support the ESU packages are signed for (KB4474419 and a servicing stack update of March 2019 or later).
ESU updates then fail: 0xC004F050 when the licensing package is missing, 0x80096010 TRUST_E_BAD_DIGEST
when SHA-2 support is missing. Sources: Microsoft KB4522133 (how to get ESU) and "Troubleshoot Extended
Security Updates issues" (learn.microsoft.com); the update list is imgscan/data/windows7_servicing.toml.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import MACHINE_HIVES, PACKAGES
from imgscan.check import Check, Finding, Rule, Severity
from imgscan.timing import Timing

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

ESU_PREREQUISITES_MISSING = Rule(
    id="esu-prerequisites-missing",
    severity=Severity.MEDIUM,
    timing=Timing(now=Severity.MEDIUM, soon=Severity.LOW),
    title="Windows 7 SP1 image not ready for Extended Security Updates",
    summary=(
        "From 2020-01-14, the end of extended support, a Windows 7 SP1 / Server 2008 R2 SP1 image that lacks the ESU "
        "licensing preparation package (KB4538483) or SHA-2 support fails ESU updates with 0xC004F050 or 0x80096010."
    ),
    references=(
        "https://support.microsoft.com/help/4522133",
        "https://support.microsoft.com/help/4538483",
        "https://learn.microsoft.com/en-us/troubleshoot/windows-client/windows-7-eos-faq/"
        "troubleshoot-extended-security-updates-issues",
    ),
    predicts=("0xC004F050", "0x80096010"),
    hits="when an Extended Security Update installs",
)


class EsuPrerequisites(Check):
    rules = (ESU_PREREQUISITES_MISSING,)
    needs = (MACHINE_HIVES,)
    uses = (PACKAGES,)
    not_applicable = "not a Windows 7 SP1 / Server 2008 R2 SP1 image"

    def applies(self, artefacts: CheckContext) -> bool:
        # dated by the end of support: the time policy says whether it holds, starts within --horizon or later
        os = artefacts.get(MACHINE_HIVES).os_version
        return bool(os and os.is_windows7_sp1)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        from imgscan.servicing_levels import servicing_level, windows7_servicing

        data = windows7_servicing()
        level = servicing_level(artefacts.get(PACKAGES).packages)
        licensing = data.esu_licensing[0].kb
        problems = []  # (what is missing, the code ESU updates fail with)
        if level.esu_licensing is None:
            problems.append((f"the ESU Licensing Preparation Package {licensing} (or its replacement)", "0xC004F050"))
        if not level.has_sha2_support:
            problems.append(("SHA-2 support (KB4474419 and a servicing stack update of March 2019 or later)", "0x80096010"))
        if not problems:
            return
        yield Finding(
            rule=ESU_PREREQUISITES_MISSING,
            message=(
                f"Windows 7 SP1 / Server 2008 R2 SP1 left extended support on {data.end_of_support.isoformat()}, and "
                f"this image lacks {' and '.join(what for what, _ in problems)}: Extended Security Updates fail to "
                f"install on every host built from it ({', '.join(code for _, code in problems)})."
            ),
            evidence=[
                {
                    "path": r"Windows\servicing\Packages",
                    "missing": [what for what, _ in problems],
                    "esu_licensing": level.esu_licensing,
                    "sha2_support": level.sha2_support,
                    "installed_ssus": list(level.ssus),
                }
            ],
            remediation=(
                f"Install the newest servicing stack update, KB4474419 and {licensing} into the reference image, then "
                "install and activate the ESU key on each host as KB4522133 describes."
            ),
            starts=data.end_of_support,
            hresult=problems[0][1],
        )
