#!/usr/bin/env python3
"""Generate imgscan/data/errorcodes.json, the error-code knowledge base behind `imgscan explain`.

Sources (all machine-readable, all Debian packages):
- names and values: mingw-w64's winerror.h (Win32 errors, HRESULTs), ntstatus.h
  (NTSTATUS) and wuerror.h (Windows Update WU_E_*), package mingw-w64-common;
- message texts: the RT_MESSAGETABLE of Wine's kernelbase.dll (compiled from
  Wine's winerror.mc, LGPL-2.1), package libwine, read with pefile;
- CBS_E_* codes of this domain, which no public header carries: the small table
  DOMAIN_CODES below, each with the page it comes from; and DOMAIN_MESSAGES, the
  Windows SDK MessageText of this domain's trust codes (../shared/domain.md's
  table), for which Wine has no text (seed 001 quotes CERT_E_EXPIRED's verbatim).

    apt-get install mingw-w64-common libwine && pip install pefile
    python3 scripts/gen_errorcodes.py

The output is committed; rerun only to refresh it.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pefile

HEADERS = Path("/usr/share/mingw-w64/include")
KERNELBASE = Path("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/kernelbase.dll")
OUT = Path(__file__).resolve().parent.parent / "imgscan" / "data" / "errorcodes.json"
RT_MESSAGETABLE = 11

DOMAIN_CODES = {
    # https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-error-codes (CBS_E_*)
    0x800F081F: ("CBS_E_SOURCE_MISSING", "The source files could not be found."),
    0x800F0900: ("CBS_E_XML_PARSER_FAILURE", "An unexpected internal XML parser error occurred."),
    0x800F0831: ("CBS_E_STORE_CORRUPTION", "CBS store is corrupted."),
    0x800F0922: ("CBS_E_INSTALLERS_FAILED", "Processing advanced installers and generic commands failed."),
    0x800F0906: ("CBS_E_DOWNLOAD_FAILURE", "The source files could not be downloaded."),
}

# Windows SDK winerror.h MessageText blocks (also printed by Microsoft's err.exe).
DOMAIN_MESSAGES = {
    0x800B0001: "Unknown trust provider.",
    0x800B0100: "No signature was present in the subject.",
    0x800B0101: "A required certificate is not within its validity period when verifying against the current "
    "system clock or the timestamp in the signed file.",
    0x800B0109: "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider.",
    0x800B010A: "A certificate chain could not be built to a trusted root authority.",
    0x800B010B: "Generic trust failure.",
    0x800B010C: "A certificate was explicitly revoked by its issuer.",
    0x800B010D: "The certification path terminates with the test root which is not trusted with the current policy settings.",
    0x800B010E: "The revocation process could not continue - the certificate(s) could not be checked.",
    0x800B0111: "The certificate was explicitly marked as untrusted by the user.",
    0x80096005: "The timestamp signature and/or certificate could not be verified or is malformed.",
    0x80096010: "The digital signature of the object did not verify.",
    0x80092003: "An error occurred while reading or writing to a file.",
    0x80092004: "Cannot find object or property.",
    0x80092013: "The revocation function was unable to check revocation because the revocation server was offline.",
    0x80092026: "The cryptographic operation failed due to a local security option setting.",
    0x80073712: "The component store has been corrupted.",
    0x00003712: "The component store has been corrupted.",
}

DEFINE = re.compile(
    r"^#define\s+([A-Z][A-Z0-9_]+)\s+(?:_HRESULT_TYPEDEF_\(|_NDIS_ERROR_TYPEDEF_\(|\(\(NTSTATUS\)|__MSABI_LONG\()?\s*"
    r"\(?(0x[0-9A-Fa-f]+|\d+)L?\)*\s*(?:$|//|/\*)"
)


def header_codes(name: str) -> dict[int, str]:
    codes: dict[int, str] = {}
    for line in (HEADERS / name).read_text(encoding="latin-1").splitlines():
        match = DEFINE.match(line.strip())
        if not match:
            continue
        symbol, number = match.groups()
        if symbol.startswith(("FACILITY_", "SEVERITY_")) or symbol.endswith(("_FIRST", "_LAST", "_BASE")):
            continue
        value = int(number, 0) & 0xFFFFFFFF
        codes.setdefault(value, symbol)
    return codes


def facilities() -> dict[int, str]:
    found = {}
    for line in (HEADERS / "winerror.h").read_text(encoding="latin-1").splitlines():
        match = re.match(r"#define\s+FACILITY_([A-Z0-9_]+)\s+(\d+)\s*$", line.strip())
        if match:
            found.setdefault(int(match.group(2)), match.group(1))
    return found


def wine_messages() -> dict[int, str]:
    pe = pefile.PE(str(KERNELBASE), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    messages: dict[int, str] = {}
    for resource_type in pe.DIRECTORY_ENTRY_RESOURCE.entries:
        if resource_type.id != RT_MESSAGETABLE:
            continue
        for name in resource_type.directory.entries:
            for language in name.directory.entries:
                if language.id not in (0x409, 0):  # English (United States), or neutral
                    continue
                data = pe.get_data(language.data.struct.OffsetToData, language.data.struct.Size)
                messages.update(_message_table(data))
    return messages


def _message_table(data: bytes) -> dict[int, str]:
    (blocks,) = struct.unpack_from("<I", data, 0)
    messages = {}
    for block in range(blocks):
        low, high, offset = struct.unpack_from("<III", data, 4 + block * 12)
        for ident in range(low, high + 1):
            length, flags = struct.unpack_from("<HH", data, offset)
            raw = data[offset + 4 : offset + length]
            text = raw.decode("utf-16-le" if flags & 1 else "latin-1").rstrip("\x00").strip()
            messages[ident] = " ".join(text.split())
            offset += length
    return messages


def main() -> None:
    messages = wine_messages()
    entries: dict[str, dict[str, object]] = {}

    def add(value: int, name: str, kind: str, message: str | None) -> None:
        key = f"0x{value:08X}"
        if key not in entries:
            entries[key] = {"name": name, "kind": kind, "message": message or DOMAIN_MESSAGES.get(value)}

    win32 = header_codes("winerror.h")
    for value, name in sorted(win32.items()):
        if value < 0x10000:  # Win32 error code; its HRESULT form is 0x8007xxxx
            add(value, name, "win32", messages.get(value))
            add(0x80070000 | value, f"HRESULT_FROM_WIN32({name})", "hresult", messages.get(value))
        else:
            add(value, name, "hresult", messages.get(value))
    for value, name in sorted(header_codes("wuerror.h").items()):
        add(value, name, "hresult", messages.get(value))
    for value, name in sorted(header_codes("ntstatus.h").items()):
        add(value, name, "ntstatus", messages.get(value))
    for value, (name, message) in DOMAIN_CODES.items():
        add(value, name, "hresult", message)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "sources": [
            "mingw-w64-common: winerror.h, wuerror.h, ntstatus.h (names, values)",
            "libwine: kernelbase.dll RT_MESSAGETABLE (messages; Wine, LGPL-2.1)",
            "scripts/gen_errorcodes.py DOMAIN_CODES (CBS_E_*, Microsoft DISM error code documentation)",
        ],
        "facilities": {str(k): v for k, v in sorted(facilities().items())},
        "codes": dict(sorted(entries.items())),
    }
    OUT.write_text(json.dumps(document, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    with_text = sum(1 for e in entries.values() if e["message"])
    print(f"{OUT}: {len(entries)} codes, {with_text} with a message")


if __name__ == "__main__":
    main()
