"""component-store-inconsistent, in-process: missing manifests or catalogs of installed packages, and a
catalog that does not list its package's manifest."""

from __future__ import annotations

from imgscan.plugins.component_store import ComponentStore

from sample_images.scenario import load, volume_files
from tests.unit.helpers import at, kinds_of, run_check

KB2506212 = "Package_for_KB2506212~31bf3856ad364e35~amd64~~6.1.1.0"


def _store(scenario, files: dict | None = None) -> list[dict]:
    """component-store-inconsistent alone on the scenario's kinds, its findings as the report gives them."""
    kinds = kinds_of(ComponentStore, files if files is not None else dict(volume_files(scenario)))
    return [f.to_dict() for f in run_check(ComponentStore, at("2012-12-01"), **kinds).stamped]


def test_missing_catalog_and_manifest():
    scenario = load("ref-w7-2012q3")
    files = dict(volume_files(scenario))
    del files[f"Windows/servicing/Packages/{KB2506212}.cat"]
    (found,) = _store(scenario, files)
    assert found["severity"] == "high" and [e["checksur"] for e in found["evidence"]] == ["CBS Catalog Missing"]
    files = dict(volume_files(scenario))
    del files[f"Windows/servicing/Packages/{KB2506212}.mum"]
    (found,) = _store(scenario, files)
    assert [e["checksur"] for e in found["evidence"]] == ["CBS MUM Missing"]


def test_catalog_without_the_manifest_among_its_members():
    scenario = load("ref-w7-2012q3")
    next(p for p in scenario.packages if p.identity == KB2506212).catalog_damage = "no-members"
    (found,) = _store(scenario)
    assert [e["checksur"] for e in found["evidence"]] == ["CBS MUM Corrupt"]
    assert found["hresult"] == "0x800F081F"


def test_consistent_store_has_no_finding():
    assert not _store(load("ref-w7-2012q3"))
    assert not _store(load("healthy"))
