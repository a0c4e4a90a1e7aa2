"""Unsigned boot manager: a boot file with no Authenticode signature at all.

What it finds: a boot file (the EFI system partition's bootmgfw.efi / bootx64.efi, or for a WIM or a
tree Windows\\Boot\\EFI\\bootmgfw.efi) that is a readable PE but carries no signature: a boot manager
replaced by a build nobody signed, or stripped of its certificate table. Firmware with Secure Boot on
starts a file only when a signature chains to a db certificate or its SHA-256 image hash is a db entry
(UEFI Specification 2.10, 32.5.3.3): an unsigned file can only be started by its hash, so every host
whose db does not list that hash refuses it ("Secure Boot violation") and does not boot. With Secure
Boot off it starts a file nobody vouches for.

With --target-firmware DB_FILE (or a fleet manifest's db file) the exported db decides, as firmware
does: no finding when it lists the file's image hash. A signed file is never this rule: a signature by
a key outside the db is secureboot-boot-manager-untrusted-signer, a signature that does not hold is
boot-file-signature-invalid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import BOOT
from imgscan.check import Check, Finding, InventoryItem, Rule
from imgscan.report import BootFileEvidence
from imgscan.severity import Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts.boot import BootFile
    from imgscan.check import CheckContext
    from imgscan.signing.firmware_db import FirmwareTarget

UNSIGNED = Rule(
    id="secureboot-boot-manager-unsigned",
    severity=Severity.HIGH,
    policy="high with --target-firmware 2011-only or 2023 (Microsoft's db) or a db file that does not list its image "
    "hash; medium with unknown (default); not reported when the db file lists its image hash",
    title="Boot manager carries no signature",
    summary=(
        "The boot manager is a PE file with no Authenticode signature: firmware with Secure Boot on starts it only if "
        "the hosts' db lists its image hash, so hosts built from the image refuse it (Secure Boot violation) and do "
        "not boot."
    ),
    references=(
        "https://uefi.org/specs/UEFI/2.10/32_Secure_Boot_and_Driver_Signing.html",
        "https://learn.microsoft.com/en-us/windows-hardware/drivers/install/authenticode",
    ),
    hits="at every boot with Secure Boot on",
    subject="file",  # the boot file by name: an ESP and a WIM keep it in different folders
)


class SecureBootUnsigned(Check):
    rules = (UNSIGNED,)
    needs = (BOOT,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        from imgscan.signing.secureboot import db_allows

        target = artefacts.scan.firmware
        for boot_file in artefacts.get(BOOT).files:
            pe = boot_file.pe
            if pe.problem or pe.signatures:  # unreadable (an errors entry) or signed (the other boot rules)
                continue
            allowed = db_allows(pe, target.db) if target.db else None  # unsigned: only its image hash can
            if target.db:
                yield InventoryItem(
                    "target_db", {"path": pe.path, "where": boot_file.where, "db": target.db.path, "allowed_by": allowed}
                )
            if not allowed:
                yield _finding(boot_file, target)


def _finding(boot_file: BootFile, target: FirmwareTarget) -> Finding:
    pe, db = boot_file.pe, target.db
    image_hash = pe.image_hashes["sha256"].hex()
    if db:
        effect = (
            f"The db exported from the hosts ({db.path}) does not list its image hash: they refuse to start it with a "
            "Secure Boot violation and do not boot."
        )
    elif target.generation == "unknown":
        effect = (
            "Hosts with Secure Boot on refuse to start it with a Secure Boot violation and do not boot, unless their db "
            "lists its image hash (give their db with --target-firmware to check)."
        )
    else:
        effect = (
            f"--target-firmware {target.generation} says the hosts carry Microsoft's db, which lists no such hash: they "
            "refuse to start it with a Secure Boot violation and do not boot."
        )
    evidence: BootFileEvidence = {"path": pe.path, "where": boot_file.where, "sha256": pe.sha256, "image_hash": image_hash}
    if db:
        evidence["db"], evidence["db_sha256"] = db.path, db.sha256
    return Finding(
        rule=UNSIGNED,
        message=f"{pe.path} on the {boot_file.where} carries no Authenticode signature (image hash {image_hash}). {effect}",
        evidence=[evidence],
        remediation=(
            "Put back the Microsoft-signed boot manager (bcdboot C:\\Windows /s S: /f UEFI on the reference machine, S: "
            "being the EFI system partition; check it with signtool verify /pa) and capture the image again; or sign the "
            "file with a key every host's db holds."
        ),
        severity=Severity.HIGH if db or target.generation != "unknown" else Severity.MEDIUM,
        subjects=(pe.path,),
    )
