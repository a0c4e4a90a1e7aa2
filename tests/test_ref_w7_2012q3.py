"""Issue 3, "done when": ref-w7-2012q3 as of any date, the mitigated variant, the healthy control."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan

KB2705219 = {f"Package{n}_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1" for n in ("", "_2", "_3")}
KB2731847 = "Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0"


@pytest.fixture(scope="module")
def ref_w7_2012q3(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref-w7-2012q3")
    return {name: build(load(name), out, ("vhdx", "dir")) for name in ("ref-w7-2012q3", "ref-w7-2012q4", "healthy")}


def scan(image, *args):
    return run_imgscan("scan", image, "--format", "json", *args)


def by_rule(report, rule):
    return [f for f in report["findings"] if f["rule"] == rule]


def package_of(finding):
    return finding["evidence"][0]["path"].rsplit("\\", 1)[-1].removesuffix(".cat")


def test_as_of_after_expiry(ref_w7_2012q3):
    run = scan(ref_w7_2012q3["ref-w7-2012q3"]["vhdx"], "--as-of", "2013-07-01")
    assert run.code == 1
    report = run.report
    expiry = {package_of(f): f for f in by_rule(report, "catalog-expiry")}
    assert KB2705219 <= set(expiry)
    for identity in KB2705219:
        finding = expiry[identity]
        assert finding["severity"] == "high"
        assert finding["starts"] == "2013-06-30"
        assert finding["hresult"] == "0x800B0101"
        assert "CERT_E_EXPIRED" in finding["message"] and "CBS Catalog Expired" in finding["message"]
        assert "KB2749655" in finding["remediation"]
        assert {e["cause"] for e in finding["evidence"]} == {"tsa-without-eku"}
        assert not any(e["tsa_has_timestamping_eku"] for e in finding["evidence"])
    # Package_2 and _3 have byte copies in winsxs\Catalogs (named by SHA-256): both copies are evidence
    copies = [e["path"] for e in expiry["Package_2_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"]["evidence"]]
    assert any(p.startswith("Windows\\winsxs\\Catalogs\\") for p in copies) and len(copies) == 2
    # the no-timestamp package expires 2013-10-15: within the default 365-day horizon, so medium
    assert expiry[KB2731847]["severity"] == "medium" and expiry[KB2731847]["starts"] == "2013-10-15"
    assert "KB2749655" not in expiry[KB2731847]["remediation"]
    (qfe,) = by_rule(report, "qfe-empty")
    assert qfe["severity"] == "critical" and qfe["starts"] == "2013-06-30"
    # the message tells this image's story (which KBs, from when); the past incident is a reference only
    assert qfe["message"].startswith('Predicted: since 2013-06-30, Win32_QuickFixEngineering (wmic qfe, Get-HotFix) returns "No')
    assert "KB2705219 (3 packages, from 2013-06-30), KB2731847 (1 package, from 2013-10-15)" in qfe["message"]
    assert "10,000" not in qfe["message"] and any("10,000" in r for r in qfe["references"])
    assert {e["package"] for e in qfe["evidence"]} == KB2705219 | {KB2731847}


def test_as_of_before_expiry_predicts_without_failing(ref_w7_2012q3):
    run = scan(ref_w7_2012q3["ref-w7-2012q3"]["vhdx"], "--as-of", "2012-12-01", "--horizon", "365")
    assert run.code == 1  # qfe-empty at high gates the default --fail-on
    report = run.report
    assert {f["severity"] for f in report["findings"]} == {"high", "medium"}
    assert {f["starts"] for f in by_rule(report, "catalog-expiry")} == {"2013-06-30", "2013-10-15"}
    assert all(f["severity"] == "medium" for f in by_rule(report, "catalog-expiry"))
    (qfe,) = by_rule(report, "qfe-empty")
    assert qfe["severity"] == "high" and qfe["starts"] == "2013-06-30"


def test_short_horizon_sees_nothing_yet(ref_w7_2012q3):
    run = scan(ref_w7_2012q3["ref-w7-2012q3"]["vhdx"], "--as-of", "2012-12-01", "--horizon", "30")
    assert run.code == 0
    assert run.report["findings"] == []
    valid_until = {c["path"].rsplit("\\", 1)[-1]: c["valid_until"] for c in run.report["inventory"]["catalogs"]}
    assert valid_until[f"{KB2731847}.cat"] == "2013-10-15T10:00:00Z"


def test_mitigated_variant(ref_w7_2012q3):
    report = scan(ref_w7_2012q3["ref-w7-2012q4"]["vhdx"], "--as-of", "2013-07-01").report
    assert {package_of(f) for f in by_rule(report, "catalog-expiry")} == {KB2731847}
    (qfe,) = by_rule(report, "qfe-empty")
    assert {e["package"] for e in qfe["evidence"]} == {KB2731847}
    assert qfe["starts"] == "2013-10-15" and qfe["severity"] == "high"
    assert report["inventory"]["trust"]["eku_mitigation"] == "KB2749655"
    reasons = {c["path"].rsplit("\\", 1)[-1]: c for c in report["inventory"]["catalogs"]}
    kb2705219 = reasons["Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1.cat"]
    assert kb2705219["status"] == "valid" and kb2705219["mitigation"] == "KB2749655"
    assert "accepted because KB2749655 is installed" in kb2705219["reason"]


def test_healthy_control_exits_clean(ref_w7_2012q3):
    run = scan(ref_w7_2012q3["healthy"]["vhdx"], "--as-of", "2013-07-01")
    assert run.code == 0 and run.report["findings"] == []
    assert {c["status"] for c in run.report["inventory"]["catalogs"]} == {"valid"}
    assert {c["root"] for c in run.report["inventory"]["catalogs"]} == {"image ROOT"}


def test_packages_lists_kbs_like_wmic_qfe(ref_w7_2012q3):
    run = run_imgscan("packages", ref_w7_2012q3["ref-w7-2012q3"]["vhdx"], "--as-of", "2012-12-01")
    assert run.code == 0
    lines = run.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("HotFixID"))
    rows = [line.split() for line in lines[header + 1 : header + 5]]
    assert rows == [  # KB976902 came with the Windows 7 SP1 media; InstalledBy names the account as Windows does
        ["KB2506212", "Security", "Update", "9/10/2012", "NT", "AUTHORITY\\SYSTEM"],
        ["KB2705219", "Security", "Update", "9/12/2012", "NT", "AUTHORITY\\SYSTEM"],
        ["KB2731847", "Update", "9/12/2012", "NT", "AUTHORITY\\SYSTEM"],
        ["KB976902", "Update", "11/21/2010", "NT", "AUTHORITY\\SYSTEM"],
    ]
    assert lines[header + 5] == ""  # and nothing else: no foundation, edition or language package
    assert "No instances available" not in run.stdout
    later = run_imgscan("packages", ref_w7_2012q3["ref-w7-2012q3"]["vhdx"], "--as-of", "2013-07-01")
    assert "wmic qfe as of 2013-07-01: No instances available." in later.stdout
    data = run_imgscan("packages", ref_w7_2012q3["ref-w7-2012q3"]["dir"], "--format", "json", "--as-of", "2013-07-01").report
    assert data["qfe_empty_from"] == "2013-06-30"
    states = {p["identity"]: p for p in data["packages"]}
    assert states[KB2731847]["state_name"] == "Installed" and states[KB2731847]["catalog_fails_from"] == "2013-10-15"


def test_catalogs_listing(ref_w7_2012q3):
    run = run_imgscan("catalogs", ref_w7_2012q3["ref-w7-2012q3"]["vhdx"], "--format", "json")
    assert run.code == 0
    catalogs = run.report["catalogs"]
    # the updates: 5 in servicing\Packages, 3 winsxs copies, 2 CatRoot copies; and Windows 7 SP1's own
    # 6 packages (foundation, features, edition, language, Tablet PC, KB976902), each also in CatRoot
    assert len(catalogs) == 10 + 2 * 6
    kinds = {c["timestamp"]["kind"] for c in catalogs}
    assert kinds == {"authenticode", "none"}
    table = run_imgscan("catalogs", ref_w7_2012q3["ref-w7-2012q3"]["vhdx"]).stdout
    assert "Microsoft Windows (imgscan test)" in table and "2013-06-30T10:00:00Z" in table


def osslsigncode(cat, root_pem, when: str):
    epoch = int(datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp())
    proc = subprocess.run(
        ["osslsigncode", "verify", "-in", str(cat), "-CAfile", str(root_pem), "-TSA-CAfile", str(root_pem), "-time", str(epoch)],
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0, proc.stdout + proc.stderr


def test_sample_catalogs_verified_by_osslsigncode(tmp_path):
    """osslsigncode, independently: all sample catalogs verify in 2012; after the signer's expiry only the
    properly timestamped one still does, and it rejects the TSA certificate without the timestamping EKU."""
    from sample_images.catalog_writer import write_catalog
    from sample_images.pki import make_pki, utc

    pki = make_pki()
    root = tmp_path / "root.pem"
    root.write_bytes(pki.root.pem)
    signer = pki.signer("Microsoft Windows (imgscan test)", "2011-06-30T10:00:00", "2013-06-30T10:00:00")
    signed = utc("2012-07-15T08:00:00")
    cats = {
        "good": write_catalog([b"a"], signed, signer, [pki.code_pca, pki.stamp_pca], (pki.tsa_good, signed)),
        "no-eku": write_catalog([b"a"], signed, signer, [pki.code_pca, pki.stamp_pca], (pki.tsa_no_eku, signed)),
        "none": write_catalog([b"a"], signed, signer, [pki.code_pca]),
    }
    for name, data in cats.items():
        (tmp_path / f"{name}.cat").write_bytes(data)
    for name in cats:
        ok, out = osslsigncode(tmp_path / f"{name}.cat", root, "2012-08-01T00:00:00")
        assert ok, out
    after = {name: osslsigncode(tmp_path / f"{name}.cat", root, "2013-07-01T00:00:00") for name in cats}
    assert after["good"][0], after["good"][1]
    assert not after["no-eku"][0] and "XKU_TIMESTAMP" in after["no-eku"][1]
    assert not after["none"][0] and "expired" in after["none"][1]
