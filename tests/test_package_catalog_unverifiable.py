"""A package whose own catalog CBS cannot verify at all: not a readable catalog, or carrying no signature.

CBS opens servicing\\Packages\\<package>.cat to verify the package; with that file damaged or unsigned the
package cannot be verified, its updates cannot be removed or serviced, and (as with an expired catalog)
Win32_QuickFixEngineering cannot open it. A newcomer replaced KB4474419's catalog in the healthy sample with a
real never-signed catalog (../shared/realdata) and with damaged bytes: the scan said "clean" or only "low".
"""

from __future__ import annotations

import shutil

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REALDATA, run_imgscan
from tests.realdata import needs_realdata

PACKAGE = "Package_for_KB4474419~31bf3856ad364e35~amd64~~6.1.2.2"
UNSIGNED = REALDATA / "catalogs" / "tidepool_tidepoolhid_UNSIGNED.cat"  # a real makecat output never signed


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    return build(load("healthy"), tmp_path_factory.mktemp("healthy"), ("dir",))["dir"]


def _with_catalog(healthy, tmp_path, data: bytes):
    tree = tmp_path / "tree"
    shutil.copytree(healthy, tree, symlinks=True)
    (tree / "Windows" / "servicing" / "Packages" / f"{PACKAGE}.cat").write_bytes(data)
    return run_imgscan("scan", tree, "--as-of", "2020-06-01", "--format", "json")


def _of(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def test_the_healthy_sample_is_clean(healthy):
    assert run_imgscan("scan", healthy, "--as-of", "2020-06-01", "--format", "json").code == 0


@needs_realdata
def test_an_unsigned_own_catalog_is_untrusted_and_empties_wmic_qfe(healthy, tmp_path):
    run = _with_catalog(healthy, tmp_path, UNSIGNED.read_bytes())
    assert run.code == 1
    [untrusted] = _of(run.report, "catalog-untrusted")
    assert PACKAGE in untrusted["message"] and untrusted["hresult"] == "0x800B0100" and untrusted["severity"] == "high"
    [qfe] = _of(run.report, "qfe-empty")
    assert qfe["caused_by"] == untrusted["id"] and "KB4474419" in qfe["message"]
    assert untrusted["gating_severity"] == "critical"  # wmic qfe lists nothing from the first host's first day


@pytest.mark.parametrize(
    "damage",
    [b"", b"\x30\x82\x10\x00" + bytes(64), b"not a catalog at all"],
    ids=["empty", "truncated DER", "text"],
)
def test_an_unreadable_own_catalog_is_high_and_empties_wmic_qfe(healthy, tmp_path, damage):
    run = _with_catalog(healthy, tmp_path, damage)
    assert run.code == 1
    [unreadable] = _of(run.report, "catalog-unreadable")
    assert unreadable["severity"] == "high" and f"CBS cannot verify {PACKAGE} (KB4474419" in unreadable["message"]
    [qfe] = _of(run.report, "qfe-empty")
    assert qfe["caused_by"] == unreadable["id"]


def test_an_unreadable_catalog_no_package_owns_stays_low(healthy, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(healthy, tree, symlinks=True)
    catroot = tree / "Windows" / "System32" / "CatRoot" / "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
    catroot.mkdir(parents=True, exist_ok=True)
    (catroot / "oem99.cat").write_bytes(b"not a catalog at all")
    run = run_imgscan("scan", tree, "--as-of", "2020-06-01", "--format", "json")
    assert run.code == 0
    [unreadable] = _of(run.report, "catalog-unreadable")
    assert unreadable["severity"] == "low" and "CBS cannot verify" not in unreadable["message"]
    assert not _of(run.report, "qfe-empty")
