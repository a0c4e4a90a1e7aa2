"""Boot manager signed outside the hosts' Secure Boot db: firmware that carries Microsoft's db refuses a
boot manager signed by any other key.

What it finds: a boot file (the EFI system partition's bootmgfw.efi / bootx64.efi, or for a WIM or a
tree Windows\\Boot\\EFI\\bootmgfw.efi) none of whose signatures that hold chains to one of Microsoft's
Secure Boot CAs (imgscan/data/secureboot.toml: Microsoft Windows Production PCA 2011 and Windows UEFI
CA 2023, which sign Windows boot managers, and Microsoft's third-party UEFI CAs, which most PCs' db
also holds): a Microsoft boot manager re-signed with an owner's own key (a self-signed image signing
key, a company PK/KEK/db setup) or another vendor's loader in the Windows boot path. Firmware starts a
file only when a signature chains to a db certificate or its SHA-256 image hash is a db entry (UEFI
Specification 2.10, 32.5.3.3); otherwise "Secure Boot violation" and the host does not boot.

With --target-firmware DB_FILE (or a fleet manifest's db file) the exported db decides, as firmware
does: no finding when it holds the signer's certificate, a certificate of its chain or the one that
issued it (EDK II verifies against each db certificate as a trust anchor, a partial chain allowed),
or the file's image hash. A db that holds neither Windows CA (an owner-only setup) makes a
Microsoft-signed boot manager the same case. A file whose content no longer matches its signature is
boot-file-signature-invalid, not this rule: it is damaged, whoever signed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import BOOT
from imgscan.check import Check, Finding, InventoryItem, Rule, Severity
from imgscan.report import BootFileEvidence

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts.boot import BootFile
    from imgscan.check import CheckContext
    from imgscan.signing.authenticode import EmbeddedSignature
    from imgscan.signing.firmware_db import FirmwareTarget, SignatureDatabase

UEFI_IMAGE_VERIFICATION = "https://uefi.org/specs/UEFI/2.10/32_Secure_Boot_and_Driver_Signing.html"
SECURE_BOOT_KEYS = "https://support.microsoft.com/help/5066426"  # Windows Secure Boot key creation and management guidance

UNTRUSTED_SIGNER = Rule(
    id="secureboot-boot-manager-untrusted-signer",
    severity=Severity.HIGH,
    policy="high with --target-firmware 2011-only or 2023 (Microsoft's db) or a db file that does not trust the signer; "
    "medium with unknown (default); not reported when the db file holds the signer's certificate, an issuer of it "
    "or the file's image hash",
    title="Boot manager signed by a key outside the hosts' Secure Boot db",
    summary=(
        "The boot manager's signature chains to none of Microsoft's Secure Boot CAs (it was re-signed with an owner's "
        "own key, or is another vendor's loader), or the hosts' exported db trusts neither its signer nor its image "
        "hash: hosts whose db lacks that key refuse to start it (Secure Boot violation) and do not boot."
    ),
    references=(UEFI_IMAGE_VERIFICATION, SECURE_BOOT_KEYS),
    hits="at every boot with Secure Boot on",
)


class SecureBootSigner(Check):
    rules = (UNTRUSTED_SIGNER,)
    needs = (BOOT,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        from imgscan.signing.firmware_db import NO_WINDOWS_CA
        from imgscan.signing.secureboot import db_allows, holding, signing_authorities

        target = artefacts.scan.firmware
        for boot_file in artefacts.get(BOOT).files:
            pe = boot_file.pe
            signatures = holding(pe)
            if pe.invalid or not signatures:  # damaged (boot-file-signature-invalid) or unreadable (an errors entry)
                continue
            allowed = db_allows(pe, target.db) if target.db else None
            if target.db:
                yield InventoryItem(
                    "target_db", {"path": pe.path, "where": boot_file.where, "db": target.db.path, "allowed_by": allowed}
                )
            microsoft = [a.name for a in signing_authorities(pe)]
            if allowed or (microsoft and target.generation != NO_WINDOWS_CA):
                continue
            yield _finding(boot_file, signatures, microsoft, target)


def _finding(boot_file: BootFile, signatures: list[EmbeddedSignature], microsoft: list[str], target: FirmwareTarget) -> Finding:
    pe, db = boot_file.pe, target.db
    signers = " and ".join(f"{_signer(s)!r} ({_issued(s)})" for s in signatures)
    if microsoft:  # a db that holds neither Windows CA (an owner-only setup)
        why = f"signed by {signers} under {', '.join(microsoft)}, which the hosts' db does not hold"
    else:
        why = (
            f"signed by {signers}, a key outside Microsoft's Secure Boot CAs (Windows boot managers are signed under "
            "Microsoft Windows Production PCA 2011 or Windows UEFI CA 2023)"
        )
    if db:
        holds = ", ".join(db.names) or "no certificate"
        effect = (
            f"The db exported from the hosts ({db.path}) holds neither that key, nor an issuer of it, nor the file's "
            f"image hash (it holds: {holds}): they refuse to start it with a Secure Boot violation and do not boot."
        )
    elif target.generation == "unknown":
        effect = (
            "Hosts whose firmware db is Microsoft's, as PCs ship, refuse to start it with a Secure Boot violation and do "
            "not boot; only hosts whose db holds that key start it (give their db with --target-firmware to check)."
        )
    else:
        effect = (
            f"--target-firmware {target.generation} says the hosts carry Microsoft's db: they refuse to start it with a "
            "Secure Boot violation and do not boot."
        )
    return Finding(
        rule=UNTRUSTED_SIGNER,
        message=f"{pe.path} on the {boot_file.where} is {why}. {effect}",
        evidence=[_evidence(boot_file, s, db) for s in signatures],
        remediation=(
            "Enrol the signing certificate (or its CA) in the db of every host the image goes to, and give that db to "
            "imgscan with --target-firmware; or put back the Microsoft-signed boot manager (bcdboot C:\\Windows /s S: "
            "/f UEFI on the reference machine, S: being the EFI system partition; check it with signtool verify /pa) and "
            "capture the image again."
        ),
        severity=Severity.HIGH if db or target.generation != "unknown" else Severity.MEDIUM,
        subjects=(pe.path,),
    )


def _evidence(boot_file: BootFile, signature: EmbeddedSignature, db: SignatureDatabase | None) -> BootFileEvidence:
    pe = boot_file.pe
    signer = signature.signature.signer if signature.signature else None
    evidence: BootFileEvidence = {
        "path": pe.path,
        "where": boot_file.where,
        "sha256": pe.sha256,
        "image_hash": pe.image_hashes["sha256"].hex() if "sha256" in pe.image_hashes else None,
        "signer": _signer(signature),
        "issuer": _issuer(signature),
        "signer_thumbprint": signer.thumbprint if signer else None,
        "chain": list(signature.chain),
    }
    if db:
        evidence["db"], evidence["db_sha256"] = db.path, db.sha256
    return evidence


def _signer(signature: EmbeddedSignature) -> str | None:
    signer = signature.signature.signer if signature.signature else None
    return signer.common_name if signer else None


def _issuer(signature: EmbeddedSignature) -> str | None:
    signer = signature.signature.signer if signature.signature else None
    return str(signer.parsed.issuer.native.get("common_name") or signer.issuer) if signer else None


def _issued(signature: EmbeddedSignature) -> str:
    signer = signature.signature.signer if signature.signature else None
    if signer is None:
        return "no signer certificate"
    return "self-signed" if signer.self_signed else f"issued by {_issuer(signature)!r}"
