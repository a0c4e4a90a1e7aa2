"""Issue 2, "done when": the ws-acc-0417 sample in every container format, and the healthy control."""

from __future__ import annotations

import pytest

from tests.conftest import rules_by_path, run_imgscan, sha256

WS_ACC_0417_EXPECTED = {
    ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT"),
    # 0xc9 also trusts test roots (SetReg option 1 TRUE in the seed's printout)
    ("wintrust-weakened", r"Users\nfury\NTUSER.DAT"),
    # the logs the seed shows: %TEMP%\KB2656368.html and Windows Update Agent event 20
    ("setup-log-error", r"Windows\Temp\KB2656368.html"),
    ("update-event-error", r"Windows\System32\winevt\Logs\System.evtx"),
}
FORMATS = ["vhdx", "vhd", "vhd-fixed", "vmdk", "raw", "gpt", "e01", "dir"]
EXPECTED_FORMAT_NAME = {
    "vhdx": "vhdx",
    "vhd": "vhd-dynamic",
    "vhd-fixed": "vhd-fixed",
    "vmdk": "vmdk",
    "raw": "raw-mbr",
    "gpt": "raw-gpt",
    "e01": "e01",
    "dir": "directory",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_ws_acc_0417_flags_only_the_changed_profile(images, fmt):
    image = images["ws-acc-0417"][fmt]
    before = sha256(image) if image.is_file() else None
    run = run_imgscan("scan", image, "--format", "json", "--as-of", "2013-07-01")
    assert run.code == 1, run.stderr
    report = run.report
    assert rules_by_path(report) == WS_ACC_0417_EXPECTED
    offline = next(f for f in report["findings"] if f["rule"] == "wintrust-offline-revocation")
    assert offline["severity"] == "high"
    assert offline["hresult"] == "0x800B010E"
    evidence = offline["evidence"][0]
    assert evidence["state"] == "0x000000c9"
    assert evidence["account"]["sid"] == "S-1-5-21-3623811015-3361044348-30300820-1001"
    assert "installs started by user nfury" in offline["message"]
    assert '"State"=dword:00023c00' in offline["remediation"]
    assert r"[HKEY_USERS\S-1-5-21-3623811015-3361044348-30300820-1001\Software" in offline["remediation"]
    assert report["image"]["format"] == EXPECTED_FORMAT_NAME[fmt]
    assert report["host"] == {
        "name": "WS-ACC-0417",
        "os": "Windows 7 Professional Service Pack 1 (build 7601)",
        "utc_offset_minutes": None,
    }  # the sample SYSTEM hive has no TimeZoneInformation
    assert report["as_of"] == "2013-07-01"
    assert report["errors"] == []
    if before:
        assert report["image"]["sha256"] == before
        assert sha256(image) == before, "the scan changed the image"


@pytest.mark.parametrize("fmt", ["vhdx", "raw", "dir"])
def test_healthy_control_exits_clean(images, fmt):
    run = run_imgscan("scan", images["healthy"][fmt], "--format", "json")
    assert run.code == 0, run.stderr
    assert run.report["findings"] == []


def test_default_and_template_read_but_not_flagged(images):
    report = run_imgscan("scan", images["ws-acc-0417"]["vhdx"], "--format", "json").report
    hives = {h["path"]: h for h in report["inventory"]["hives"]}
    assert hives[r"Windows\System32\config\DEFAULT"]["kind"] == "system-default"
    assert hives[r"Users\Default\NTUSER.DAT"]["kind"] == "default-template"
    assert hives[r"Windows\System32\config\COMPONENTS"]["role"] == "COMPONENTS"
    wintrust = {w["path"]: w for w in report["inventory"]["wintrust"]}
    assert wintrust[r"Windows\System32\config\DEFAULT"]["state"] == "0x00023c00"
    assert wintrust[r"Users\Default\NTUSER.DAT"]["state"] == "0x00023c00"
    # pcoulson has no State value: normal, shown in the inventory, no finding
    assert wintrust[r"Users\pcoulson\NTUSER.DAT"]["state"] is None
    assert wintrust[r"Users\pcoulson\NTUSER.DAT"]["effective"] == "0x00023c00"
    flagged = {f["evidence"][0]["path"] for f in report["findings"] if f["rule"].startswith("wintrust-")}
    assert flagged == {r"Users\nfury\NTUSER.DAT"}


def test_same_input_gives_byte_identical_json(images, tmp_path):
    outputs = []
    for n in range(2):
        out = tmp_path / f"r{n}.json"
        assert run_imgscan("scan", images["ws-acc-0417"]["vhd"], "--format", "json", "-o", out, "--as-of", "2013-07-01").code == 1
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_table_shows_evidence_and_fix(images):
    run = run_imgscan("scan", images["ws-acc-0417"]["vmdk"])
    assert run.code == 1
    assert "wintrust-offline-revocation" in run.stdout
    assert r"Users\nfury\NTUSER.DAT" in run.stdout
    assert '"State"=dword:00023c00' in run.stdout
    assert run.stderr == ""  # quiet: no dissect log lines without -v


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("high", 1), ("medium", 1)])
def test_fail_on_threshold(images, fail_on, code):
    assert run_imgscan("scan", images["ws-acc-0417"]["vhdx"], "--fail-on", fail_on, "--format", "json").code == code


def test_medium_only_finding_gates_at_medium_not_high(variant):
    # 0x23d00: default plus "do not check expiration" -> weakened (medium) only
    image = variant("healthy", lambda s: setattr(s.profiles[0], "wintrust_state", 0x23D00))
    assert run_imgscan("scan", image, "--format", "json").code == 0
    run = run_imgscan("scan", image, "--format", "json", "--fail-on", "medium")
    assert run.code == 1
    assert [f["rule"] for f in run.report["findings"]] == ["wintrust-weakened"]
    assert "expiration is not checked" in run.report["findings"][0]["message"]


def test_committed_samples_match_their_scenarios():
    """The images the README uses are kept in git; they must still give what their scenarios promise."""
    from tests.conftest import REPO

    built = REPO / "sample_images" / "built"
    seed = run_imgscan("scan", built / "ws-acc-0417.vhdx", "--format", "json", "--as-of", "2013-07-01")
    assert seed.code == 1
    assert rules_by_path(seed.report) == WS_ACC_0417_EXPECTED
    assert run_imgscan("scan", built / "healthy.vhdx", "--format", "json").code == 0
    ref_w7_2012q3 = run_imgscan("scan", built / "ref-w7-2012q3.vhdx", "--format", "json", "--as-of", "2013-07-01")
    assert ref_w7_2012q3.code == 1
    qfe = [f for f in ref_w7_2012q3.report["findings"] if f["rule"] == "qfe-empty"]
    assert [(f["severity"], f["starts"]) for f in qfe] == [("critical", "2013-06-30")]
