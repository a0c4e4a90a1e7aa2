"""The servicing-readiness rules on built disk images, with what they read checked by independent
readers (hivexget, reglookup) on the same hives."""

from __future__ import annotations

import subprocess

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan


def _hivexget(hive, key: str, value: str) -> str:
    return subprocess.run(["hivexget", str(hive), key, value], capture_output=True, text=True, check=True).stdout.strip()


def test_pending_servicing_on_a_vhdx(tmp_path):
    images = build(load("servicing-pending"), tmp_path, ("vhdx", "dir"))
    config = images["dir"] / "Windows" / "System32" / "config"
    listing = subprocess.run(
        ["reglookup", "-p", "/ControlSet001/Control/Session Manager", str(config / "SYSTEM")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "/PendingFileRenameOperations,MULTI_SZ," in listing
    cbs = subprocess.run(
        ["reglookup", "-t", "KEY", "-p", "/Microsoft/Windows/CurrentVersion/Component Based Servicing", str(config / "SOFTWARE")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "/Component Based Servicing/RebootPending," in cbs
    report = run_imgscan("scan", images["vhdx"], "--as-of", "2013-07-01", "--format", "json").report
    (found,) = [f for f in report["findings"] if f["rule"] == "servicing-pending"]
    assert found["severity"] == "high" and len(found["evidence"]) == 3


def test_disabled_update_service_and_wsus_on_a_vhdx(tmp_path):
    images = build(load("updates-disabled"), tmp_path, ("vhdx", "dir"))
    config = images["dir"] / "Windows" / "System32" / "config"
    assert _hivexget(config / "SYSTEM", r"ControlSet001\Services\wuauserv", "Start") == "4"
    assert _hivexget(config / "SOFTWARE", r"Policies\Microsoft\Windows\WindowsUpdate", "WUServer") == (
        "http://wsus.example.test:8530"
    )
    report = run_imgscan("scan", images["vhdx"], "--as-of", "2013-07-01", "--format", "json").report
    rules = {f["rule"]: f for f in report["findings"]}
    assert rules["update-service-disabled"]["severity"] == "high"
    assert rules["update-source-policy"]["severity"] == "info"
    services = {e["service"]: e["start"] for e in report["inventory"]["update_services"]}
    assert services == {"wuauserv": 4, "BITS": 3, "TrustedInstaller": 3}
