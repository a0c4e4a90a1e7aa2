"""`wmic qfe` returns "No instances available" (KB2705219's expired catalog).

What it finds: an installed package whose catalog signature is, or within
--horizon days becomes, invalid. Win32_QuickFixEngineering (`wmic qfe`,
`Get-HotFix`) enumerates CBS packages; after KB2705219's catalog expired, one package that CBS could
no longer open (KB2705219, CERT_E_EXPIRED) emptied the whole list on ~10,000
hosts. The exact per-package mechanism is not documented: this is a prediction
resting on that incident (cited in the rule's references; the message describes
this image: which packages and KBs, from when). Which packages count is
`qfe_opened` in imgscan/servicing.py: every installed one, also Windows' own
foundation, edition and language packages that the list never shows, because
CBS has to open a package to learn whether it is an update. It also states what
`wmic qfe` lists on the --as-of day (inventory `wmic_qfe`), which
`imgscan packages` shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING

from imgscan.artefacts import CATALOGS, PACKAGES
from imgscan.artefacts.catalog_set import first_failure, first_failure_at
from imgscan.check import Check, Finding, InventoryItem, Rule, Severity, Timing
from imgscan.report import FileEvidence
from imgscan.servicing import qfe_opened
from imgscan.timing import Phase

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext

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
    # one list per image: which packages empty it may change from one build to the next (diff: the same finding)
    subject="image",
    consequence_of=("catalog-expiry", "catalog-untrusted", "catalog-unreadable"),
)


class QfeEmpty(Check):
    rules = (QFE_EMPTY,)
    needs = (PACKAGES, CATALOGS)

    def applies(self, artefacts: CheckContext) -> bool:
        return bool(qfe_opened(artefacts.get(PACKAGES).packages))

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        from imgscan.servicing import qfe_rows

        culprits: list[tuple[date | None, FileEvidence]] = []
        moments: list[datetime] = []  # when each dated culprit fails, to the second
        own = 0  # culprits that are Windows' own packages: never a wmic qfe row, yet opened to answer it
        catalogs = artefacts.get(CATALOGS).catalogs
        for package in qfe_opened(artefacts.get(PACKAGES).packages):
            records = [r for r in catalogs.of_package(package) if r.verdict]
            starts, never_valid = first_failure(records)
            never_valid = never_valid or bool(catalogs.unverifiable(package))  # unreadable or unsigned: never opens
            if never_valid or artefacts.phase(starts) in (Phase.FAILING, Phase.SOON):
                own += not package.is_update
                moments += [moment] if not never_valid and (moment := first_failure_at(records)) else []
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
        dated = [s for s, _ in culprits if s is not None]
        # a package that never validates empties the list already; else the first package to fail decides
        starts = None if len(dated) < len(culprits) else min(dated, default=None)
        empty = bool(culprits) and (starts is None or artefacts.phase(starts) is Phase.FAILING)
        # what wmic qfe lists on the --as-of day, the one answer `imgscan packages` shows in every format: with
        # the rule that predicts it and the day the list is empty from (the as-of day when no day is known)
        as_of = artefacts.scan.as_of.isoformat()
        yield InventoryItem(
            "wmic_qfe",
            {
                "as_of": as_of,
                "empty": empty,
                "from": starts.isoformat() if culprits and starts else None,
                "rows": [] if empty else qfe_rows(artefacts.get(PACKAGES).packages),
                "empty_from": (starts.isoformat() if starts else as_of) if empty else None,
                "predicted_by": QFE_EMPTY.id,
            },
        )
        if not culprits:
            return
        unlisted = f" ({own} of them Windows' own packages, which wmic qfe never lists but opens to answer)" if own else ""
        when = "already (a catalog never validates)" if starts is None else f"{'since' if empty else 'from'} {starts}"
        yield Finding(
            rule=QFE_EMPTY,
            message=(
                f'Predicted: {when}, Win32_QuickFixEngineering (wmic qfe, Get-HotFix) returns "No instances available" '
                f"on every host built from this image, because CBS cannot open these installed packages, whose catalog "
                f"signature is or becomes invalid: {_by_update(culprits)}{unlisted}. Microsoft does not document why one such "
                "package empties the whole list; the references hold an observed case."
            ),
            evidence=[e for _, e in sorted(culprits, key=lambda c: (str(c[0]), str(c[1]["package"])))],
            remediation=(
                "Fix the catalog-expiry / catalog-untrusted findings of these packages (install KB2749655 where it "
                "applies, or replace the packages with their re-released versions) and recapture the image; on "
                "deployed hosts, uninstalling the package (clock set back) restores wmic qfe at once."
                + (" Windows' own packages cannot be uninstalled: rebuild the image from valid media." if own else "")
            ),
            starts=starts,
            starts_at=min(moments) if starts is not None else None,
            hresult="0x800B0101",
            subjects=tuple(str(e["package"]) for _, e in culprits),
        )


def _by_update(culprits: list[tuple[date | None, FileEvidence]]) -> str:
    """'KB2705219 (3 packages, from 2013-06-30), KB2731847 (1 package, from 2013-10-15)'."""
    days: dict[str, list[date | None]] = {}
    for day, evidence in culprits:
        # an update by its KB, one of Windows' own packages (no KB: never a wmic qfe row itself) by name
        days.setdefault(str(evidence["kb"] or str(evidence["package"]).split("~")[0]), []).append(day)
    parts = []
    for update, starts in sorted(days.items()):
        first = "never valid" if None in starts else f"from {min(d for d in starts if d is not None)}"
        parts.append(f"{update} ({len(starts)} package{'s' if len(starts) > 1 else ''}, {first})")
    return ", ".join(parts)
