"""Kind `boot`: the disk's partitions, the UEFI boot files and their signatures, where WinRE lives,
and the Secure Boot servicing state of the image.

On a disk image the boot manager is read where firmware reads it, the EFI system partition
(`\\EFI\\Microsoft\\Boot\\bootmgfw.efi`, and the fallback `\\EFI\\Boot\\bootx64.efi`). A WIM or an
extracted tree has no ESP: there the copy that bcdboot installs from, `Windows\\Boot\\EFI\\bootmgfw.efi`,
is what hosts built from the image will boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from defusedxml import ElementTree

from imgscan.artefacts.judge import SIGNATURE_JUDGE
from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.errors import XML_ERRORS
from imgscan.image.partitions import Partition
from imgscan.kinds import ErrorList, Kind, Section
from imgscan.numerals import ascii_int
from imgscan.signing.authenticode import PeFile, read_pe
from imgscan.signing.secureboot import SecureBootState, secure_boot_state

if TYPE_CHECKING:
    from imgscan.kinds import InventoryContext, Loader

BCDBOOT_SOURCE = r"Windows\Boot\EFI\bootmgfw.efi"
REAGENT = r"Windows\System32\Recovery\ReAgent.xml"
ESP_BOOT_FILES = (r"EFI\Microsoft\Boot\bootmgfw.efi", r"EFI\Boot\bootx64.efi")


@dataclass(frozen=True)
class BootFile:
    where: str  # "EFI system partition N" or "Windows partition"
    pe: PeFile

    def as_dict(self) -> dict[str, object]:
        from imgscan.signing.secureboot import signing_authorities

        authorities = signing_authorities(self.pe)
        return {"where": self.where} | self.pe.as_dict() | {"signed_under": [a.name for a in authorities]}


@dataclass
class Boot:
    partitions: list[Partition] = field(default_factory=list)
    files: list[BootFile] = field(default_factory=list)
    winre_offset: int | None = None  # ReAgent.xml WinreLocation offset: the byte offset of WinRE's partition
    winre_version: str | None = None
    secure_boot: SecureBootState = field(default_factory=lambda: secure_boot_state(None))
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Present when there is a UEFI boot file to judge; a disk without one (a BIOS/MBR disk) has
        partitions but nothing for the boot-file checks. Where WinRE lives is read either way."""
        return bool(self.files)


def load(art: Loader) -> Boot:
    hives = art.get(MACHINE_HIVES)
    boot = Boot(partitions=list(art.partitions), secure_boot=secure_boot_state(hives.system))
    boot.errors += [{"path": f"partition {p.number} ({p.role})", "message": p.problem} for p in boot.partitions if p.problem]
    esp = next((p for p in boot.partitions if p.role == "efi-system" and p.volume is not None), None)
    sources = (
        [(esp.volume, path, f"EFI system partition {esp.number}") for path in ESP_BOOT_FILES]
        if esp and esp.volume
        else [(art.volume, BCDBOOT_SOURCE, "Windows partition")]
    )
    for volume, path, where in sources:
        if not volume.exists(path):
            continue
        try:
            with volume.open(path) as fh:
                data = fh.read()
        except OSError as exc:
            boot.errors.append({"path": path, "message": f"boot file cannot be read: {getattr(exc, 'problem', exc)}"})
            continue
        pe = read_pe(path, data, art.get(SIGNATURE_JUDGE))
        if pe.problem:
            boot.errors.append({"path": path, "message": f"{where}: {pe.problem}"})
        for signature in pe.signatures:
            if signature.problem:
                boot.errors.append({"path": path, "message": f"{where}: {signature.problem}"})
        boot.files.append(BootFile(where, pe))
    boot.winre_offset = _winre_offset(art, boot.errors)
    boot.winre_version = hives.os_version.winre if hives.os_version else None
    return boot


def _winre_offset(art: Loader, errors: list[dict[str, str]]) -> int | None:
    if not art.volume.exists(REAGENT):
        return None
    try:
        with art.volume.open(REAGENT) as fh:
            root = ElementTree.fromstring(fh.read())
    except (OSError, *XML_ERRORS) as exc:
        errors.append({"path": REAGENT, "message": f"not readable XML: {exc}"})
        return None
    location = root.find("WinreLocation")
    offset = location.get("offset") if location is not None else None
    return ascii_int(offset)


def inventory(boot: Boot, _: InventoryContext) -> Section:
    return {
        "partitions": [p.as_dict() for p in boot.partitions],
        "boot_files": [f.as_dict() for f in boot.files],
        "secure_boot": boot.secure_boot.as_dict() | {"winre_version": boot.winre_version},
    }


def errors(boot: Boot) -> ErrorList:
    return boot.errors


BOOT = Kind(
    name="boot",
    paths=("/Windows/Boot/EFI/bootmgfw.efi", "/Windows/System32/Recovery/ReAgent.xml"),
    load=load,
    requires=(MACHINE_HIVES, SIGNATURE_JUDGE),
    absent="the image has no UEFI boot files (no EFI system partition and no Windows\\Boot\\EFI\\bootmgfw.efi)",
    inventory=inventory,
    errors=errors,
    reading="reading the boot files",
)
