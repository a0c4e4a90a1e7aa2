"""`imgscan packages` lists what `wmic qfe` lists on a real Windows 7 SP1 image: the KB updates, not
Windows' own foundation, feature, edition and language packages that every such image registers.

The image's registry is read back with reglookup and its catalogs with osslsigncode (independent
readers); the expected HotFixIDs come from the scenario files, not from imgscan.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan

PACKAGES_KEY = "/Microsoft/Windows/CurrentVersion/Component Based Servicing/Packages"
# Windows' own packages of a Windows 7 SP1 Professional image (sample_images/bases/windows7-sp1.toml)
OWN = {
    "Microsoft-Windows-Foundation-Package~31bf3856ad364e35~amd64~~6.1.7601.17514": "Foundation",
    "Microsoft-Windows-Client-Features-Package~31bf3856ad364e35~amd64~~6.1.7601.17514": "Feature Pack",
    "Microsoft-Windows-ProfessionalEdition~31bf3856ad364e35~amd64~~6.1.7601.17514": "Product",
    "Microsoft-Windows-Client-LanguagePack-Package~31bf3856ad364e35~amd64~en-US~6.1.7601.17514": "Language Pack",
}


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    scenario = load("healthy")
    return scenario, build(scenario, tmp_path_factory.mktemp("qfe"), ("vhdx", "dir"))


def _registered(software) -> dict[str, dict[str, str]]:
    """{package: {value: data}} of the CBS package registrations, as reglookup reads them."""
    listing = subprocess.run(["reglookup", "-p", PACKAGES_KEY, str(software)], capture_output=True, text=True, check=True)
    packages: dict[str, dict[str, str]] = {}
    for line in listing.stdout.splitlines():
        path, kind, data = line.split(",")[:3]
        parts = path.removeprefix(PACKAGES_KEY + "/").split("/")
        if len(parts) == 2 and kind != "KEY":
            packages.setdefault(parts[0], {})[parts[1]] = data
    return packages


def _expected_hotfix_ids(scenario) -> set[str]:
    """The KBs of the scenario's updates, and of the update its Windows 7 SP1 media brings."""
    return {p.kb for p in [*scenario.base_packages, *scenario.packages] if p.kb and p.state == 0x70}


def test_the_image_registers_windows_own_packages_as_a_real_one(healthy, tmp_path):
    scenario, images = healthy
    software = images["dir"] / "Windows" / "System32" / "config" / "SOFTWARE"
    registered = _registered(software)
    servicing = images["dir"] / "Windows" / "servicing" / "Packages"
    root = tmp_path / "root.pem"
    root.write_bytes(_root_pem(software))
    for identity, release_type in OWN.items():
        values = registered[identity]
        assert values["CurrentState"] == "0x00000070"
        assert values["InstallName"] == f"{identity}.mum" and values["InstallUser"] == "S-1-5-18"
        assert int(values["InstallTimeHigh"], 16) and values["InstallLocation"]
        mum, cat = (servicing / f"{identity}.mum").read_bytes(), servicing / f"{identity}.cat"
        assert f'releaseType="{release_type}"'.encode() in mum
        assert b'identifier="KB' not in mum  # they name themselves, not a KB
        assert hashlib.sha256(mum).digest() in cat.read_bytes()  # the catalog lists the manifest
        verify = subprocess.run(
            ["osslsigncode", "verify", "-in", str(cat), "-CAfile", str(root), "-TSA-CAfile", str(root)],
            capture_output=True,
            text=True,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr  # timestamped: valid after the signer expired


def _root_pem(software) -> bytes:
    """The test root certificate from the image's ROOT store (the Blob's property 0x20), read with hivexsh/hivexget."""
    key = r"Microsoft\SystemCertificates\ROOT\Certificates"
    listing = subprocess.run(["hivexsh", str(software)], input=f"cd {key}\nls\n", capture_output=True, text=True, check=True)
    (thumbprint,) = listing.stdout.split()
    blob = subprocess.run(["hivexget", str(software), f"{key}\\{thumbprint}", "Blob"], capture_output=True, check=True).stdout
    offset = 0
    while offset < len(blob):  # properties: id, reserved, length (little-endian DWORDs), data
        prop, _, length = (int.from_bytes(blob[offset + i : offset + i + 4], "little") for i in (0, 4, 8))
        if prop == 0x20:
            return ssl.DER_cert_to_PEM_cert(blob[offset + 12 : offset + 12 + length]).encode()
        offset += 12 + length
    raise AssertionError("no certificate in the ROOT store's Blob")


def test_packages_lists_the_updates_wmic_qfe_lists(healthy):
    scenario, images = healthy
    expected = _expected_hotfix_ids(scenario)
    assert "KB976902" in expected and len(expected) >= 4
    software = images["dir"] / "Windows" / "System32" / "config" / "SOFTWARE"
    registered = _registered(software)

    data = run_imgscan("packages", images["vhdx"], "--format", "json", "--as-of", "2013-07-01").report
    assert {row["HotFixID"] for row in data["qfe"]} == expected
    assert len(data["qfe"]) == len(expected)  # one row per KB, however many packages it has
    assert {row["InstalledBy"] for row in data["qfe"]} == {"NT AUTHORITY\\SYSTEM"}
    kb976902 = next(row for row in data["qfe"] if row["HotFixID"] == "KB976902")
    assert (kb976902["Description"], kb976902["InstalledOn"]) == ("Update", "11/21/2010")
    # the packages section still lists every registered package, Windows' own ones too, with its state
    packages = {p["identity"]: p for p in data["packages"]}
    assert set(packages) == set(registered)
    for identity, release_type in OWN.items():
        assert packages[identity]["state_name"] == "Installed" and packages[identity]["release_type"] == release_type
        assert packages[identity]["kb"] is None and packages[identity]["identifier"] == identity.split("~")[0]
        assert packages[identity]["catalog_status"] == "valid"

    table = run_imgscan("packages", images["vhdx"], "--as-of", "2013-07-01").stdout.splitlines()
    header = table.index(next(line for line in table if line.startswith("HotFixID")))
    end = table.index("", header)
    assert sorted(line.split()[0] for line in table[header + 1 : end]) == sorted(expected)
    listed = {line.split()[0]: line for line in table[end:] if line.split() and line.split()[0] in registered}
    assert set(listed) == set(registered)
    assert all("Installed" in listed[identity] for identity in OWN)


def test_windows_own_packages_leave_qfe_empty_as_it_was(healthy):
    scenario, images = healthy
    for as_of in ("2013-07-01", "2026-12-02"):
        report = run_imgscan("scan", images["vhdx"], "--as-of", as_of, "--format", "json").report
        assert not [f for f in report["findings"] if f["rule"] == "qfe-empty"]
        assert {c["status"] for c in report["inventory"]["catalogs"]} == {"valid"}
