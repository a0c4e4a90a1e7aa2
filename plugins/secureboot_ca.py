"""Secure Boot certificates: which generation of Microsoft's UEFI CAs the image's boot manager needs
in the hosts' firmware db, and what happens when the 2011 CAs expire in 2026.

What it finds, from each boot file's signature chain (imgscan/data/secureboot.toml lists the CAs and
their days, from Microsoft's certificate files):
- signed only under Windows UEFI CA 2023: firmware whose db lacks that CA refuses to start it
  ("Secure Boot violation"), so the fleet's firmware must be updated first (KB5068202);
- signed only under Microsoft Windows Production PCA 2011, while the image's Secure Boot servicing
  values (SYSTEM ...\\Control\\SecureBoot\\Servicing: UEFICA2023Status, WindowsUEFICA2023Capable;
  KB5062713) do not say the update is done: the PCA expires on the day secureboot.toml gives, after which boot-manager
  security updates come signed under the 2023 CA only, and hosts cannot take them until their db has it.
CAs are recognised by their subject names, as Microsoft's own Secure Boot scripts recognise them in db.
A db exported from hosts that holds neither Windows CA (no-windows-ca) makes the generation moot:
secureboot-boot-manager-untrusted-signer judges the boot manager against that db instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import BOOT
from imgscan.check import Check, Finding, Rule, Severity, Timing
from imgscan.report import BootFileEvidence, RegistryValueEvidence
from imgscan.signing.authorities import authorities

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts.boot import BootFile
    from imgscan.check import CheckContext
    from imgscan.signing.secureboot import SecureBootState

KB5068202 = "https://support.microsoft.com/help/5068202"
KB5062713 = "https://support.microsoft.com/help/5062713"
KB5025885 = "https://support.microsoft.com/help/5025885"
# Microsoft stops signing boot-manager updates under the PCA from its expiry: the day the 2011-only rule bites
PCA_2011 = authorities()["Microsoft Windows Production PCA 2011"]
assert PCA_2011.expires is not None
PCA_2011_EXPIRES = PCA_2011.expires
# reported whatever the horizon: info before the PCA expires, medium from its expiry on
CA_2011_TIMING = Timing(now=Severity.MEDIUM, soon=Severity.INFO, later=Severity.INFO)

CA_2023_REQUIRED = Rule(
    id="secureboot-ca-2023-required",
    severity=Severity.MEDIUM,
    policy="medium; high with --target-firmware 2011-only; not reported with --target-firmware 2023",
    title="Boot manager signed only under Windows UEFI CA 2023",
    summary=(
        "The image's boot manager is signed only under the 2023 Secure Boot CA: hosts whose firmware db lacks "
        "Windows UEFI CA 2023 refuse to start it (Secure Boot violation)."
    ),
    references=(KB5068202, KB5025885),
    hits="at every boot with Secure Boot on",
    subject="file",  # the boot file by name: an ESP and a WIM keep it in different folders
)
CA_2011_ONLY = Rule(
    id="secureboot-ca-2011-only",
    severity=Severity.MEDIUM,
    policy=f"{CA_2011_TIMING.from_day(PCA_2011_EXPIRES)}; not reported with --target-firmware 2023",
    timing=CA_2011_TIMING,
    title="Boot manager signed only under the expiring 2011 CA, Secure Boot certificates not updated",
    summary=(
        f"The boot manager is signed only under Microsoft Windows Production PCA 2011, which expires on {PCA_2011_EXPIRES}, "
        "and the image's Secure Boot servicing state is not 'Updated': its hosts cannot take boot-manager "
        "security updates signed under the 2023 CA until their firmware db is updated."
    ),
    references=(KB5062713, KB5068202),
    hits="when a boot-manager update signed under Windows UEFI CA 2023 installs",
    subject="file",  # the boot file by name: an ESP and a WIM keep it in different folders
)


class SecureBootCa(Check):
    rules = (CA_2023_REQUIRED, CA_2011_ONLY)
    needs = (BOOT,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        from imgscan.signing.firmware_db import NO_WINDOWS_CA
        from imgscan.signing.secureboot import generations

        firmware = artefacts.scan.firmware.generation
        if firmware == NO_WINDOWS_CA:  # the hosts trust neither generation: the untrusted-signer rule speaks
            return
        judged = [(f, generations(f.pe)) for f in artefacts.get(BOOT).files]
        judged = [(f, g) for f, g in judged if g]
        if firmware != "2023":
            for boot_file, found in judged:
                if found == {2023}:
                    yield self._needs_2023(boot_file, firmware)
        state = artefacts.get(BOOT).secure_boot
        if firmware == "2023" or state.updated or not judged or any(g != {2011} for _, g in judged):
            return
        yield Finding(  # its severity is the rule's Timing, by the phase of the PCA's expiry
            rule=CA_2011_ONLY,
            message=(
                f"The boot manager is signed only under Microsoft Windows Production PCA 2011, which expires on "
                f"{PCA_2011_EXPIRES.isoformat()}, and the image's Secure Boot servicing state says the 2023 certificates are not "
                f"in place ({state.describe()}): hosts built from it cannot take boot-manager security updates signed "
                "under Windows UEFI CA 2023 until their firmware db holds that CA."
            ),
            evidence=[*(_evidence(f) for f, _ in judged), _state_evidence(state)],
            remediation=(
                "Apply the 2023 Secure Boot certificates to the fleet's firmware as KB5068202 describes (set "
                "AvailableUpdates to 0x5944 and restart twice, or use the vendor's firmware update), then let Windows "
                "install the 2023-signed boot manager; check UEFICA2023Status = Updated."
            ),
            starts=PCA_2011_EXPIRES,
        )

    @staticmethod
    def _needs_2023(boot_file: BootFile, firmware: str) -> Finding:
        told = ", and --target-firmware says these hosts have only the 2011 certificates" if firmware == "2011-only" else ""
        return Finding(
            rule=CA_2023_REQUIRED,
            message=(
                f"{boot_file.pe.path} on the {boot_file.where} is signed only under Windows UEFI CA 2023: hosts whose "
                f"firmware db lacks that CA (firmware not yet updated) refuse to start it with a Secure Boot violation{told}."
            ),
            evidence=[_evidence(boot_file)],
            remediation=(
                "Add the 2023 Secure Boot certificates to the fleet's firmware db first (KB5068202 procedure, or the "
                "vendor's firmware update), or deploy a boot manager signed under Microsoft Windows Production PCA 2011 "
                "to hosts that still have only the 2011 certificates."
            ),
            severity=Severity.HIGH if firmware == "2011-only" else Severity.MEDIUM,
            subjects=(boot_file.pe.path,),
        )


def _state_evidence(state: SecureBootState) -> RegistryValueEvidence:
    """The Secure Boot servicing values that say the 2023 certificates are not in place."""
    return {
        "path": state.key or "SYSTEM",
        "key": state.key,
        "available_updates": state.available_updates,
        "uefica2023_status": state.ca2023_status,
        "windows_uefica2023_capable": state.ca2023_capable,
    }


def _evidence(boot_file: BootFile) -> BootFileEvidence:
    from imgscan.signing.secureboot import signing_authorities

    return {
        "path": boot_file.pe.path,
        "where": boot_file.where,
        "sha256": boot_file.pe.sha256,
        "signed_under": [a.name for a in signing_authorities(boot_file.pe)],
    }
