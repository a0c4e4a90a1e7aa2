"""Issue 5: `imgscan explain` answers for every code in ../shared/domain.md and for winerror.h codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from imgscan.errorcodes import describe, parse
from tests.conftest import REPO, run_imgscan
from tests.realdata import absent, needs_realdata

DOMAIN = REPO.parent / "shared" / "domain.md"
WINERROR = Path("/usr/share/mingw-w64/include/winerror.h")


def domain_codes() -> list[Any]:
    """(code, name) rows of domain.md's HRESULT table; HRESULT_FROM_WIN32(X 1603) rows give X. A bare clone
    has no ../shared: one skipped row that says so, as for every other file read from there."""
    if not DOMAIN.is_file():
        return [pytest.param(None, None, id="domain.md-absent", marks=pytest.mark.skip(reason=absent(DOMAIN)))]
    text = DOMAIN.read_text(encoding="utf-8")
    table = text[text.index("## HRESULTs of this domain") :]
    rows = re.findall(r"^\| (0x[0-9A-F]{8}) \| ([^|]+?) \|", table, re.M)
    return [(code, re.sub(r"^HRESULT_FROM_WIN32\((\w+) \d+\)$", r"\1", name)) for code, name in rows]


@needs_realdata
def test_domain_table_is_complete():
    assert len(domain_codes()) == 21


@pytest.mark.parametrize(("code", "name"), domain_codes())
def test_every_domain_code(code, name):
    found = describe(parse(code))
    assert found.name is not None and name in found.name
    assert found.message, f"{code} {name} has no message text"
    assert describe(parse(name)).value == int(code, 16) or name.startswith("ERROR_")


def test_spellings_of_one_code():
    spellings = ("0x800b0101", "0X800B0101", " 800B0101 ", "2148204801", "-2146762495", "CERT_E_EXPIRED", "cert_e_expired")
    values = {parse(text) for text in spellings}
    assert values == {0x800B0101}
    assert parse("1603") == 1603 and parse("80070643") == 0x80070643
    with pytest.raises(ValueError):
        parse("NOT_A_CODE_NAME")


HEADERS = WINERROR.parent
# How mingw-w64's error headers write a code's value, read here independently of scripts/gen_errorcodes.py:
# 5L, 0U, 0x8004D000, __MSABI_LONG(5), _HRESULT_TYPEDEF_(0x80004005L), ((HRESULT)0x00000000), ((NTSTATUS)0xC0000001L),
# (WSABASEERR + 4), another code's name (NO_ERROR), HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)
NUMBER = r"(0x[0-9A-Fa-f]+|\d+)[uUlL]*"
FORMS = (
    re.compile(NUMBER),
    re.compile(rf"__MSABI_LONG\({NUMBER}\)"),
    re.compile(rf"(?P<hresult>_HRESULT_TYPEDEF_)\({NUMBER}\)"),
    re.compile(rf"\(\((?P<hresult>HRESULT)\){NUMBER}\)"),
    re.compile(rf"\(\(NTSTATUS\){NUMBER}\)"),
    re.compile(rf"\((?P<base>[A-Z_]+) \+ {NUMBER}\)"),
    re.compile(r"(?P<name>[A-Z][A-Za-z0-9_]+)"),
    re.compile(r"(?P<hresult>HRESULT_FROM_WIN32)\((?P<win32>[A-Z][A-Za-z0-9_]+)\)"),
)


def header_defines(header: str) -> dict[str, tuple[int, bool]]:
    """Every `#define NAME value` of a header: NAME -> (value, written as an HRESULT). Fails on a define whose
    body is in none of FORMS, so that a form the header starts using is not silently skipped."""
    defines: dict[str, tuple[int, bool]] = {}
    for line in (HEADERS / header).read_text(encoding="latin-1").splitlines():
        match = re.match(r"^\s*#\s*define\s+([A-Za-z_]\w*)(\(?)\s*(.*?)\s*(?:/[*/].*)?$", line)
        if not match or match.group(2) or not match.group(3) or match.group(1).startswith("_"):
            continue  # a function-like macro, an include guard (_WINERROR_), __IN__WINERROR_, _HRESULT_TYPEDEF_
        name, body = match.group(1), match.group(3)
        form = next((m for f in FORMS if (m := f.fullmatch(body))), None)
        assert form is not None, f"{header}: no form reads {line!r}"
        groups = form.groupdict()
        if groups.get("win32"):
            win32 = defines[groups["win32"]][0]
            value, hresult = (win32 if win32 == 0 else 0x80070000 | win32), True
        elif groups.get("name"):
            value, hresult = defines[groups["name"]]
        else:
            value = int(form.group(form.lastindex or 0), 0) + (defines[groups["base"]][0] if groups.get("base") else 0)
            hresult = bool(groups.get("hresult"))
        defines.setdefault(name, (value & 0xFFFFFFFF, hresult))
    return defines


def header_codes(header: str) -> dict[str, tuple[int, bool]]:
    """A header's defines that name a code: not a facility, a severity or the end of a range (OLE_E_FIRST,
    DNS_ERROR_ZONE_BASE; but STATUS_IMAGE_NOT_AT_BASE is a code)."""
    return {
        name: value
        for name, value in header_defines(header).items()
        if not name.startswith(("FACILITY_", "SEVERITY_", "STATUS_SEVERITY_"))
        and (not name.endswith(("_FIRST", "_LAST", "_BASE")) or name.endswith("_NOT_AT_BASE"))
    }


def kind_of(name: str, text: str) -> str:
    """The kind `explain` gives the code the name `text` names: its primary name's, or the alias's own."""
    code = describe(parse(text))
    return code.kind if code.name == name else next(a.kind for a in code.aliases if a.name == name)


def test_the_headers_are_read_whole():
    """Every form winerror.h writes a value in is one of FORMS, and each form is used: S_OK's ((HRESULT)0x00000000),
    WSAEINTR's (WSABASEERR + 4), DS_S_SUCCESS's NO_ERROR, E_NOT_SUFFICIENT_BUFFER's HRESULT_FROM_WIN32(...)."""
    defines = header_defines("winerror.h")
    text = WINERROR.read_text(encoding="latin-1")
    for name in ("S_OK", "S_FALSE", "SEC_E_OK", "WSAEINTR", "DS_S_SUCCESS", "E_NOT_SUFFICIENT_BUFFER", "TBS_SUCCESS"):
        assert re.search(rf"^#define {name}\s", text, re.M) and name in defines
    assert len(header_codes("winerror.h")) > 3400 and len(header_codes("ntstatus.h")) > 1700


@pytest.mark.parametrize("header", ["winerror.h", "wuerror.h", "slerror.h", "ntstatus.h"])
def test_every_name_in_the_headers_explains_its_value(header):
    """Each `#define NAME value` of an error code in mingw-w64's headers, whatever its form: `explain NAME` gives
    that value, under NAME or with NAME among its aliases, of the kind the header makes it (a value below 0x10000
    in winerror.h is a Win32 error unless written as an HRESULT: S_OK and S_FALSE are HRESULTs)."""
    codes = header_codes(header)
    wrong = []
    for name, (value, hresult) in codes.items():
        try:
            found = describe(parse(name))
        except ValueError:
            wrong.append(f"{name}: unknown")
            continue
        names = {found.name} | {alias.name for alias in found.aliases}
        if found.value != value or name not in names:
            wrong.append(f"{name}: {found.hex} {sorted(names)}, the header says 0x{value:08X}")
            continue
        expected = {
            "winerror.h": "win32" if value < 0x10000 and not hresult else "hresult",
            "ntstatus.h": "ntstatus",
        }.get(header, "hresult")
        if kind_of(name, name) != expected:
            wrong.append(f"{name}: {kind_of(name, name)}, not {expected}")
    assert not wrong, f"{len(wrong)} of {len(codes)}: {wrong[:20]}"


def test_success_codes_by_name():
    """S_OK, S_FALSE and SEC_E_OK (each ((HRESULT)0x...) in winerror.h) are the values the header gives them, with
    the text that value has (FormatMessage's: S_FALSE has ERROR_INVALID_FUNCTION's, 1's); asked by that name, the
    code is given as that name says: a success HRESULT, with the value's first name among its other names."""
    defines = header_defines("winerror.h")
    run = run_imgscan("explain", "S_OK", "S_FALSE", "sec_e_ok", "0", "1", "--format", "json")
    assert run.code == 0
    s_ok, s_false, sec_e_ok, zero, one = json.loads(run.stdout)
    for name, item, by_value in (("S_OK", s_ok, zero), ("S_FALSE", s_false, one), ("SEC_E_OK", sec_e_ok, zero)):
        assert defines[name] == (item["decimal"], True)
        assert (item["name"], item["kind"], item["failure"], item["facility"]) == (name, "hresult", False, "NULL")
        assert item["message"] == by_value["message"] and item["known"] and item["message"]
        assert {"name": name, "kind": "hresult", "failure": False} in by_value["aliases"]
        assert {"name": by_value["name"], "kind": by_value["kind"], "failure": by_value["failure"]} in item["aliases"]
        assert {a["name"] for a in item["aliases"]} | {name} == {a["name"] for a in by_value["aliases"]} | {by_value["name"]}
        assert not item["observed_by"]  # a success is in no log's failures
    assert defines["ERROR_SUCCESS"] == (0, False) and zero["name"] == "ERROR_SUCCESS" and not zero["failure"]
    assert {"NO_ERROR", "STATUS_SUCCESS"} <= {alias["name"] for alias in zero["aliases"]}
    assert one["decimal"] == defines["ERROR_INVALID_FUNCTION"][0] and one["name"] == "ERROR_INVALID_FUNCTION"
    assert one["failure"] and one["observed_by"]  # as a Win32 error, 1 is a failure
    table = run_imgscan("explain", "S_FALSE").stdout
    assert table.startswith("0x00000001  S_FALSE\n") and "hresult" in table.splitlines()[1]
    assert "also known as: ERROR_INVALID_FUNCTION (win32, failure)" in table
    assert "also known as: S_FALSE (hresult, success)" in run_imgscan("explain", "1").stdout
    assert re.search(r"also known as: NO_ERROR, .*S_OK \(hresult\)", run_imgscan("explain", "0x0").stdout)
    assert "also known as" not in run_imgscan("explain", "CERT_E_EXPIRED").stdout  # a value of one name


# Microsoft's words for Windows Update codes, which wuerror.h names and Wine has no text for: "Windows Update error
# codes by component" (learn.microsoft.com/windows/deployment/update/windows-update-error-reference)
WINDOWS_UPDATE_TEXTS = {
    "0x8024402C": "Same as ERROR_WINHTTP_NAME_NOT_RESOLVED - the proxy server or target server name cannot be resolved.",
    "0x80240017": "Operation was not performed because there are no applicable updates.",
    "0x8024200D": "The update handler did not install the update because it needs to be downloaded again.",
    "0x80246007": "The update has not been downloaded.",
    "0x80240016": "Operation tried to install while another installation was in progress or the system was pending a "
    "mandatory restart.",
}


@pytest.mark.parametrize(("code", "text"), WINDOWS_UPDATE_TEXTS.items())
def test_windows_update_codes_say_what_microsoft_says(code, text):
    """A WU_E_* code a host's update failure shows is explained in Microsoft's words, not "(no message text known)"."""
    table = run_imgscan("explain", code).stdout
    assert table.startswith(f"{code}  WU_E_") and f"\n  {text}\n" in table, table


def test_every_windows_update_code_on_microsofts_pages_has_its_text():
    """Microsoft's pages describe some 250 of wuerror.h's 460-odd WU_E_*/WU_S_* codes, each of them now with its text.
    An HTTP one says the status it stands for (the page by component says 500 and 503 for 501 and 504; Microsoft's
    WUA networking page has them right)."""
    run = run_imgscan("explain", "WU_E_PT_HTTP_STATUS_NOT_SUPPORTED", "WU_E_PT_HTTP_STATUS_GATEWAY_TIMEOUT", "-f", "json")
    assert [item["message"][:23] for item in json.loads(run.stdout)] == ["Same as HTTP status 501", "Same as HTTP status 504"]
    wuerror = header_defines("wuerror.h")
    described = [name for name, (value, _) in wuerror.items() if name.startswith(("WU_E_", "WU_S_")) and describe(value).message]
    assert len(described) >= 250
    assert describe(parse("0x8024A10A")).name == "USO_E_SERVICE_SHUTTING_DOWN"  # the common errors page's, in no header


def test_windows_setup_result_codes():
    """0xC1900101 (Setup's generic rollback code) and its family are known, with the name and description of
    Microsoft's "Modern setup errors" table, and an upgrade log's MOSETUP_E_* name finds its code."""
    run = run_imgscan("explain", "0xC1900101", "0xC1900200", "0xC1900201", "0xC1900202", "0xC1900208", "0xc190020e", "-f", "json")
    assert run.code == 0
    items = json.loads(run.stdout)
    assert all(item["known"] and item["failure"] and item["kind"] == "hresult" and item["message"] for item in items)
    assert [item["name"] for item in items] == [
        "MOSETUP_E_SETUP_PLATFORM",
        "MOSETUP_E_COMPAT_SYSREQ_BLOCK",
        "MOSETUP_E_COMPAT_SYSREQ_CANCEL",
        "MOSETUP_E_COMPAT_DOWNLOADREQ_BLOCK",
        "MOSETUP_E_COMPAT_INSTALLREQ_BLOCK",
        "MOSETUP_E_INSTALLDISKSPACE_BLOCK",
    ]
    assert items[0]["message"] == "The Setup Platform has encountered an unspecified error."
    assert items[0]["facility"] == "400"  # a facility winerror.h does not name: its number
    table = run_imgscan("explain", "0xC1900101")
    assert table.code == 0 and table.stdout.startswith("0xC1900101  MOSETUP_E_SETUP_PLATFORM\n")
    assert "·  facility 400  ·" in table.stdout and "unknown" not in table.stdout
    assert parse("mosetup_e_cleanup_pending") == 0xC1900107


def test_an_alias_and_its_code_are_one_code():
    """E_ACCESSDENIED is HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED), STATUS_PENDING is 0x103 (ERROR_NO_MORE_ITEMS): a name
    gives the code its value has, whichever of its names it is, in any case."""
    winerror, ntstatus = header_defines("winerror.h"), header_defines("ntstatus.h")
    assert parse("E_ACCESSDENIED") == winerror["E_ACCESSDENIED"][0] == 0x80070000 | winerror["ERROR_ACCESS_DENIED"][0]
    denied = describe(parse("e_accessdenied"))  # winerror.h's own name leads, the constructed one is its alias
    assert denied.name == "E_ACCESSDENIED" and denied.kind == "hresult"
    assert [a.name for a in denied.aliases] == ["HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED)"]
    assert describe(0x80070643).name == "HRESULT_FROM_WIN32(ERROR_INSTALL_FAILURE)"  # no define of its own
    pending = describe(parse("STATUS_PENDING"))
    assert pending.value == ntstatus["STATUS_PENDING"][0] == winerror["ERROR_NO_MORE_ITEMS"][0]
    assert ("STATUS_PENDING", "ntstatus", False) in pending.aliases and pending.failure


def test_explain_cli():
    run = run_imgscan("explain", "0x800b0101", "2148204801", "CBS_E_SOURCE_MISSING", "--format", "json")
    assert run.code == 0
    first, second, third = json.loads(run.stdout)
    assert first == second
    assert first["name"] == "CERT_E_EXPIRED" and first["facility"] == "CERT" and first["signed"] == -2146762495
    assert "not within its validity period" in first["message"]
    assert first["predicted_by"] == ["catalog-expiry", "qfe-empty"]
    assert set(first["observed_by"]) == {"cbs-log-error", "setup-log-error", "update-event-error"}
    assert third["code"] == "0x800F081F"
    table = run_imgscan("explain", "0x800B010E").stdout
    assert "CERT_E_REVOCATION_FAILURE" in table and "predicted by: wintrust-offline-revocation" in table
    # the log rules read any failure code: named once, not under each code
    two = run_imgscan("explain", "0x800B010E", "0x80070005").stdout
    logs = "cbs-log-error, setup-log-error, update-event-error"
    assert two.count(logs) == 1 and two.rstrip().endswith(f"a log that shows one of these failure codes is reported by: {logs}")
    assert "reported by" not in run_imgscan("explain", "S_OK").stdout  # a success code is no log failure
    bad = run_imgscan("explain", "NO_SUCH_NAME")
    assert bad.code == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1 and not bad.stdout


def test_explain_still_explains_the_good_codes_beside_a_bad_one():
    run = run_imgscan("explain", "0x800b0101", "garbage", "0x800B010E", "nonsense", "--format", "json")
    assert run.code == 2 and "Traceback" not in run.stderr
    assert [json.loads(run.stdout)[i]["name"] for i in (0, 1)] == ["CERT_E_EXPIRED", "CERT_E_REVOCATION_FAILURE"]
    errors = run.stderr.splitlines()
    assert len(errors) == 2 and "'garbage'" in errors[0] and "'nonsense'" in errors[1]
    assert all(line.startswith("imgscan: error: ") for line in errors)
    for wide in ("0x1234567890", "4294967296", "-2147483649"):
        with pytest.raises(ValueError, match="does not fit in 32 bits"):
            parse(wide)


def test_every_code_a_rule_cites_is_named():
    """A code a finding predicts must explain itself: CBS_E_* and SL_E_* included (0xC004F050 is an
    HRESULT of the licensing service, not an NTSTATUS)."""
    from imgscan.loader import load_checks

    cited = {code for check in load_checks(None).checks for rule in check.rules for code in rule.predicts}
    assert {"0x800F0806", "0xC004F050", "0x80092004"} <= cited
    for code in sorted(cited):
        found = describe(parse(code))
        assert found.name and found.message, f"{code} has no name or message"
    assert describe(parse("0xC004F050")).kind == "hresult"
    assert describe(parse("0x800F0823")).name == "CBS_E_NEW_SERVICING_STACK_REQUIRED"


@pytest.mark.parametrize("codes", [["0x800B010B"], ["0x800B0101", "0x12345678"]], ids=["observed", "unknown-last"])
def test_the_table_ends_its_last_line(codes):
    """The shell's prompt starts on a line of its own: the table ends with one newline, never run on or doubled."""
    run = run_imgscan("explain", *codes)
    assert run.stdout.endswith("\n") and not run.stdout.endswith("\n\n\n"), repr(run.stdout[-80:])
