"""`wmic qfe` returns "No instances available" (seed 001).

What it finds: an installed package whose catalog signature is, or within
--horizon days becomes, invalid. Win32_QuickFixEngineering (`wmic qfe`,
`Get-HotFix`) enumerates CBS packages; in seed 001 one package that CBS could
no longer open (KB2705219, CERT_E_EXPIRED) emptied the whole list on ~10,000
hosts. The exact per-package mechanism is not documented: this is a prediction
resting on that incident, and the message says so. Which packages count is
`qfe_opened` in imgscan/servicing.py: every installed one, also Windows' own
foundation, edition and language packages that the list never shows, because
CBS has to open a package to learn whether it is an update.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from imgscan.catalog_inventory import first_failure
from imgscan.check import Check, Finding, Rule, Severity, Timing
from imgscan.servicing import qfe_opened

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts import Artefacts

QFE_EMPTY = Rule(
    id="qfe-empty",
    severity=Severity.CRITICAL,
    timing=Timing(now=Severity.CRITICAL, soon=Severity.HIGH),
    title="wmic qfe / Get-HotFix will return no instances",
    summary=(
        "An installed package's catalog is (or will be) invalid, so CBS cannot open it and "
        "Win32_QuickFixEngineering returns no instances at all on hosts built from the image."
    ),
    references=(
        "https://techcommunity.microsoft.com/blog/askperf/two-minute-drill-win32-quickfixengineering-no-instances-available/372786",
        "https://learn.microsoft.com/en-us/security-updates/securityadvisories/2012/2749655",
        "observed: after KB2705219's catalog certificate expired, wmic qfe printed 'No instances available' "
        "on ~10,000 Windows 7 SP1 hosts deployed from one sysprepped image",
    ),
    predicts=("0x800B0101",),
)


class QfeEmpty(Check):
    rules = (QFE_EMPTY,)
    needs = ("packages", "catalogs")

    def applies(self, artefacts: Artefacts) -> bool:
        return bool(qfe_opened(artefacts.packages))

    def run(self, artefacts: Artefacts) -> Iterator[Finding]:
        culprits: list[tuple[date | None, dict[str, object]]] = []
        own = 0  # culprits that are Windows' own packages: never a wmic qfe row, yet opened to answer it
        for package in qfe_opened(artefacts.packages):
            starts, never_valid = first_failure([r for r in artefacts.catalogs.of_package(package) if r.verdict])
            if never_valid or (starts is not None and starts <= artefacts.horizon_end):
                own += not package.is_update
                culprits.append(
                    (
                        None if never_valid else starts,
                        {
                            "path": package.cat_path or package.mum_path or package.identity,
                            "package": package.identity,
                            "kb": package.kb,
                            "state": package.state_name,
                            "fails_from": "already (never valid)" if never_valid else str(starts),
                        },
                    )
                )
        if not culprits:
            return
        dated = [s for s, _ in culprits if s is not None]
        # a package that never validates empties the list already; else the first package to fail decides
        starts = None if len(dated) < len(culprits) else min(dated)
        # an update by its KB, one of Windows' own packages (no KB: never a wmic qfe row itself) by name
        names = sorted({str(e["kb"] or str(e["package"]).split("~")[0]) for _, e in culprits})
        when = f"from {starts}" if starts else "already"
        unlisted = f"; {own} of them not listed by wmic qfe itself, yet opened to answer it" if own else ""
        yield Finding(
            rule=QFE_EMPTY,
            message=(
                f'Prediction: {when}, Win32_QuickFixEngineering (wmic qfe, Get-HotFix) returns "No instances '
                f'available" on every host built from this image, because CBS cannot open {len(culprits)} installed '
                f"package(s) whose catalog signature is invalid ({', '.join(names)}{unlisted}). One such package "
                f"(KB2705219, whose catalog expired in 2013) emptied the list on ~10,000 Windows 7 hosts deployed from "
                f"one image; Microsoft does not document the per-package mechanism, so this is a prediction."
            ),
            evidence=[e for _, e in sorted(culprits, key=lambda c: (str(c[0]), str(c[1]["package"])))],
            remediation=(
                "Fix the catalog-expiry / catalog-untrusted findings of these packages (install KB2749655 where it "
                "applies, or replace the packages with their re-released versions) and recapture the image; on "
                "deployed hosts, uninstalling the package (clock set back) restores wmic qfe at once."
                + (" Windows' own packages cannot be uninstalled: rebuild the image from valid media." if own else "")
            ),
            starts=starts,
            hresult="0x800B0101",
            subjects=tuple(str(e["package"]) for _, e in culprits),
        )
