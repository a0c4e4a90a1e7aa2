"""WinTrust "Software Publishing" State in every user hive (a changed State, e.g. 0xc9, fails .NET updates offline).

What it finds: a `State` value under
HKU\\<account>\\Software\\Microsoft\\Windows\\CurrentVersion\\WinTrust\\Trust Providers\\Software Publishing
that makes Authenticode checks stricter or weaker than Windows' default 0x23c00.
A missing value is normal (Windows then uses 0x23c00) and only shows in the inventory.
The value is read with the image (imgscan.artefacts' user hives); a host's judgement adds its network.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from imgscan.artefacts import USER_HIVES
from imgscan.check import Check, Finding, InventoryItem, RegistryFix, Rule
from imgscan.hosts import CRL_UNREACHABLE
from imgscan.report import RegistryValueEvidence
from imgscan.severity import Severity
from imgscan.wintrust import KEY_PATH, SETREG_DEFAULT, VALUE_NAME, WINDOWS_DEFAULT, TrustState, as_dword

if TYPE_CHECKING:  # types only: listing the rules must not load the image stack
    from imgscan.artefacts import UserHive
    from imgscan.check import CheckContext

REFERENCES = (
    "https://learn.microsoft.com/en-us/dotnet/framework/tools/setreg-exe-set-registry-tool",
    "https://support.microsoft.com/kb/2715304",
)

OFFLINE_REVOCATION_REFERENCES = (
    *REFERENCES,
    "observed: .NET Framework 4 updates KB2656351, KB2656368 and KB2600217 failed with 0x80070643 on hosts whose "
    "user had State 0xc9; setting 0x23c00 (or SetReg's 0x22849) fixed them",
)

OFFLINE_REVOCATION = Rule(
    id="wintrust-offline-revocation",
    severity=Severity.HIGH,
    title="WinTrust rejects an offline revocation server for commercial certificates",
    summary=(
        "The account's WinTrust State checks revocation but does not accept an unreachable revocation "
        "server (SetReg option 5 off). Whenever a CRL cannot be fetched, signature checks of updates fail "
        "with 0x800B010E, the installer with 0x800B010B and Windows Update with 0x80070643."
    ),
    references=OFFLINE_REVOCATION_REFERENCES,
    predicts=("0x800B010E", "0x800B010B", "0x80070643", "0x80092026"),
    hits="at every update install whose revocation server cannot be reached",
    policy="high; info on a fleet host whose network is online (it fetches CRLs itself)",
)

WEAKENED = Rule(
    id="wintrust-weakened",
    severity=Severity.MEDIUM,
    title="WinTrust signature checks weaker than the Windows default",
    summary=(
        "The account's WinTrust State trusts test roots, skips certificate expiration or skips revocation "
        "checks: settings more permissive than Windows' default 0x23c00."
    ),
    references=REFERENCES,
    hits="at every signature check under the account",
)

# what the host's network (imgscan.hosts) means for it; a single scan knows no host and says nothing more
NETWORK_NOTE = {
    "online": " This host fetches CRLs directly (network: online): it fails only while a revocation server is "
    "unreachable, so the finding is informational here.",
    "offline": " This host cannot fetch CRLs (network: offline): every update signature check fails.",
    "proxy": " This host reaches CRL servers through a proxy (network: proxy), which the installing account often "
    "cannot pass: update signature checks fail whenever it cannot.",
}

PREDICTED_ERRORS = (
    "0x800B010E CERT_E_REVOCATION_FAILURE (signature verification)",
    "0x800B010B TRUST_E_FAIL (setup result)",
    "0x80070643 ERROR_INSTALL_FAILURE (Windows Update result)",
)


class WinTrustState(Check):
    rules = (OFFLINE_REVOCATION, WEAKENED)
    needs = (USER_HIVES,)

    def run(self, artefacts: CheckContext) -> Iterator[Finding | InventoryItem]:
        for user in artefacts.get(USER_HIVES).hives:
            yield from self._check(user, artefacts.scan.host.network)

    def _check(self, user: UserHive, network: str) -> Iterator[Finding | InventoryItem]:
        data = user.wintrust.data  # read with the image (imgscan.artefacts): the host adds only its network
        record: dict[str, object] = {"path": user.path, "account": user.account.as_dict()}
        if data is None and user.wintrust.damaged:  # unknown, not absent: hive-unreadable reports it
            yield InventoryItem("wintrust", record | {"state": None, "note": f"not read: {user.wintrust.damaged}"})
            return
        if data is None:
            yield InventoryItem(
                "wintrust",
                record | {"state": None, "effective": f"0x{WINDOWS_DEFAULT:08x}", "note": "value absent: Windows uses 0x23c00"},
            )
            return
        raw = as_dword(data)
        if raw is None:
            yield InventoryItem("wintrust", record | {"state": repr(data), "note": "not a DWORD: left to Windows"})
            return
        state = TrustState(raw)
        evidence: RegistryValueEvidence = {
            "path": user.path,
            "account": user.account.as_dict(),
            "key": KEY_PATH,
            "value": VALUE_NAME,
            "state": state.hex,
            "options": state.options,
            "undefined_bits": f"0x{state.undefined_bits:08x}",
            "last_written": user.wintrust.last_written,
        }
        written = user.wintrust.last_written
        yield InventoryItem("wintrust", record | {"state": state.hex, "effective": state.hex, "last_written": written})
        who = user.account
        if state.rejects_offline_revocation:
            yield Finding(
                rule=OFFLINE_REVOCATION,
                message=(
                    f"{who.label}: State {state.hex} checks revocation but rejects an offline revocation server "
                    f"for commercial certificates; when a CRL cannot be fetched (isolated network, proxy), update "
                    f"signatures fail with 0x800B010E, setup with 0x800B010B, Windows Update with 0x80070643. "
                    f"Affects {who.affected}.{NETWORK_NOTE.get(network, '')}"
                ),
                # a host that fetches CRLs directly meets it only while a revocation server is down
                severity=None if network in CRL_UNREACHABLE else Severity.INFO,
                evidence=[{**evidence, "predicted_errors": list(PREDICTED_ERRORS)}],
                remediation=_remediation(user),
                hresult="0x800B010E",
                fix=_fix(user),
            )
        if state.weakenings:
            yield Finding(
                rule=WEAKENED,
                message=f"{who.label}: State {state.hex}: {'; '.join(state.weakenings)}. Affects {who.affected}.",
                evidence=[evidence],
                remediation=_remediation(user),
                fix=_fix(user),
            )


def _fix(user: UserHive) -> RegistryFix:
    who = user.account
    offline = "C:\\" + user.path if who.registry_root.endswith("imgscan-offline") else None
    return RegistryFix(f"{who.registry_root}\\{KEY_PATH}", VALUE_NAME, WINDOWS_DEFAULT, offline)


def _remediation(user: UserHive) -> str:
    """A .reg snippet restoring 0x23c00 for exactly this account, with how to apply it."""
    who = user.account
    reg = (
        f'Windows Registry Editor Version 5.00\n\n[{who.registry_root}\\{KEY_PATH}]\n"{VALUE_NAME}"=dword:{WINDOWS_DEFAULT:08x}\n'
    )
    if who.kind == "system-default":
        how = "Import as an administrator on the host (or in the reference machine before capture):"
    elif who.registry_root.endswith("imgscan-offline"):
        hive = "C:\\" + user.path
        how = (
            f"Load the hive, import, unload (in the reference machine before capture, or offline):\n"
            f'  reg load HKU\\imgscan-offline "{hive}"\n  reg import fix.reg\n  reg unload HKU\\imgscan-offline\n'
        )
    else:
        how = f"Import while {who.name} is logged on (or set the same value as that user under HKCU):"
    return (
        f"Set State to 0x{WINDOWS_DEFAULT:x} (Windows' default; 0x{SETREG_DEFAULT:x}, the default documented for "
        f"Microsoft's SetReg tool, also "
        f"accepts offline revocation servers). {how}\n{reg}"
    )
