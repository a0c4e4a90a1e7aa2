"""Component store inconsistent: an installed package whose manifest or catalog is missing, or whose
catalog does not vouch for its manifest.

What it finds, from the files CBS itself reads: an installed package (CBS `Packages` CurrentState
0x70 and the other installed states) whose `.mum` or `.cat` is missing from `servicing\\Packages`, or
whose `.mum` SHA-256 is not a member of its `.cat`. CheckSUR (KB947821) reports these as "CBS MUM
Missing", "CBS Catalog Missing" and "CBS MUM Corrupt"; installs and uninstalls touching the package
fail with 0x800F081F CBS_E_SOURCE_MISSING or 0x80073712 ERROR_SXS_COMPONENT_STORE_CORRUPT.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.check import Check, Finding, Rule, Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts import Artefacts

COMPONENT_STORE_INCONSISTENT = Rule(
    id="component-store-inconsistent",
    severity=Severity.HIGH,
    title="Installed package with a missing or mismatched manifest or catalog",
    summary=(
        "An installed package's .mum or .cat is missing from servicing\\Packages, or its catalog does not list its "
        "manifest: updates that touch the package fail with 0x800F081F or 0x80073712 (what CheckSUR reports as "
        "CBS MUM Missing, CBS Catalog Missing or CBS MUM Corrupt)."
    ),
    references=(
        "https://learn.microsoft.com/en-us/troubleshoot/windows-server/deployment/fix-windows-update-errors-with-checksur",
        "https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/repair-a-windows-image",
    ),
    predicts=("0x800F081F", "0x80073712"),
    hits="when an update that touches the package installs, or the package is removed",
)


class ComponentStore(Check):
    rules = (COMPONENT_STORE_INCONSISTENT,)
    needs = ("packages",)

    def run(self, artefacts: Artefacts) -> Iterator[Finding]:
        from imgscan.artefacts.catalog_set import store_problems

        for package in artefacts.packages:
            if not package.installed:
                continue
            problems = store_problems(package, artefacts.catalogs)
            if not problems:
                continue
            yield Finding(
                rule=COMPONENT_STORE_INCONSISTENT,
                message=(
                    f"{package.identity} ({package.kb or 'no KB'}, {package.state_name}): "
                    f"{'; '.join(f'{kind}: {what}' for kind, what in problems)}. Installing or removing updates that "
                    "touch it fails with 0x800F081F (source missing) or 0x80073712 (component store corrupt)."
                ),
                evidence=[
                    {
                        "path": package.cat_path or package.mum_path or rf"Windows\servicing\Packages\{package.identity}",
                        "package": package.identity,
                        "checksur": kind,
                        "detail": what,
                    }
                    for kind, what in problems
                ],
                remediation=(
                    "Repair the reference machine before capture: on Windows 7 run the System Update Readiness tool "
                    "(CheckSUR, KB947821) with the package's files in \\Windows\\CheckSUR\\packages; on Windows 8 and "
                    "later DISM /Online /Cleanup-Image /RestoreHealth with a matching source. Or rebuild the image."
                ),
                hresult="0x800F081F",
                subjects=(package.identity,),
            )
