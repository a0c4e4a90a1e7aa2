"""Catalog signatures that expire, are not trusted, or cannot be read (KB2705219: catalogs signed without a proper timestamp).

What it finds: servicing catalogs (servicing\\Packages, winsxs\\Catalogs, CatRoot)
whose signature is, or within --horizon days becomes, invalid as WinVerifyTrust
judges it: signed without a usable timestamp, so the signature expires with
the signer certificate (KB2705219's original release); chained to no trusted
root; or not verifying at all. One finding per package, its catalogs as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import CATALOGS, PACKAGES, SIGNATURE_JUDGE
from imgscan.artefacts.catalog_set import CatalogRecord, catalog_evidence, first_failure, first_failure_at
from imgscan.check import Check, Finding, Rule, Severity, Timing
from imgscan.image.volume import CONFIG_DIR, child_path
from imgscan.timing import Phase

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.check import CheckContext
    from imgscan.servicing import Package

ADVISORY = "https://learn.microsoft.com/en-us/security-updates/securityadvisories/2012/2749655"
SOFTWARE = child_path(CONFIG_DIR, "SOFTWARE")  # the hive that holds the image's trust stores
CHECKSUR = "https://learn.microsoft.com/en-us/troubleshoot/windows-server/deployment/fix-windows-update-errors-with-checksur"
EXPIRY_REFERENCES = (
    ADVISORY,
    "https://learn.microsoft.com/en-us/security-updates/securitybulletins/2012/ms12-054",
    CHECKSUR,
    "observed: CBS.log 'Failed to verify if catalog file ... is valid. [HRESULT = 0x800b0101 - CERT_E_EXPIRED]' "
    "and CheckSUR 'CBS Catalog Expired 0x800B0101' once the clock passed the catalog signer's expiry",
)

EXPIRY = Rule(
    id="catalog-expiry",
    severity=Severity.HIGH,
    timing=Timing(now=Severity.HIGH, soon=Severity.MEDIUM),
    title="Package catalog signature expires (CERT_E_EXPIRED)",
    summary=(
        "A package's catalog is signed without a usable timestamp, so its signature expires with the signer "
        "certificate; from then on CBS cannot verify the package (0x800B0101)."
    ),
    references=EXPIRY_REFERENCES,
    predicts=("0x800B0101",),
)

UNTRUSTED = Rule(
    id="catalog-untrusted",
    severity=Severity.HIGH,
    title="Package catalog signature not trusted",
    summary=(
        "A catalog's signature does not verify, its chain reaches no root trusted by the image, its chain "
        "holds a certificate of the image's Disallowed store, or a package's own catalog carries no signature."
    ),
    references=(CHECKSUR, "https://learn.microsoft.com/en-us/security-updates/securityadvisories/2012/2718704"),
    predicts=("0x800B0109", "0x80096010", "0x800B0100", "0x800B010C"),
    hits="whenever servicing opens the package (update installs and removals)",
    subject_code=True,  # one package can be distrusted (0x800B010C) and fail to verify, as two findings
)

UNREADABLE = Rule(
    id="catalog-unreadable",
    severity=Severity.LOW,
    title="Catalog file cannot be parsed",
    summary=(
        "A .cat file in a servicing directory is not a readable PKCS#7 catalog; when it is a package's own "
        "catalog, CBS cannot verify that package."
    ),
    references=(CHECKSUR,),
    hits="whenever servicing reads the catalog",
    policy="high when it is the own catalog of a package in servicing\\Packages; low otherwise",
)


class CatalogSignatures(Check):
    rules = (EXPIRY, UNTRUSTED, UNREADABLE)
    needs = (CATALOGS,)
    uses = (PACKAGES, SIGNATURE_JUDGE)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        catalogs = artefacts.get(CATALOGS).catalogs
        claimed: set[str] = set()
        owners: dict[str, Package] = {}  # an unreadable catalog's path -> the package it is the own catalog of
        for package in artefacts.get(PACKAGES).packages:
            records = [r for r in catalogs.of_package(package) if r.verdict]
            claimed.update(r.path for r in records)
            own_bad = catalogs.unverifiable(package)  # its own catalog, unreadable or unsigned
            owners.update((r.path, package) for r in own_bad if r.problem)
            yield from self._judge(artefacts, records, package, {r.path for r in own_bad if not r.problem})
        unreadable: dict[str, list[CatalogRecord]] = {}
        by_content: dict[str, list[CatalogRecord]] = {}
        for record in catalogs.records:
            if record.problem:
                unreadable.setdefault(record.sha256, []).append(record)
            elif record.path not in claimed:
                by_content.setdefault(record.sha256, []).append(record)
        for copies in unreadable.values():
            count = f" ({len(copies)} identical copies)" if len(copies) > 1 else ""
            packages = list(dict.fromkeys(owners[r.path] for r in copies if r.path in owners))
            cannot = "; ".join(f"CBS cannot verify {p.identity} ({p.kb or 'no KB'}, {p.state_name})" for p in packages)
            yield Finding(
                rule=UNREADABLE,
                message=f"{copies[0].path}: {copies[0].problem}{count}" + (f": {cannot}." if cannot else ""),
                evidence=[{"path": r.path, "sha256": r.sha256, "problem": r.problem} for r in copies],
                remediation="Replace the file from a healthy copy of the same package, or rebuild the image.",
                severity=Severity.HIGH if packages else None,
                subjects=tuple(p.identity for p in packages),
            )
        for records in by_content.values():
            yield from self._judge(artefacts, records, None)

    def _judge(
        self, art: CheckContext, records: list[CatalogRecord], package: Package | None, unsigned: set[str] | None = None
    ) -> Iterator[Finding]:
        """The findings of one package's catalogs (or of copies no package claims); `unsigned`: the paths of its own
        catalog when that carries no signature, which vouches for nothing (CBS cannot verify the package)."""
        if not records:
            return
        name = f"{package.identity} ({package.kb or 'no KB'}, {package.state_name})" if package else records[0].path
        yield from self._revoked(art, records, name, package)
        unsigned = unsigned or set()
        bad = [
            r for r in records if r.verdict and ((r.verdict.never_valid and r.verdict.status != "revoked") or r.path in unsigned)
        ]
        if bad:
            verdict = bad[0].verdict
            assert verdict is not None
            yield Finding(
                rule=UNTRUSTED,
                message=f"{name}: {verdict.reason}; CBS cannot verify the package ({verdict.hresult}).",
                evidence=[catalog_evidence(r, art.scan.as_of) for r in bad],
                remediation="Reinstall the package from Microsoft's original media, or rebuild the image.",
                hresult=verdict.hresult,
                subjects=_subjects(package, bad),
                rests_on=_unread_roots(art, bad),
            )
        starts, _ = first_failure([r for r in records if r.verdict and r.verdict.status == "expires"])
        if starts is None:
            return
        failing = [r for r in records if r.verdict and r.verdict.status == "expires" and r.verdict.starts() == starts]
        already = art.phase(starts) is Phase.FAILING
        reason = failing[0].verdict.reason if failing[0].verdict else ""
        cat_name = package.cat_path if package and package.cat_path else failing[0].path
        yield Finding(
            rule=EXPIRY,
            message=(
                f"{name}: catalog signature {'expired' if already else 'expires'} on {starts}: "
                f'{reason}. From then on CBS.log shows "Failed to verify if catalog file '
                f'\\\\?\\C:\\{cat_name} is valid. [HRESULT = 0x800b0101 - CERT_E_EXPIRED]", the package can no '
                f'longer be uninstalled, and CheckSUR reports "CBS Catalog Expired 0x800B0101".'
            ),
            evidence=[catalog_evidence(r, art.scan.as_of) for r in records],
            remediation=_remediation(art, failing, package, starts),
            starts=starts,
            starts_at=first_failure_at(failing),
            hresult="0x800B0101",
            subjects=_subjects(package, records),
        )

    def _revoked(self, art: CheckContext, records: list[CatalogRecord], name: str, package: Package | None) -> Iterator[Finding]:
        """Validity rule 7: a chain certificate in the Disallowed store, from the day it was put there."""
        revoked = [r for r in records if r.verdict and r.verdict.status == "revoked"]
        if not revoked:
            return
        verdict = revoked[0].verdict
        assert verdict is not None
        starts = verdict.starts()
        when = f"from {starts}" if starts else "since an unknown day"
        yield Finding(
            rule=UNTRUSTED,
            message=(
                f"{name}: {verdict.reason}; {when} CBS cannot verify the package ({verdict.hresult} CERT_E_REVOKED; "
                f"Windows 8 and later may report 0x800B0111 TRUST_E_EXPLICIT_DISTRUST)."
            ),
            evidence=[catalog_evidence(r, art.scan.as_of) for r in revoked],
            remediation=(
                "Replace the package with a release signed by a certificate that is not distrusted, or (only if the "
                "entry is a mistake) remove it from SOFTWARE\\Microsoft\\SystemCertificates\\Disallowed in the "
                "reference machine, then recapture the image."
            ),
            starts=starts,
            starts_at=verdict.fails_at(),
            hresult=verdict.hresult,
            subjects=_subjects(package, revoked),
        )


def _unread_roots(art: CheckContext, records: list[CatalogRecord]) -> tuple[str, ...]:
    """A chain that reaches no root, judged without the image's ROOT/AuthRoot stores (its SOFTWARE hive could
    not be read): the verdict rests on that hive, whose finding is then this one's cause."""
    unread = not art.get(SIGNATURE_JUDGE).store.image_stores_read
    return (SOFTWARE,) if unread and any(r.verdict and r.verdict.cause == "untrusted-root" for r in records) else ()


def _subjects(package: Package | None, records: list[CatalogRecord]) -> tuple[str, ...]:
    """What log lines about this failure name: the package, and each catalog copy (CheckSUR names
    winsxs\\Catalogs copies by their SHA-256)."""
    own = (package.identity,) if package else ()
    return own + tuple(r.sha256 for r in records)


def _remediation(art: CheckContext, failing: list[CatalogRecord], package: Package | None, starts: object) -> str:
    steps = []
    if any(r.verdict and r.verdict.cause == "tsa-without-eku" for r in failing):
        steps.append(
            "Install KB2749655 (Windows Vista/7/Server 2008/2008 R2; KB2756872 on Windows 8/Server 2012) in the "
            "reference machine before capture: it makes WinVerifyTrust accept timestamps whose TSA certificate "
            f"lacks the timestamping EKU ({ADVISORY})."
        )
    kb = package.kb if package and package.kb else "the package"
    steps.append(
        f"Replace {kb} with its re-released version (uninstalling the old one needs the clock set back before {starts}), "
        "then recapture the image."
    )
    steps.append("Or rebuild the reference image from media that already contains the re-released update.")
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
