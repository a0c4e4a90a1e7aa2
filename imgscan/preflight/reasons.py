"""Each reason an update does not apply or will not install: what, the code Windows gives, from which day,
the evidence and the fix. One function per reason, so that the engine (`verdict`) reads as the list of
questions it asks and each reason has a test of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from imgscan.preflight.facts import ImageFacts, InstalledPackage
from imgscan.preflight.manifest import Identity
from imgscan.preflight.package import UpdatePackage
from imgscan.servicing_levels import windows7_servicing
from imgscan.signing.cab_signature import CabSignature
from imgscan.signing.validity import TRUST_E_BAD_DIGEST

WUA_CODES = "https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-success-and-error-codes-"
WUSA = "https://support.microsoft.com/help/934307"
CHECKSUR = "https://learn.microsoft.com/en-us/troubleshoot/windows-server/deployment/fix-windows-update-errors-with-checksur"
PENDING = (
    "https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/"
    "troubleshoot-windows-update-error-0x80070bc9"
)
WIN32_CODES_0 = "https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-"
WIN32_CODES_1000 = "https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-"
ESU_TROUBLESHOOT = "https://learn.microsoft.com/en-us/troubleshoot/windows-client/windows-7-eos-faq/troubleshoot-extended-security-updates-issues"
WIN_VERIFY_TRUST = "https://learn.microsoft.com/en-us/windows/win32/api/wintrust/nf-wintrust-winverifytrust"
SHA2_DIGESTS = ("sha256", "sha384", "sha512")
EVIDENCE_LIMIT = 5  # catalogs named per reason; the count says how many share it


@dataclass(frozen=True)
class Reason:
    code: str  # stable id, e.g. "sha2-support-missing"
    message: str
    hresult: str | None
    fix: str
    evidence: tuple[dict[str, object], ...] = ()  # each with a "path"
    references: tuple[str, ...] = ()
    starts: date | None = None  # the first day it holds; None: it holds whatever the day


def _names(update: UpdatePackage) -> str:
    return ", ".join(str(m.identity) for m in update.top) or update.name


def signature_invalid(update: UpdatePackage, signature: CabSignature) -> Reason:
    """The file is not the one its own Authenticode signature vouches for (a byte changed since signing: a
    damaged download), or that signature does not verify. WUSA has WinVerifyTrust check an .msu before it
    reads anything in it, Windows Update a downloaded .cab, and both refuse it with TRUST_E_BAD_DIGEST."""
    name = signature.algorithm.upper().replace("SHA", "SHA-")
    if not signature.matches:
        message = (
            f"{update.name} is not the file its Authenticode signature vouches for: its {name} digest differs "
            "from the signed one (it changed after signing: a damaged or altered download)"
        )
    else:
        message = f"{update.name}'s Authenticode signature does not verify: {signature.problem}"
    evidence: dict[str, object] = {
        "path": update.path,
        "digest_algorithm": signature.algorithm,
        "signed_digest": signature.signed_digest.hex(),
        "file_digest": signature.file_digest.hex(),
        "signer": signature.signer,
    }
    return Reason(
        "update-signature-invalid",
        message,
        TRUST_E_BAD_DIGEST,
        "Download the update again from the Microsoft Update Catalog and run preflight on the new file.",
        (evidence,),
        (WUSA, WIN_VERIFY_TRUST),
    )


def wrong_architecture(update: UpdatePackage, arches: list[str], facts: ImageFacts) -> Reason:
    return Reason(
        "wrong-architecture",
        f"the update is for {'/'.join(arches)}; the image is {facts.architecture} ({facts.architecture_source})",
        "0x80240017",
        f"Use the {facts.architecture} package of this update.",
        ({"path": update.path, "package": _names(update)},),
        (WUA_CODES, WUSA),
    )


def wrong_windows(update: UpdatePackage, wanted: str, facts: ImageFacts) -> Reason:
    return Reason(
        "wrong-windows-version",
        f"the update is for {wanted}; the image is Windows {facts.windows_version} ({facts.product})",
        "0x80240017",
        f"Use the package of this update for Windows {facts.windows_version}.",
        ({"path": update.path, "package": _names(update)},),
        (WUA_CODES, WUSA),
    )


def wrong_build(update: UpdatePackage, builds: list[str], facts: ImageFacts) -> Reason:
    return Reason(
        "wrong-windows-build",
        f"the update's parents are Windows build {' or '.join(builds)}; the image is build "
        f"{facts.windows_version}.{facts.build} ({facts.product})",
        "0x80240017",
        "Use the release of this update for the image's service pack, or install the service pack it needs.",
        ({"path": update.path, "package": _names(update)},),
        (WUA_CODES, WUSA),
    )


def no_parent(update: UpdatePackage, wanted: list[Identity]) -> Reason:
    names = sorted({f"{a.name} {a.version_text}" for a in wanted}, key=str.lower)
    return Reason(
        "no-parent-installed",
        f"none of its parent packages is installed in the image; it looked for {', '.join(names)}",
        "0x80240017",
        "Nothing to do if the image should not have that feature; otherwise enable the feature (its parent "
        "package) first, then install the update.",
        ({"path": update.path, "package": _names(update), "parents": names},),
        (WUA_CODES, WUSA),
    )


def superseded(package: InstalledPackage) -> Reason:
    return Reason(
        "superseded",
        f"a higher version of the package is installed: {package.cbs_identity} ({package.state})",
        "0x80240017",
        "Nothing to do: the installed version replaces this one.",
        ({"path": package.path, "package": package.cbs_identity, "state": package.state},),
        (WUA_CODES,),
    )


def sha2_only(update: UpdatePackage) -> list[str]:
    """The catalogs signed only with SHA-2 (no SHA-1 signature, primary or nested)."""
    found = []
    for entry in update.catalogs:
        cat = entry.catalog
        if cat is None or not cat.signed:
            continue
        digests = {cat.digest_algorithm, *(n.digest_algorithm for n in cat.nested)}
        if digests and all(d in SHA2_DIGESTS for d in digests):
            found.append(entry.file)
    return found


def catalog_reasons(update: UpdatePackage, facts: ImageFacts, as_of: date, horizon_end: date) -> Iterator[Reason]:
    """The update's own signatures as the image would judge them: SHA-2 support, trust, expiry, coverage."""
    signed_sha2_only = sha2_only(update)
    if signed_sha2_only and facts.windows_version in ("6.0", "6.1") and facts.sha2_support is None:
        yield _sha2_support_missing(update, signed_sha2_only)
    groups: dict[tuple[str, str | None, date | None], list[str]] = {}
    texts: dict[tuple[str, str | None, date | None], str] = {}
    for entry in update.catalogs:
        if entry.catalog is None or (
            entry.file in signed_sha2_only and not facts.has_sha2_support and facts.windows_version in ("6.0", "6.1")
        ):
            continue  # unreadable (a note), or already failing for want of SHA-2 support
        verdict = facts.judge.judge(entry.catalog)
        if verdict.status in ("valid",):
            continue
        starts = verdict.starts() if verdict.status in ("expires", "revoked") else None
        if verdict.status == "expires" and (starts is None or starts > horizon_end):
            continue
        key = (verdict.status, verdict.hresult, starts)
        groups.setdefault(key, []).append(entry.file)
        texts.setdefault(key, verdict.reason)
    for (status, hresult, starts), files in sorted(groups.items(), key=lambda g: (g[0][2] or date.min, g[0][0])):
        yield _catalog_reason(update, status, hresult, starts, files, texts[(status, hresult, starts)], as_of)
    covered = frozenset().union(*(c.catalog.members or frozenset() for c in update.catalogs if c.catalog))
    uncovered = [m.file for m in update.manifests if not m.digests & covered]
    if uncovered and all(c.catalog is not None for c in update.catalogs):
        yield Reason(
            "manifest-not-in-catalog",
            f"{len(uncovered)} manifest(s) are listed in none of the update's catalogs "
            f"({', '.join(uncovered[:EVIDENCE_LIMIT])}): CBS cannot verify them",
            "0x800B0100",
            "Download the update again from the Microsoft Update Catalog: the package was changed after signing.",
            tuple({"path": f"{update.path}!{name}"} for name in uncovered[:EVIDENCE_LIMIT]),
            (CHECKSUR,),
        )


def _sha2_support_missing(update: UpdatePackage, files: list[str]) -> Reason:
    """The image lacks SHA-2 code signing support (KB4474419); the servicing stack update SHA-2 also needs is
    the reason servicing-stack-too-old (imgscan.preflight.stack)."""
    data = windows7_servicing()
    kb = data.sha2_support[0]
    return Reason(
        "sha2-support-missing",
        f"its catalogs are signed with SHA-2 only ({len(files)} of {len(update.catalogs)}) and the image lacks "
        f"{kb.kb} ({kb.title}): Windows cannot verify them",
        "0x80092004",
        f"Install {kb.kb} (and a servicing stack update of March 2019 or later) in the image first.",
        tuple({"path": f"{update.path}!{name}", "digest": "SHA-2 only"} for name in files[:EVIDENCE_LIMIT]),
        (*data.sha2_sources, kb.source),
    )


def _catalog_reason(
    update: UpdatePackage, status: str, hresult: str | None, starts: date | None, files: list[str], text: str, as_of: date
) -> Reason:
    count = f"{len(files)} of {len(update.catalogs)} catalog(s)"
    evidence: tuple[dict[str, object], ...] = tuple(
        {"path": f"{update.path}!{name}", "status": status} for name in files[:EVIDENCE_LIMIT]
    )
    if status == "expires":
        tense = "expired on" if starts and starts <= as_of else ("expire on" if len(files) > 1 else "expires on")
        return Reason(
            "catalog-expired",
            f"{count} {tense} {starts} (signed without a usable timestamp, judged with the image's trust stores): {text}",
            hresult,
            "Install it before that day, or get a re-released (timestamped) package; on Windows 7 KB2749655 "
            "accepts the timestamps of Advisory 2749655.",
            evidence,
            (CHECKSUR, "https://learn.microsoft.com/en-us/security-updates/securityadvisories/2012/2749655"),
            starts,
        )
    return Reason(
        "catalog-untrusted",
        f"{count} cannot be trusted by the image ({status}): {text}",
        hresult,
        "Check that the package is Microsoft's (download it again); if its root is missing from the image, "
        "update the image's root certificates.",
        evidence,
        (CHECKSUR,),
        starts,
    )


def image_reasons(update: UpdatePackage, facts: ImageFacts, touched: tuple[InstalledPackage, ...]) -> list[Reason]:
    """What in the image stops any install, or this one: pending work, a broken store, ESU, space, services."""
    found = []
    if facts.pending:
        found.append(
            Reason(
                "servicing-pending",
                f"servicing operations are pending a restart in the image ({len(facts.pending)} marker(s))",
                "0x800F0806",
                "Restart the reference machine until nothing is pending, then capture it again.",
                tuple({"path": line.split(": ", 1)[0], "detail": line} for line in facts.pending),
                (PENDING,),
            )
        )
    broken = [p for p in touched if p.store_problems]
    if broken:
        found.append(
            Reason(
                "component-store-corrupt",
                f"the update services {len(broken)} installed package(s) whose store entry is damaged: "
                + "; ".join(f"{p.cbs_identity}: {', '.join(p.store_problems)}" for p in broken[:EVIDENCE_LIMIT]),
                "0x800F081F",
                "Repair the reference machine (CheckSUR, KB947821, on Windows 7) or rebuild the image.",
                tuple({"path": p.path, "package": p.cbs_identity, "problems": list(p.store_problems)} for p in broken),
                (CHECKSUR,),
            )
        )
    esu = _esu_reason(update, facts)
    if esu:
        found.append(esu)
    if facts.free_bytes is not None and update.payload_bytes > facts.free_bytes:
        found.append(
            Reason(
                "not-enough-space",
                f"the update expands to {update.payload_bytes:,} bytes; the Windows volume has {facts.free_bytes:,} free",
                "0x80070070",
                "Free space on the Windows volume (or enlarge it) before installing.",
                ({"path": facts.free_bytes_source, "free_bytes": facts.free_bytes, "payload_bytes": update.payload_bytes},),
                (WIN32_CODES_0,),
            )
        )
    for service in facts.services:
        if service.disabled:
            found.append(
                Reason(
                    "update-service-disabled",
                    f"the {service.name} service is disabled (Start = 4): WUSA cannot install through it",
                    "0x80070422",
                    f"Set {service.path}\\Start to 3 (manual) in the image.",
                    ({"path": service.path, "value": "Start", "data": service.start},),
                    (WIN32_CODES_1000, "https://learn.microsoft.com/en-us/windows/deployment/update/waas-wu-settings"),
                )
            )
    return found


def is_esu(update: UpdatePackage) -> bool:
    """An Extended Security Update for Windows 7 SP1 / 2008 R2 SP1: named in the data file, or created after
    the end of extended support."""
    data = windows7_servicing()
    if update.kb in {u.kb for u in data.esu_updates}:
        return True
    return any(
        m.created is not None and m.created.date() >= data.end_of_support and m.identity.version[:2] == (6, 1) for m in update.top
    )


def _esu_reason(update: UpdatePackage, facts: ImageFacts) -> Reason | None:
    if not (facts.is_windows7_sp1 and is_esu(update)) or facts.esu_licensing is not None:
        return None
    data = windows7_servicing()
    licensing = data.esu_licensing[0]
    return Reason(
        "esu-prerequisites-missing",
        f"it is an Extended Security Update and the image lacks the ESU Licensing Preparation Package "
        f"({' or '.join(u.kb for u in data.esu_licensing)})",
        "0xC004F050",
        f"Install {licensing.kb} in the image, then install and activate the ESU key on each host (KB4522133).",
        ({"path": r"Windows\servicing\Packages", "missing": licensing.kb},),
        (licensing.source, *data.esu_sources, ESU_TROUBLESHOOT),
    )


def notes(update: UpdatePackage, facts: ImageFacts) -> tuple[str, ...]:
    """What the verdict could not take into account."""
    found = list(update.problems)
    if facts.free_bytes is None:
        found.append(f"free space not checked: {facts.free_bytes_source}")
    if facts.architecture is None:
        found.append(f"architecture not checked: {facts.architecture_source}")
    if facts.is_windows7_sp1 and is_esu(update):
        found.append("the ESU key's activation cannot be read offline: activate it on each host (KB4522133)")
    found += [
        f"for {who}: its signature check fails with 0x800B010E (then 0x800B010B, 0x80070643) whenever a revocation "
        "server cannot be reached, because the account's WinTrust State rejects an offline one (imgscan scan: "
        "wintrust-offline-revocation)"
        for who in facts.offline_revocation
    ]
    return tuple(found)
