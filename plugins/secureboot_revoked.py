"""Boot manager revoked by the hosts' dbx: the image's boot manager is in the Secure Boot forbidden
database of the firmware it goes to, so those hosts refuse to start it.

What it finds, when `--target-dbx` gives the dbx exported from one of the hosts: a boot file (EFI
system partition, or Windows\\Boot\\EFI\\bootmgfw.efi in a WIM or a tree, which bcdboot installs from)
whose Authenticode SHA-256 image hash is a dbx entry, or one of whose signature chains holds a
certificate that is a dbx entry. Firmware checks dbx before db and refuses such a file (UEFI
Specification 2.10, 32.5.3.3; EDK II's DxeImageVerificationLib rejects the file when any of its
signatures is revoked). This is how the BlackLotus mitigations end old boot managers: KB5025885
adds boot managers' hashes to dbx and, in its last step, "Microsoft Windows Production PCA 2011"
itself, after which no boot manager signed under the 2011 CA starts, installation media included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.check import Check, Finding, Rule, Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts import Artefacts
    from imgscan.signing.authenticode import PeFile
    from imgscan.signing.firmware_db import SignatureDatabase

KB5025885 = "https://support.microsoft.com/help/5025885"

BOOT_MANAGER_REVOKED = Rule(
    id="secureboot-boot-manager-revoked",
    severity=Severity.HIGH,
    policy="only with --target-dbx",
    title="Boot manager revoked by the target firmware's dbx",
    summary=(
        "The image's boot manager, by its image hash or a certificate of its signature chain, is in the Secure Boot "
        "dbx exported from the hosts it goes to: they refuse to start it (Secure Boot violation) and do not boot."
    ),
    references=(KB5025885, "https://uefi.org/specs/UEFI/2.10/32_Secure_Boot_and_Driver_Signing.html"),
    hits="at every boot with Secure Boot on",
    subject="file",  # the boot file by name: an ESP and a WIM keep it in different folders
)


def revocations(pe: PeFile, dbx: SignatureDatabase) -> list[str]:
    """Why dbx forbids the file: its SHA-256 image hash, and each revoked certificate of its chains."""
    found = ["its SHA-256 image hash"] if pe.image_hashes.get("sha256") in dbx.hashes else []
    revoked = dict(zip(dbx.certificates, dbx.names, strict=True))
    for signature in pe.signatures:
        for der in signature.chain_der:
            entry = f"the certificate {revoked[der]!r} of its signature chain" if der in revoked else None
            if entry and entry not in found:
                found.append(entry)
    return found


class SecureBootRevoked(Check):
    rules = (BOOT_MANAGER_REVOKED,)
    needs = ("boot",)
    not_applicable = "no --target-dbx given (the dbx exported from the hosts)"

    def applies(self, artefacts: Artefacts) -> bool:
        return artefacts.target_dbx is not None

    def run(self, artefacts: Artefacts) -> Iterator[Finding]:
        dbx = artefacts.target_dbx
        assert dbx is not None  # applies() checked it
        for boot_file in artefacts.boot.files:
            reasons = revocations(boot_file.pe, dbx)
            if not reasons:
                continue
            pe = boot_file.pe
            yield Finding(
                rule=BOOT_MANAGER_REVOKED,
                message=(
                    f"{pe.path} on the {boot_file.where} is revoked by the target firmware's dbx ({dbx.path}): "
                    f"it lists {' and '.join(reasons)}. Hosts with that dbx refuse to start it (Secure Boot violation) "
                    "and do not boot from this image."
                ),
                evidence=[
                    {
                        "path": pe.path,
                        "where": boot_file.where,
                        "sha256": pe.sha256,
                        "image_hash": pe.image_hashes["sha256"].hex() if "sha256" in pe.image_hashes else None,
                        "revoked_by": reasons,
                        "dbx": dbx.path,
                        "dbx_sha256": dbx.sha256,
                    }
                ],
                remediation=(
                    "Give the image a boot manager signed under Windows UEFI CA 2023: on the reference machine apply the "
                    "KB5025885 steps so Windows installs the 2023-signed boot manager, run bcdboot C:\\Windows /s S: /f UEFI "
                    "(S: the EFI system partition), and capture the image again; update boot media the same way."
                ),
                subjects=(pe.path,),
            )
