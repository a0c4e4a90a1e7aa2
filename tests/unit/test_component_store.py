"""component-store-inconsistent, in-process: missing manifests or catalogs of installed packages, and a
catalog that does not list its package's manifest."""

from __future__ import annotations

from datetime import date

from sample_images.scenario import load, volume_files
from tests.unit.memory import memory_scan

KB2506212 = "Package_for_KB2506212~31bf3856ad364e35~amd64~~6.1.1.0"


def _store(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == "component-store-inconsistent"]


def test_missing_catalog_and_manifest():
    scenario = load("seed001")
    files = dict(volume_files(scenario))
    del files[f"Windows/servicing/Packages/{KB2506212}.cat"]
    (found,) = _store(memory_scan(scenario, date(2012, 12, 1), files).report)
    assert found["severity"] == "high" and [e["checksur"] for e in found["evidence"]] == ["CBS Catalog Missing"]
    files = dict(volume_files(scenario))
    del files[f"Windows/servicing/Packages/{KB2506212}.mum"]
    (found,) = _store(memory_scan(scenario, date(2012, 12, 1), files).report)
    assert [e["checksur"] for e in found["evidence"]] == ["CBS MUM Missing"]


def test_catalog_without_the_manifest_among_its_members():
    scenario = load("seed001")
    next(p for p in scenario.packages if p.identity == KB2506212).catalog_damage = "no-members"
    (found,) = _store(memory_scan(scenario, date(2012, 12, 1)).report)
    assert [e["checksur"] for e in found["evidence"]] == ["CBS MUM Corrupt"]
    assert found["hresult"] == "0x800F081F"


def test_consistent_store_has_no_finding():
    assert not _store(memory_scan(load("seed001"), date(2012, 12, 1)).report)
    assert not _store(memory_scan(load("healthy"), date(2012, 12, 1)).report)
