"""The servicing-readiness rules on built disk images, with what they read checked by independent
readers (hivexget, reglookup) on the same hives."""

from __future__ import annotations

import subprocess

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan


def _reglookup(*args: str) -> str:
    return subprocess.run(["reglookup", *args], capture_output=True, text=True, check=True).stdout


def _hivexget(hive, key: str, value: str) -> str:
    return subprocess.run(["hivexget", str(hive), key, value], capture_output=True, text=True, check=True).stdout.strip()


def test_pending_servicing_on_a_vhdx(tmp_path):
    images = build(load("servicing-pending"), tmp_path, ("vhdx", "dir"))
    config = images["dir"] / "Windows" / "System32" / "config"
    listing = _reglookup("-p", "/ControlSet001/Control/Session Manager", str(config / "SYSTEM"))
    assert "/PendingFileRenameOperations,MULTI_SZ," in listing
    cbs = _reglookup("-t", "KEY", "-p", "/Microsoft/Windows/CurrentVersion/Component Based Servicing", str(config / "SOFTWARE"))
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


def test_windows7_image_without_sha2_support_on_a_vhdx(tmp_path):
    images = build(load("sha2-missing"), tmp_path, ("vhdx", "dir"))
    software = images["dir"] / "Windows" / "System32" / "config" / "SOFTWARE"
    assert _hivexget(software, r"Microsoft\Windows NT\CurrentVersion", "CurrentBuildNumber") == "7601"
    packages = _reglookup(
        "-t", "KEY", "-p", "/Microsoft/Windows/CurrentVersion/Component Based Servicing/Packages", str(software)
    )
    assert "Package_for_KB4490628~" in packages and "KB4474419" not in packages
    early = run_imgscan("scan", images["vhdx"], "--as-of", "2019-06-01", "--horizon", "30", "--format", "json").report
    assert not [f for f in early["findings"] if f["rule"] == "sha2-support-missing"]
    late = run_imgscan("scan", images["vhdx"], "--as-of", "2019-09-01", "--format", "json").report
    (found,) = [f for f in late["findings"] if f["rule"] == "sha2-support-missing"]
    assert (found["severity"], found["starts"], found["hresult"]) == ("high", "2019-08-13", "0x80092004")
    listing = run_imgscan("packages", images["vhdx"], "--as-of", "2019-09-01").stdout
    assert "Servicing stack: KB4490628 (released 2019-03-12)" in listing
    assert "KB4490628 (SSU)" in listing


def test_installed_package_without_its_catalog_on_a_vhdx(tmp_path):
    images = build(load("component-store"), tmp_path, ("vhdx", "dir"))
    identity = "Package_for_KB2813347~31bf3856ad364e35~amd64~~6.1.1.0"
    software = images["dir"] / "Windows" / "System32" / "config" / "SOFTWARE"
    key = rf"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\{identity}"
    assert _hivexget(software, key, "CurrentState") == str(0x70)
    servicing = images["dir"] / "Windows" / "servicing" / "Packages"
    assert (servicing / f"{identity}.mum").is_file() and not (servicing / f"{identity}.cat").exists()
    report = run_imgscan("scan", images["vhdx"], "--format", "json").report
    (found,) = [f for f in report["findings"] if f["rule"] == "component-store-inconsistent"]
    assert found["severity"] == "high" and [e["checksur"] for e in found["evidence"]] == ["CBS Catalog Missing"]
