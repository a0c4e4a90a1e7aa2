"""servicing-pending, update-service-disabled and update-source-policy, in-process on the scenarios."""

from __future__ import annotations

import pytest
from imgscan.plugins.servicing_pending import ServicingPending
from imgscan.plugins.update_services import UpdateServices
from imgscan.plugins.update_source import UpdateSource

from sample_images.scenario import load, volume_files
from tests.unit.helpers import at, findings_of


def _findings(scenario) -> dict[str, dict]:
    """The three checks alone on the scenario's kinds, their findings by rule as a report gives them."""
    found = findings_of((ServicingPending, UpdateServices, UpdateSource), dict(volume_files(scenario)), at("2013-07-01"))
    return {f["rule"]: f for f in found}


def test_servicing_pending_names_every_marker():
    found = _findings(load("servicing-pending"))["servicing-pending"]
    assert found["severity"] == "high" and found["hresult"] == "0x800F0806"
    paths = {e["path"] for e in found["evidence"]}
    assert paths == {
        "Windows\\WinSxS\\pending.xml",
        "SYSTEM\\ControlSet001\\Control\\Session Manager",
        "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending",
    }


@pytest.mark.parametrize("marker", ["pending.xml", "renames", "RebootPending", "PackagesPending", "SessionsPending"])
def test_each_pending_marker_alone_fires(marker):
    scenario = load("healthy")
    scenario.pending = [marker]
    assert "servicing-pending" in _findings(scenario)


def test_disabled_update_service_and_wsus_policy():
    found = _findings(load("updates-disabled"))
    disabled = found["update-service-disabled"]
    assert disabled["severity"] == "high" and disabled["hresult"] == "0x80070422"
    assert disabled["evidence"] == [
        {"path": "SYSTEM\\ControlSet001\\Services\\wuauserv", "value": "Start", "data": 4, "service": "Windows Update"}
    ]
    source = found["update-source-policy"]
    assert source["severity"] == "info" and "http://wsus.example.test:8530" in source["message"]


def test_policy_disabling_access_and_a_wsus_policy_without_server():
    scenario = load("healthy")
    scenario.wu_policy = {"DisableWindowsUpdateAccess": 1, "UseWUServer": 1}
    found = _findings(scenario)
    assert found["update-service-disabled"]["hresult"] == "0x8024002E"
    assert found["update-source-policy"]["severity"] == "medium"
    scenario.wu_policy = {"UseWUServer": 1, "WUServer": "wsus.example.test"}  # no scheme: not a URL
    assert _findings(scenario)["update-source-policy"]["severity"] == "medium"


def test_healthy_control_has_none_of_them():
    assert not {"servicing-pending", "update-service-disabled", "update-source-policy"} & set(_findings(load("healthy")))
