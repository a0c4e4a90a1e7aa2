"""Issue 5: `imgscan explain` answers for every code in ../shared/domain.md and for winerror.h codes."""

from __future__ import annotations

import json
import random
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


def winerror_defines() -> dict[int, set[str]]:
    values: dict[int, set[str]] = {}
    pattern = re.compile(r"^#define\s+([A-Z][A-Z0-9_]+)\s+_HRESULT_TYPEDEF_\((0x[0-9A-Fa-f]+)L?\)")
    for line in WINERROR.read_text(encoding="latin-1").splitlines():
        if match := pattern.match(line.strip()):
            values.setdefault(int(match.group(2), 16) & 0xFFFFFFFF, set()).add(match.group(1))
    return values


def test_random_sample_of_winerror_h():
    defines = winerror_defines()
    assert len(defines) > 1000
    for value in random.Random(20261121).sample(sorted(defines), 60):
        assert describe(value).name in defines[value], hex(value)


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
    bad = run_imgscan("explain", "NO_SUCH_NAME")
    assert bad.code == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1


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
