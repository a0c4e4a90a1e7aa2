"""The UEFI side of a sample disk: partition layout, the signed boot manager and WinRE's ReAgent.xml.

Layout (GPT, as Windows Setup creates it, minus the MSR): EFI system partition (FAT) at 1 MiB,
Windows (NTFS) after it, then the recovery partition (NTFS, WinRE in Recovery\\WindowsRE) of the
scenario's size; with recovery_mb = 0 WinRE stays on the Windows partition.

An owner-signed boot manager is made as an owner makes one: sbattach --remove drops Microsoft's
signature and sbsign (sbsigntool) signs the file with the owner's own self-signed key.
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sample_images.pe_writer import signed_efi
from sample_images.pki import CODE_SIGNING, Identity, issue
from sample_images.scenario import BootSpec

MIB = 1024 * 1024
ESP_START, ESP_SIZE = 1 * MIB, 8 * MIB
WINDOWS_START, WINDOWS_SIZE = 9 * MIB, 16 * MIB
RECOVERY_START = WINDOWS_START + WINDOWS_SIZE
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
RECOVERY_TYPE = "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC"
BASIC_DATA_TYPE = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
# the CAs firmware must hold in its db, by generation (test certificates bearing Microsoft's CA names)
CA_NAMES = {"2011": "Microsoft Windows Production PCA 2011", "2023": "Windows UEFI CA 2023"}


@cache
def signing_cas() -> tuple[Identity, dict[str, Identity]]:
    root = issue("imgscan Test UEFI Root", "2010-01-01T00:00:00", "2040-01-01T00:00:00", ca=True)
    cas = {
        "2011": issue(CA_NAMES["2011"], "2011-10-19T18:41:42", "2026-10-19T18:51:42", root, ca=True),
        "2023": issue(CA_NAMES["2023"], "2023-06-13T18:58:29", "2035-06-13T19:08:29", root, ca=True),
    }
    return root, cas


@cache
def owner_key() -> Identity:
    """The owner's self-signed image signing key, as a company that runs its own Secure Boot db makes one."""
    return issue("Fabrikam Secure Boot Image Signing", "2024-01-01T00:00:00", "2034-01-01T00:00:00", ekus=(CODE_SIGNING,))


@cache
def owner_signed(data: bytes) -> bytes:
    """`data` with its signatures removed and signed again by the owner's key, by sbattach and sbsign."""
    key = owner_key()
    with tempfile.TemporaryDirectory(prefix="imgscan-sbsign-") as tmp:
        work = Path(tmp)
        (work / "key.pem").write_bytes(
            key.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        (work / "cert.pem").write_bytes(key.pem)
        (work / "boot.efi").write_bytes(data)
        subprocess.run(["sbattach", "--remove", work / "boot.efi"], check=True, capture_output=True)
        subprocess.run(
            [
                "sbsign",
                "--key",
                work / "key.pem",
                "--cert",
                work / "cert.pem",
                "--output",
                work / "signed.efi",
                work / "boot.efi",
            ],
            check=True,
            capture_output=True,
        )
        return (work / "signed.efi").read_bytes()


@cache
def boot_manager(boot_ca: str, tampered: bool, owner: bool = False) -> bytes:
    """bootmgfw.efi signed under the named CA generation; `tampered`: one byte changed after signing;
    `owner`: then re-signed with the owner's key instead."""
    _, cas = signing_cas()
    signer = issue(
        "Microsoft Windows (imgscan test)", "2023-01-01T00:00:00", "2027-01-01T00:00:00", cas[boot_ca], (CODE_SIGNING,)
    )
    data = bytearray(signed_efi(signer, [cas[boot_ca]]))
    if tampered:
        data[0x210] ^= 0x01  # inside .text, which the signature's image hash covers
    return owner_signed(bytes(data)) if owner else bytes(data)


def esp_files(spec: BootSpec) -> dict[str, bytes]:
    manager = boot_manager(spec.boot_ca, spec.tampered, spec.owner_signed)
    return {"EFI/Microsoft/Boot/bootmgfw.efi": manager, "EFI/Boot/bootx64.efi": manager}


def windows_files(spec: BootSpec) -> dict[str, bytes]:
    """What the Windows partition holds of the boot side: the boot manager bcdboot copies from, and
    ReAgent.xml naming where WinRE lives (offset: the byte offset of its partition)."""
    offset = RECOVERY_START if spec.recovery_mb else WINDOWS_START
    reagent = (
        '<?xml version="1.0" encoding="utf-8"?>\r\n<WindowsRE version="2.0">'
        '<WinreBCD id="{0ee6d4ae-f0a2-11ee-9e5a-000d3a1f3fdc}"/><WinreLocation path="\\Recovery\\WindowsRE" '
        f'id="0" offset="{offset}" guid="{{00000000-0000-0000-0000-000000000000}}"/></WindowsRE>\r\n'
    )
    files = {
        "Windows/Boot/EFI/bootmgfw.efi": boot_manager(spec.boot_ca, spec.tampered, spec.owner_signed),
        "Windows/System32/Recovery/ReAgent.xml": reagent.encode("utf-8"),
    }
    if not spec.recovery_mb:
        files["Recovery/WindowsRE/Winre.wim"] = b"WinRE image stand-in\0" * 64
    return files
