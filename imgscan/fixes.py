"""`--fix-script`: the registry fixes of a scan's findings as one .reg or .ps1 file, never applied by imgscan.

Each fix is preceded by a comment naming the finding it answers. Hives that are
not loaded on a running host (the Default profile template, a profile whose SID
is unknown) are loaded under HKU\\imgscan-offline first and unloaded afterwards.

The PowerShell form creates a key only when it is missing: `New-Item -Force` on a
registry key that exists deletes it with every other value and subkey and creates
it empty (PowerShell/PowerShell#5444). A profile's key under HKEY_USERS exists only
while that user is logged on, so the script stops with a message saying so rather
than failing on a key it cannot create.
"""

from __future__ import annotations

from imgscan.check import Finding, RegistryFix

OFFLINE = r"HKU\imgscan-offline"


def _comment(finding: Finding) -> str:
    where = finding.evidence[0].get("path", "") if finding.evidence else ""
    return f"{finding.rule.id} ({finding.effective_severity}) {where}"


def _unique(findings: list[Finding]) -> list[tuple[Finding, RegistryFix]]:
    seen: set[RegistryFix] = set()
    chosen = []
    for finding in findings:
        if finding.fix and not finding.suppressed and finding.fix not in seen:
            seen.add(finding.fix)
            chosen.append((finding, finding.fix))
    return chosen


def fix_script(findings: list[Finding], suffix: str) -> str:
    fixes = _unique(findings)
    if suffix == ".ps1":
        return _powershell(fixes)
    lines = [
        "Windows Registry Editor Version 5.00",
        "",
        "; Written by imgscan --fix-script. Review before importing; imgscan applies nothing.",
        "",
    ]
    for finding, fix in fixes:
        lines.append(f"; {_comment(finding)}")
        if fix.offline_hive:
            lines.append(f'; load the hive first:  reg load {OFFLINE} "{fix.offline_hive}"   (reg unload {OFFLINE} after)')
        lines += [f"[{fix.key}]", f'"{fix.name}"=dword:{fix.dword:08x}', ""]
    if not fixes:
        lines.append("; no registry fix is needed for these findings")
    return "\r\n".join(lines) + "\r\n"


def _powershell(fixes: list[tuple[Finding, RegistryFix]]) -> str:
    lines = [
        "# Written by imgscan --fix-script. Review, then run as an administrator; imgscan applies nothing.",
        "$ErrorActionPreference = 'Stop'",
        "",
    ]
    for finding, fix in fixes:
        lines.append(f"# {_comment(finding)}")
        if fix.offline_hive:  # reg.exe is no cmdlet: $ErrorActionPreference does not stop on its failure
            lines += [
                f"& reg.exe load {OFFLINE} '{fix.offline_hive}'",
                f"if ($LASTEXITCODE -ne 0) {{ throw 'reg.exe could not load {fix.offline_hive}' }}",
                "try {",
            ]
        elif fix.key.upper().startswith("HKEY_USERS\\"):
            hive = "\\".join(fix.key.split("\\")[:2])  # HKEY_USERS\<SID>: loaded while the user is logged on
            lines.append(
                f"if (-not (Test-Path -LiteralPath 'Registry::{hive}')) {{ throw '{hive} is not loaded: run this while "
                "that user is logged on, or set the same value under HKCU as that user' }"
            )
        path = "Registry::" + fix.key
        lines += [
            f"if (-not (Test-Path -LiteralPath '{path}')) {{ New-Item -Path '{path}' -Force | Out-Null }}",
            f"Set-ItemProperty -LiteralPath '{path}' -Name '{fix.name}' -Value 0x{fix.dword:x} -Type DWord",
        ]
        if fix.offline_hive:  # unloaded whatever happened in between, so the hive is not left loaded
            lines += ["} finally {", "[gc]::Collect()", f"& reg.exe unload {OFFLINE}", "}"]
        lines.append("")
    if not fixes:
        lines.append("# no registry fix is needed for these findings")
    return "\n".join(lines) + "\n"
