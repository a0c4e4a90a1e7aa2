"""sha2-support-missing and esu-prerequisites-missing, in-process on the scenarios: the dates and
severities the issue fixes, how an SSU is recognised, and the healthy control."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from imgscan.plugins.esu_prerequisites import EsuPrerequisites
from imgscan.plugins.sha2_support import Sha2Support

from imgscan.servicing import _manifest_facts
from sample_images.scenario import PackageSpec, load, volume_files
from tests.conftest import REALDATA
from tests.unit.helpers import at, findings_of

REAL_CATALOGS = REALDATA / "catalogs"


def _found(scenario, as_of: date, horizon_days: int = 365) -> dict[str, dict]:
    """The two checks alone on the scenario's kinds, their findings by rule as a report gives them."""
    context = at(as_of.isoformat(), horizon_days=horizon_days)
    return {f["rule"]: f for f in findings_of((Sha2Support, EsuPrerequisites), dict(volume_files(scenario)), context)}


def test_sha2_support_missing_follows_the_day_sha2_only_updates_start():
    scenario = load("sha2-missing")
    assert _found(scenario, date(2019, 6, 1), horizon_days=30) == {}
    soon = _found(scenario, date(2019, 6, 1))["sha2-support-missing"]
    assert (soon["severity"], soon["starts"], soon["hresult"]) == ("medium", "2019-08-13", "0x80092004")
    now = _found(scenario, date(2019, 9, 1))["sha2-support-missing"]
    assert now["severity"] == "high" and "KB4474419" in now["message"]
    assert now["evidence"][0]["installed_ssus"] == ["KB4490628"]


def test_an_image_without_any_sha2_era_ssu_names_it():
    scenario = load("sha2-missing")
    scenario.packages = [replace(p, servicing_stack=False, kb="KB4099950") for p in scenario.packages]
    found = _found(scenario, date(2019, 9, 1))["sha2-support-missing"]
    assert "KB4490628 or newer" in found["message"] and found["evidence"][0]["installed_ssus"] == []


def test_esu_prerequisites_are_dated_by_the_end_of_support():
    """Like the SHA-2 deadline, the end of extended support is a day: a scan whose horizon reaches it predicts
    the failure (soon, low), one that does not leaves it for later (a scan drops it with a warning)."""
    scenario = load("sha2-missing")
    assert "esu-prerequisites-missing" not in _found(scenario, date(2020, 1, 13), horizon_days=0)
    soon = _found(scenario, date(2019, 6, 1))["esu-prerequisites-missing"]
    assert (soon["phase"], soon["severity"], soon["starts"]) == ("soon", "low", "2020-01-14")
    found = _found(scenario, date(2020, 1, 14))["esu-prerequisites-missing"]
    assert found["phase"] == "failing"
    assert (found["severity"], found["hresult"]) == ("medium", "0xC004F050")
    assert "0x80096010" in found["message"]  # SHA-2 support is missing too


def _with(scenario, kb: str, servicing_stack: bool = False) -> None:
    signed = scenario.packages[0].signed
    scenario.packages.append(
        PackageSpec(
            identity=f"Package_for_{kb}~31bf3856ad364e35~amd64~~6.1.1.0",
            kb=kb,
            signer=scenario.packages[0].signer,
            signed=signed,
            installed=scenario.packages[0].installed,
            servicing_stack=servicing_stack,
        )
    )


def test_licensing_package_present_but_sha2_missing_gives_bad_digest():
    scenario = load("sha2-missing")
    _with(scenario, "KB4575903")  # the replacement of KB4538483
    found = _found(scenario, date(2021, 1, 1))["esu-prerequisites-missing"]
    assert found["hresult"] == "0x80096010" and "KB4538483" not in found["message"]


def test_an_ssu_after_the_data_file_is_recognised_by_its_manifest():
    scenario = load("sha2-missing")
    scenario.packages = [replace(p, servicing_stack=False, kb="KB4099950") for p in scenario.packages]
    _with(scenario, "KB4474419")
    _with(scenario, "KB5017397", servicing_stack=True)  # not in the list: recognised by what it updates
    assert "sha2-support-missing" not in _found(scenario, date(2022, 10, 1))
    _with(scenario, "KB2999999", servicing_stack=True)  # an SSU from before March 2019 alone would not do
    scenario.packages = [p for p in scenario.packages if p.kb != "KB5017397"]
    assert "sha2-support-missing" in _found(scenario, date(2022, 10, 1))


def test_only_windows7_sp1_is_judged():
    scenario = load("sha2-missing")
    scenario.build = "9600"
    assert _found(scenario, date(2021, 1, 1)) == {}


@pytest.mark.parametrize("as_of", [date(2013, 7, 1), date(2019, 9, 1), date(2026, 12, 2)])
def test_healthy_control_has_every_prerequisite(as_of):
    assert _found(load("healthy"), as_of) == {}


@pytest.mark.realdata
def test_real_manifests_need_but_do_not_update_the_servicing_stack():
    """Every real KB4538483 manifest names the servicing stack in installerAssembly (the version it
    needs); none of them is a servicing stack update."""
    manifests = sorted(REAL_CATALOGS.glob("kb4538483_*.mum"))
    assert len(manifests) == 8
    for path in manifests:
        data = path.read_bytes()
        assert b'installerAssembly name="Microsoft-Windows-ServicingStack"' in data
        assert _manifest_facts(data) == ("KB4538483", "Security Update", None)  # installs no servicing stack version
