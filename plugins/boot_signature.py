"""Boot file signature invalid: a UEFI boot manager that no longer matches its own signature.

What it finds: a boot file (the EFI system partition's bootmgfw.efi / bootx64.efi, or for a WIM or a
tree Windows\\Boot\\EFI\\bootmgfw.efi) whose Authenticode image hash differs from the one its
signature vouches for, or whose signature does not verify. With Secure Boot on, firmware refuses to
start it ("Security Policy Violation"); with Secure Boot off it starts a file nobody signed. Source:
Microsoft, "Windows Authenticode Portable Executable Signature Format" (the image hash), UEFI
Specification 2.10 §32 (image verification against db).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.check import Check, Finding, Rule, Severity

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts import Artefacts

BOOT_FILE_SIGNATURE_INVALID = Rule(
    id="boot-file-signature-invalid",
    severity=Severity.HIGH,
    title="UEFI boot file does not match its signature",
    summary=(
        "A boot manager's Authenticode image hash differs from the one its signature vouches for, or the "
        "signature does not verify: with Secure Boot on, hosts built from the image refuse to start it."
    ),
    references=(
        "https://learn.microsoft.com/en-us/windows-hardware/drivers/install/authenticode",
        "https://uefi.org/specs/UEFI/2.10/32_Secure_Boot_and_Driver_Signing.html",
    ),
    predicts=("0x80096010",),
    hits="at every boot with Secure Boot on",
    subject="file",  # the boot file by name: an ESP and a WIM keep it in different folders
)


class BootSignature(Check):
    rules = (BOOT_FILE_SIGNATURE_INVALID,)
    needs = ("boot",)

    def run(self, artefacts: Artefacts) -> Iterator[Finding]:
        for boot_file in artefacts.boot.files:
            pe = boot_file.pe
            if not pe.invalid:
                continue
            broken, mismatched = pe.broken, pe.hash_mismatch
            what = []
            if mismatched:
                what.append("its content changed after signing (the image hash is not the one signed)")
            if broken:
                what.append(f"its signature does not verify ({broken[0].signature.problem})")  # type: ignore[union-attr]
            yield Finding(
                rule=BOOT_FILE_SIGNATURE_INVALID,
                message=(
                    f"{pe.path} on the {boot_file.where}: {'; '.join(what)}. With Secure Boot on, firmware refuses to "
                    "start it (Security Policy Violation) on every host built from this image."
                ),
                evidence=[
                    {
                        "path": pe.path,
                        "where": boot_file.where,
                        "sha256": pe.sha256,
                        "signed_image_hash": s.digest.hex() if s.digest else None,
                        "image_hash": pe.image_hashes.get(s.digest_algorithm or "", b"").hex() or None,
                        "signer": s.signature.signer.common_name if s.signature and s.signature.signer else None,
                    }
                    for s in (mismatched or broken)
                ],
                remediation=(
                    "Replace the boot files from the image's own Windows (bcdboot C:\\Windows /s S: /f UEFI on the "
                    "reference machine, S: being the EFI system partition), check them with signtool verify /pa, and "
                    "capture the image again."
                ),
                hresult="0x80096010",
                subjects=(pe.path,),
            )
