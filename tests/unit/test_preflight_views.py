"""The preflight views on a report made by hand: SARIF fingerprints stay distinct when one update gives the
same reason twice, every reason code the engine can give has a rule title, and the JUnit counts agree."""

from __future__ import annotations

import ast
import json
from typing import Any

from imgscan.preflight.rules import TITLES
from imgscan.views.preflight import preflight_table
from imgscan.views.preflight_junit import to_preflight_junit
from imgscan.views.preflight_sarif import to_preflight_sarif
from tests.conftest import REPO


def reason(code: str, starts: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "title": TITLES[code],
        "message": f"{code} message",
        "hresult": "0x800B0101",
        "starts": starts,
        "fix": "fix it",
        "evidence": [{"path": "u.msu!update.cat"}],
        "references": ["https://example.invalid/kb"],
    }


def update(file: str, status: str, reasons: list[dict[str, Any]], later: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    later = later or []
    return {
        "file": file,
        "sha256": "0" * 64,
        "kb": "KB1",
        "identity": f"Package_for_{file}~31bf3856ad364e35~amd64~~6.1.1.0",
        "status": status,
        "summary": f"{status} summary",
        "hresult": reasons[0]["hresult"] if reasons else None,
        "fails_from": later[0]["starts"] if later else None,
        "release_type": "Update",
        "restart": None,
        "servicing_stack_update": False,
        "payload_bytes": 1,
        "registers": [],
        "reasons": reasons,
        "later": later,
        "notes": [],
    }


REPORT: dict[str, Any] = {
    "imgscan": "0",
    "image": {"path": "image.vhdx", "sha256": "1" * 64, "format": "vhdx"},
    "as_of": "2020-03-01",
    "horizon_days": 365,
    "host": {"name": "REF", "os": None, "utc_offset_minutes": None},
    "updates": [
        update("a.msu", "will-not-install", [reason("catalog-expired", "2019-01-01"), reason("catalog-expired", "2019-06-01")]),
        update("b.msu", "installs", [], [reason("catalog-expired", "2020-12-31")]),
        update("c.msu", "superseded", [reason("superseded")]),
    ],
    "errors": [{"path": "d.msu", "message": "not a readable cabinet"}],
    "unreadable_updates": 1,
}


def test_the_same_reason_twice_on_one_update_gets_two_fingerprints():
    results = json.loads(to_preflight_sarif(REPORT))["runs"][0]["results"]
    fingerprints = [r["partialFingerprints"]["imgscan-preflight/v1"] for r in results]
    assert fingerprints == [
        "package_for_a.msu~31bf3856ad364e35~amd64~~6.1.1.0|catalog-expired",
        "package_for_a.msu~31bf3856ad364e35~amd64~~6.1.1.0|catalog-expired#2",
        "package_for_b.msu~31bf3856ad364e35~amd64~~6.1.1.0|catalog-expired",
        "package_for_c.msu~31bf3856ad364e35~amd64~~6.1.1.0|superseded",
    ]
    assert [r["level"] for r in results] == ["error", "error", "warning", "note"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == ["a.msu"] * 2 + [
        "b.msu",
        "c.msu",
    ]


def test_junit_counts_agree_with_the_cases():
    xml = to_preflight_junit(REPORT)
    assert (
        '<testsuite name="imgscan preflight image.vhdx" timestamp="2020-03-01T00:00:00" '
        'tests="4" failures="1" errors="1" skipped="1">' in xml
    )
    assert '<testcase classname="imgscan.preflight.REF" name="- d.msu">' in xml


def test_every_reason_code_the_engine_gives_has_a_rule_title():
    sources = [ast.parse(f.read_text(encoding="utf-8")) for f in sorted((REPO / "imgscan" / "preflight").glob("*.py"))]
    codes = {
        call.args[0].value
        for source in sources
        for call in ast.walk(source)
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Reason" and isinstance(call.args[0], ast.Constant)
    }
    assert len(codes) >= 15 and codes == set(TITLES)


FACTS = {"free_bytes": None, "architecture": "amd64", "sha2_support": None, "servicing_stack_updates": [], "pending": []}


def test_an_update_without_a_kb_is_named_by_its_file_alone():
    """`alt.msu : will-not-install` had a stray space where the KB goes."""
    report = json.loads(json.dumps(REPORT)) | {"facts": FACTS, "summary": {"installs": 1}}
    report["order"] = {
        "install": [{"file": "dir/b.msu", "kb": None, "after": []}, {"file": "c.msu", "kb": "KB3", "after": ["dir/b.msu"]}],
        "cannot_install": [{"file": "dir/alt.msu", "kb": None, "status": "will-not-install", "hresult": None, "reasons": ["x"]}],
    }
    text = preflight_table(report)
    assert "Install order:\n  1. b.msu\n  2. c.msu KB3  (after b.msu)\n" in text
    assert "Cannot install in any order:\n  alt.msu: will-not-install (x)\n" in text
