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
`imgscan packages` shows. Each package is judged by the catalog CBS opens for it, its own
servicing\\Packages .cat; the finding's code is the one CBS hits on the package that empties the list
first (a catalog that never validates: already, with no day).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from imgscan.artefacts import CATALOGS, PACKAGES
from imgscan.artefacts.catalog_set import CatalogRecord, CatalogSet, first_failure, first_failure_at
from imgscan.check import Check, Finding, InventoryItem, Rule, Severity, Timing
from imgscan.report import FileEvidence
from imgscan.servicing import qfe_opened
from imgscan.timing import Phase

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext
    from imgscan.servicing import Package

# CheckSUR's word for a package catalog that is not a readable catalog: "CBS Catalog Corrupt 0x800B0100"
TRUST_E_NOSIGNATURE = "0x800B0100"

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
    # the code CBS hits on the package that empties the list: its catalog's own verdict (expired, bad digest,
    # untrusted root, unsigned or unreadable, revoked)
    predicts=("0x800B0101", "0x80096010", "0x800B0109", "0x800B0100", "0x800B010C"),
    hits="already: from the first query on every host, since a package's catalog never validates",
    # one list per image: which packages empty it may change from one build to the next (diff: the same finding)
    subject="image",
    consequence_of=("catalog-expiry", "catalog-untrusted", "catalog-unreadable"),
)


@dataclass(frozen=True)
class Culprit:
    """An installed package CBS cannot open, judged by its own catalog."""

    starts: date | None  # the first day it fails; None: it never validates (it fails already)
    moment: datetime | None  # that day to the second, when known
    hresult: str  # what CBS hits on it
    evidence: FileEvidence

    def order(self) -> tuple[bool, date, str]:
        """First to empty the list first: one that never validates, then by day, then by package."""
        return (self.starts is not None, self.starts or date.min, str(self.evidence["package"]))


class QfeEmpty(Check):
    rules = (QFE_EMPTY,)
    needs = (PACKAGES, CATALOGS)

    def applies(self, artefacts: CheckContext) -> bool:
        return bool(qfe_opened(artefacts.get(PACKAGES).packages))

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        from imgscan.servicing import qfe_rows

        culprits: list[Culprit] = []
        own = 0  # culprits that are Windows' own packages: never a wmic qfe row, yet opened to answer it
        catalogs = artefacts.get(CATALOGS).catalogs
        for package in qfe_opened(artefacts.get(PACKAGES).packages):
            records = [r for r in _own_catalogs(package, catalogs) if r.verdict]
            starts, never_valid = first_failure(records)
            unverifiable = catalogs.unverifiable(package)  # unreadable or unsigned: it never opens
            never_valid = never_valid or bool(unverifiable)
            if never_valid or artefacts.phase(starts) in (Phase.FAILING, Phase.SOON):
                own += not package.is_update
                culprits.append(
                    Culprit(
                        starts=None if never_valid else starts,
                        moment=None if never_valid else first_failure_at(records),
                        hresult=_code(records, unverifiable, never_valid, starts),
                        evidence={
                            "path": package.cat_path or package.mum_path or package.identity,
                            "package": package.identity,
                            "kb": package.kb,
                            "state": package.state_name,
                            "fails_from": "already (never valid)" if never_valid else str(starts),
                        },
                    )
                )
        culprits.sort(key=Culprit.order)
        first = culprits[0] if culprits else None
        # a package that never validates empties the list already; else the first package to fail decides
        starts = first.starts if first else None
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
        if first is None:
            return
        unlisted = f" ({own} of them Windows' own packages, which wmic qfe never lists but opens to answer)" if own else ""
        when = "already (a catalog never validates)" if starts is None else f"{'since' if empty else 'from'} {starts}"
        yield Finding(
            rule=QFE_EMPTY,
            message=(
                f'Predicted: {when}, Win32_QuickFixEngineering (wmic qfe, Get-HotFix) returns "No instances available" '
                f"on every host built from this image, because CBS cannot open these installed packages, whose catalog "
                f"signature is or becomes invalid: {_by_update(culprits)}{unlisted}. Microsoft does not document why one such "
                "package empties the whole list; the references hold an observed case." + _other_codes(culprits)
            ),
            evidence=[c.evidence for c in culprits],
            remediation=(
                "Fix the catalog-expiry / catalog-untrusted findings of these packages (install KB2749655 where it "
                "applies, or replace the packages with their re-released versions) and recapture the image; on "
                "deployed hosts, uninstalling the package (clock set back) restores wmic qfe at once."
                + (" Windows' own packages cannot be uninstalled: rebuild the image from valid media." if own else "")
            ),
            starts=starts,
            starts_at=min((c.moment for c in culprits if c.moment), default=None) if starts is not None else None,
            hresult=first.hresult,
            subjects=tuple(str(c.evidence["package"]) for c in culprits),
            # no day when a catalog never validated, yet the list is empty already: the scan stamps dated findings only
            phase=Phase.FAILING if starts is None else None,
        )


def _own_catalogs(package: Package, catalogs: CatalogSet) -> list[CatalogRecord]:
    """The catalog CBS opens for the package, servicing\\Packages\\<package>.cat, with its byte copies (one
    verdict); a package without that file, its other catalogs (a CatRoot namesake)."""
    records = catalogs.of_package(package)
    path = (package.cat_path or "").lower()
    own = next((r for r in records if path and r.path.lower() == path), None)
    return [r for r in records if r.sha256 == own.sha256] if own else records


def _code(records: list[CatalogRecord], unverifiable: list[CatalogRecord], never_valid: bool, starts: date | None) -> str:
    """The code CBS hits on a package: its own catalog's verdict (unreadable: what CheckSUR reports for it)."""
    if unverifiable:
        verdict = unverifiable[0].verdict
        return verdict.hresult if verdict and verdict.hresult else TRUST_E_NOSIGNATURE
    verdicts = [r.verdict for r in records if r.verdict]
    failing = [v for v in verdicts if v.never_valid] if never_valid else [v for v in verdicts if v.starts() == starts]
    return next((v.hresult for v in failing if v.hresult), "0x800B0101")


def _other_codes(culprits: list[Culprit]) -> str:
    """' The first package to fail, P, fails with 0x80096010; the others with 0x800B0101 (2 packages).' when
    the culprits fail with different codes (the finding's hresult is the first one's); '' otherwise."""
    first = culprits[0]
    counts: dict[str, int] = {}
    for culprit in culprits[1:]:
        counts[culprit.hresult] = counts.get(culprit.hresult, 0) + 1
    if set(counts) <= {first.hresult}:
        return ""
    others = ", ".join(f"{code} ({n} package{'s' if n > 1 else ''})" for code, n in sorted(counts.items()))
    return f" The first package to fail, {first.evidence['package']}, fails with {first.hresult}; the others with {others}."


def _by_update(culprits: list[Culprit]) -> str:
    """'KB2705219 (3 packages, from 2013-06-30), KB2731847 (1 package, from 2013-10-15)'; an update with
    packages of both kinds: 'KB2705219 (3 packages: 1 never valid, 2 from 2013-06-30)'."""
    days: dict[str, list[date | None]] = {}
    for culprit in culprits:
        evidence = culprit.evidence
        # an update by its KB, one of Windows' own packages (no KB: never a wmic qfe row itself) by name
        days.setdefault(str(evidence["kb"] or str(evidence["package"]).split("~")[0]), []).append(culprit.starts)
    parts = []
    for update, starts in sorted(days.items()):
        dated = [d for d in starts if d is not None]
        count = f"{len(starts)} package{'s' if len(starts) > 1 else ''}"
        if not dated:
            parts.append(f"{update} ({count}, never valid)")
        elif len(dated) == len(starts):
            parts.append(f"{update} ({count}, from {min(dated)})")
        else:
            parts.append(f"{update} ({count}: {len(starts) - len(dated)} never valid, {len(dated)} from {min(dated)})")
    return ", ".join(parts)
