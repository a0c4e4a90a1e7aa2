#!/usr/bin/env python3
"""Generate imgscan/data/errorcodes.json, the error-code knowledge base behind `imgscan explain`.

Sources (all machine-readable, all Debian packages):
- names and values: mingw-w64's winerror.h (Win32 errors, HRESULTs), ntstatus.h
  (NTSTATUS), wuerror.h (Windows Update WU_E_*) and slerror.h (a few licensing SL_E_*),
  package mingw-w64-common;
- message texts: the RT_MESSAGETABLE of Wine's kernelbase.dll (compiled from
  Wine's winerror.mc, LGPL-2.1), package libwine, read with pefile;
- CBS_E_* and SL_E_* codes of this domain, which no public header carries: the small table
  DOMAIN_CODES below, each with the page it comes from; and DOMAIN_MESSAGES, the
  Windows SDK MessageText of this domain's trust codes (../shared/domain.md's
  table), for which Wine has no text (the KB2705219 write-up quotes CERT_E_EXPIRED's verbatim).

Each code is one entry, keyed by its 32-bit value: the first name the headers give that value
(in the order winerror.h, wuerror.h, DOMAIN_CODES, slerror.h, ntstatus.h) is its `name`, the
others are its `aliases`, each with the kind of code it names: 0 is ERROR_SUCCESS, also NO_ERROR
(win32), S_OK (hresult) and STATUS_SUCCESS (ntstatus). The message is the value's, as Windows'
FormatMessage gives it whatever name it was looked up by.

    apt-get install mingw-w64-common libwine
    .venv/bin/python scripts/gen_errorcodes.py    # pefile comes with imgscan

The output is committed; rerun only to refresh it.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import pefile

HEADERS = Path("/usr/share/mingw-w64/include")
KERNELBASE = Path("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/kernelbase.dll")
OUT = Path(__file__).resolve().parent.parent / "imgscan" / "data" / "errorcodes.json"
RT_MESSAGETABLE = 11

DOMAIN_CODES = {
    # https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism-error-codes (CBS_E_*)
    0x800F0805: ("CBS_E_INVALID_PACKAGE", "The update package was not a valid servicing package."),
    0x800F081E: ("CBS_E_NOT_APPLICABLE", "The package is not applicable to this image."),
    0x800F081F: ("CBS_E_SOURCE_MISSING", "The source files could not be found."),
    0x800F0900: ("CBS_E_XML_PARSER_FAILURE", "An unexpected internal XML parser error occurred."),
    0x800F0831: ("CBS_E_STORE_CORRUPTION", "CBS store is corrupted."),
    0x800F0922: ("CBS_E_INSTALLERS_FAILED", "Processing advanced installers and generic commands failed."),
    0x800F0906: ("CBS_E_DOWNLOAD_FAILURE", "The source files could not be downloaded."),
    # https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/
    # troubleshoot-windows-update-error-0x80070bc9 (offline servicing of an image with pending operations)
    0x800F0806: ("CBS_E_PENDING", "The operation could not be completed because servicing operations are pending a restart."),
    # https://learn.microsoft.com/en-us/troubleshoot/windows-client/installing-updates-features-roles/
    # troubleshoot-windows-update-error-0x800f0823
    0x800F0823: ("CBS_E_NEW_SERVICING_STACK_REQUIRED", "Package needs a newer version of the servicing stack."),
    # ERROR_FAIL_REBOOT_REQUIRED (3017), newer than mingw-w64's winerror.h: same troubleshooting page as 0x80070BC9
    0x80070BC9: (
        "HRESULT_FROM_WIN32(ERROR_FAIL_REBOOT_REQUIRED)",
        "The requested operation failed. A system reboot is required to roll back changes made.",
    ),
    # SL_E_* (Software Licensing, HRESULTs of FACILITY_ITF): https://learn.microsoft.com/en-us/windows-server/
    # get-started/activation-error-codes; ESU: https://learn.microsoft.com/en-us/troubleshoot/windows-client/
    # windows-7-eos-faq/troubleshoot-extended-security-updates-issues
    0xC004F050: ("SL_E_INVALID_PRODUCT_KEY", "The Software Licensing Service reported that the product key is invalid."),
    0xC004F069: (
        "SL_E_PRODUCT_SKU_NOT_INSTALLED",
        "The Software Licensing Service reported that the computer could not be activated. The product SKU is not found.",
    ),
    0xC004F038: (
        "SL_E_VL_NOT_ENOUGH_COUNT",
        "The Software Licensing Service reported that the computer could not be activated. The count reported by your "
        "Key Management Service (KMS) is insufficient.",
    ),
    0xC004F009: ("SL_E_GRACE_TIME_EXPIRED", "The Software Licensing Service reported that the grace period expired."),
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
    # Windows Update error codes by component (learn.microsoft.com/windows/deployment/update/
    # windows-update-error-reference), the codes imgscan's rules predict
    0x8024002E: "Access to an unmanaged server is not allowed.",
    0x8024401C: "Same as HTTP status 408 - the server timed out waiting for the request.",
    0x80244022: "Same as HTTP status 503 - the service is temporarily overloaded.",
}

# An object-like `#define NAME BODY` (a function-like macro has "(" right after its name).
DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)(?![\w(])\s*(.*)$")
TOKEN = re.compile(r"\s*(?:(0[xX][0-9A-Fa-f]+|\d+)[uUlL]*|([A-Za-z_]\w*)|([()+]))")
# The forms a value is written in: 5L, __MSABI_LONG(5), _HRESULT_TYPEDEF_(0x80004005L), ((HRESULT)0x00000000),
# ((NTSTATUS)0xC0000001L), (WSABASEERR + 4), another code's name (NO_ERROR), HRESULT_FROM_WIN32(ERROR_X).
WRAPPERS = ("_HRESULT_TYPEDEF_", "_NDIS_ERROR_TYPEDEF_", "__MSABI_LONG", "HRESULT_FROM_WIN32")
CASTS = ("HRESULT", "NTSTATUS", "SCODE", "DWORD", "LONG")
# names of a header's numbers that are not codes: facilities, severities, the ends of ranges (OLE_E_FIRST,
# DNS_ERROR_ZONE_BASE); STATUS_IMAGE_NOT_AT_BASE and STATUS_FREE_VM_NOT_AT_BASE are codes
NOT_CODES_PREFIX = ("FACILITY_", "SEVERITY_", "STATUS_SEVERITY_")
NOT_CODES_SUFFIX = ("_FIRST", "_LAST", "_BASE")


@dataclass(frozen=True)
class Define:
    name: str
    value: int  # 32 bits
    hresult: bool  # written as an HRESULT (_HRESULT_TYPEDEF_, (HRESULT), HRESULT_FROM_WIN32 or such a name)


def header_defines(name: str) -> list[Define]:
    """Every `#define NAME BODY` of a header whose BODY is a number, in the header's order."""
    found: dict[str, Define] = {}
    for line in (HEADERS / name).read_text(encoding="latin-1").splitlines():
        match = DEFINE.match(line)
        if not match:
            continue
        symbol, body = match.groups()
        body = re.sub(r"/\*.*?(\*/|$)|//.*", " ", body).strip()
        evaluated = _evaluate(body, found)
        if evaluated is not None and symbol not in found:
            found[symbol] = Define(symbol, evaluated[0] & 0xFFFFFFFF, evaluated[1])
    return list(found.values())


def _evaluate(body: str, known: dict[str, Define]) -> tuple[int, bool] | None:
    """(value, written as an HRESULT) of a define's body, or None when it is not a number (a macro, a guard)."""
    tokens: list[str] = []
    position = 0
    while position < len(body):
        token = TOKEN.match(body, position)
        if not token:
            return None
        tokens.append(token.group(token.lastindex or 0))
        position = token.end()
    if not tokens:
        return None
    hresult = False

    def term(at: int) -> tuple[int, int] | None:
        nonlocal hresult
        token = tokens[at] if at < len(tokens) else ""
        if token[:1].isdigit():  # C's literals: 0x hex, 0 octal, else decimal
            return int(token, 16 if token[:2] in ("0x", "0X") else 8 if token[:1] == "0" else 10), at + 1
        if token in WRAPPERS and tokens[at + 1 : at + 2] == ["("]:
            inner = expression(at + 2)
            if inner is None or tokens[inner[1] : inner[1] + 1] != [")"]:
                return None
            value = inner[0]
            if token == "HRESULT_FROM_WIN32" and value & 0xFFFFFFFF and not value & 0x80000000:
                value = 0x80070000 | (value & 0xFFFF)
            hresult = hresult or token in ("_HRESULT_TYPEDEF_", "HRESULT_FROM_WIN32")
            return value, inner[1] + 1
        if token in known:
            hresult = hresult or known[token].hresult
            return known[token].value, at + 1
        if token == "(" and tokens[at + 1 : at + 2] and tokens[at + 1] in CASTS and tokens[at + 2 : at + 3] == [")"]:
            hresult = hresult or tokens[at + 1] == "HRESULT"
            return term(at + 3)
        if token == "(":
            inner = expression(at + 1)
            if inner is None or tokens[inner[1] : inner[1] + 1] != [")"]:
                return None
            return inner[0], inner[1] + 1
        return None

    def expression(at: int) -> tuple[int, int] | None:
        left = term(at)
        while left is not None and tokens[left[1] : left[1] + 1] == ["+"]:
            right = term(left[1] + 1)
            left = None if right is None else (left[0] + right[0], right[1])
        return left

    whole = expression(0)
    if whole is None or whole[1] != len(tokens):
        return None
    return whole[0], hresult


def header_codes(name: str) -> dict[int, list[Define]]:
    """A header's codes by value, each value's names in the header's order (its first name is its primary one)."""
    codes: dict[int, list[Define]] = {}
    for define in header_defines(name):
        if define.name.startswith(NOT_CODES_PREFIX) or define.name.endswith(NOT_CODES_SUFFIX):
            if not define.name.endswith("_NOT_AT_BASE"):
                continue
        if not define.name[:1].isupper():  # include guards and such: _WINERROR_, __IN__WINERROR_
            continue
        codes.setdefault(define.value, []).append(define)
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
    aliases: dict[str, dict[str, str]] = {}

    def add(value: int, name: str, kind: str, message: str | None) -> None:
        """The first name of a value is its primary name; every later one is an alias, with the kind of
        code it names (S_FALSE is an HRESULT, STATUS_WAIT_1 an NTSTATUS: both are 1, as ERROR_INVALID_FUNCTION is)."""
        key = f"0x{value:08X}"
        if key not in entries:
            entries[key] = {"name": name, "kind": kind, "message": message or DOMAIN_MESSAGES.get(value)}
        elif name != entries[key]["name"]:
            aliases.setdefault(key, {}).setdefault(name, kind)

    for value, defines in sorted(header_codes("winerror.h").items()):
        for define in defines:
            if value < 0x10000 and not define.hresult:  # Win32 error code; its HRESULT form is 0x8007xxxx
                add(value, define.name, "win32", messages.get(value))
            else:  # an HRESULT, S_OK and S_FALSE too
                add(value, define.name, "hresult", messages.get(value))
        primary = entries[f"0x{value:08X}"]
        if value < 0x10000 and primary["kind"] == "win32":
            add(0x80070000 | value, f"HRESULT_FROM_WIN32({primary['name']})", "hresult", messages.get(value))
    for value, defines in sorted(header_codes("wuerror.h").items()):
        for define in defines:
            add(value, define.name, "hresult", messages.get(value))
    # before ntstatus.h: an SL_E_* HRESULT has the two top bits set, like an NTSTATUS error
    for value, (name, message) in DOMAIN_CODES.items():
        add(value, name, "hresult", message)
    for value, defines in sorted(header_codes("slerror.h").items()):
        for define in defines:
            add(value, define.name, "hresult", messages.get(value))
    for value, defines in sorted(header_codes("ntstatus.h").items()):
        for define in defines:
            add(value, define.name, "ntstatus", messages.get(value))
    for key, names in aliases.items():
        entries[key]["aliases"] = names
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "sources": [
            "mingw-w64-common: winerror.h, wuerror.h, slerror.h, ntstatus.h (names, values)",
            "libwine: kernelbase.dll RT_MESSAGETABLE (messages; Wine, LGPL-2.1)",
            "scripts/gen_errorcodes.py DOMAIN_CODES (CBS_E_* and SL_E_*, Microsoft documentation named there)",
        ],
        "facilities": {str(k): v for k, v in sorted(facilities().items())},
        "codes": dict(sorted(entries.items())),
    }
    OUT.write_text(json.dumps(document, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    with_text = sum(1 for e in entries.values() if e["message"])
    further = sum(map(len, aliases.values()))
    print(f"{OUT}: {len(entries)} codes, {with_text} with a message, {further} further names of {len(aliases)} of them")


if __name__ == "__main__":
    main()
