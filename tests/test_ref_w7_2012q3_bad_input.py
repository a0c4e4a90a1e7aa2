"""Issue 3, "bad input": damaged catalogs and packages are errors or *-unreadable findings, never crashes."""

from __future__ import annotations

import pytest

from tests.conftest import run_imgscan

KB2506212 = "Package_for_KB2506212~31bf3856ad364e35~amd64~~6.1.1.0"
KB2705219 = "Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"


def damage(field: str, value: object, identity: str = KB2506212):
    def change(scenario):
        (package,) = [p for p in scenario.packages if p.identity == identity]
        setattr(package, field, value)

    return change


def scan(variant, change):
    run = run_imgscan("scan", variant("ref-w7-2012q3", change, "dir"), "--format", "json", "--as-of", "2013-07-01")
    assert "Traceback" not in run.stderr
    assert run.code == 1  # the KB2705219 findings are still reported and gate
    report = run.report
    assert any(f["rule"] == "qfe-empty" for f in report["findings"])
    assert any(f["rule"] == "catalog-expiry" and KB2705219 in f["evidence"][0]["path"] for f in report["findings"])
    return report


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("truncate", "malformed ASN.1"),
        ("text", "not DER-encoded PKCS#7"),
        ("garbage-date", "malformed ASN.1"),
    ],
)
def test_unreadable_package_catalog_is_a_high_finding(variant, kind, problem):
    report = scan(variant, damage("catalog_damage", kind))
    (finding,) = [f for f in report["findings"] if f["rule"] == "catalog-unreadable"]
    # the package's own catalog: CBS cannot verify the package (a stray unreadable .cat stays low)
    assert finding["severity"] == "high" and f"CBS cannot verify {KB2506212} (KB2506212" in finding["message"]
    # the servicing\Packages catalog and its winsxs and CatRoot copies: one finding, three files
    paths = [e["path"] for e in finding["evidence"]]
    assert len(paths) == 3 and all(e["sha256"] == finding["evidence"][0]["sha256"] for e in finding["evidence"])
    assert any(p.endswith(f"Packages\\{KB2506212}.cat") for p in paths)
    assert problem in finding["message"]
    # the package whose catalog cannot be read is listed with that status, not dropped
    packages = {p["identity"]: p for p in report["inventory"]["packages"]}
    assert packages[KB2506212]["catalog_status"] == "unreadable"


def test_catalog_with_no_members_does_not_cover_its_manifest(variant):
    report = scan(variant, damage("catalog_damage", "no-members"))
    catalogs = {c["path"].rsplit("\\", 1)[-1]: c for c in report["inventory"]["catalogs"]}
    assert catalogs[f"{KB2506212}.cat"]["members"] == 0
    # said once, as the finding of the installed package (not also as an `errors` entry and a warning)
    (finding,) = [f for f in report["findings"] if f["rule"] == "component-store-inconsistent"]
    assert [e["checksur"] for e in finding["evidence"]] == ["CBS MUM Corrupt"] and KB2506212 in finding["message"]
    assert not [e for e in report["errors"] if KB2506212 in e["path"]]


def test_manifest_that_is_not_xml(variant):
    report = scan(variant, damage("mum_damage", "not-xml"))
    (error,) = [e for e in report["errors"] if e["path"].endswith(f"{KB2506212}.mum")]
    assert ".mum is not XML" in error["message"]


def test_registered_package_without_files(variant):
    report = scan(variant, damage("files", False))
    (finding,) = [f for f in report["findings"] if f["rule"] == "component-store-inconsistent"]
    assert [e["checksur"] for e in finding["evidence"]] == ["CBS MUM Missing", "CBS Catalog Missing"]
    assert not [e for e in report["errors"] if KB2506212 in e["path"]]  # the finding says it, once
    packages = {p["identity"]: p for p in report["inventory"]["packages"]}
    assert packages[KB2506212]["catalog_status"] == "no catalog"


def test_root_missing_from_image_is_reported_not_guessed(variant):
    def no_root(scenario):
        scenario.root_in_image = False

    run = run_imgscan("scan", variant("healthy", no_root, "dir"), "--format", "json", "--as-of", "2013-07-01")
    assert run.code == 1
    findings = [f for f in run.report["findings"] if f["rule"] == "catalog-untrusted"]
    assert findings and all(f["hresult"] == "0x800B0109" for f in findings)
    assert "no trusted root for" in findings[0]["message"]
    assert {c["status"] for c in run.report["inventory"]["catalogs"]} == {"untrusted"}
    assert any(f["rule"] == "qfe-empty" and f["severity"] == "critical" for f in run.report["findings"])
