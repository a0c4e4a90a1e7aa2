"""Evidence an image should hold but does not is said, not passed over: a profile ProfileList names whose
NTUSER.DAT is gone was never checked, and the scan must not look clean for that account in silence."""

from __future__ import annotations

import shutil

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan


def test_a_profile_listed_without_its_hive_is_a_warning_naming_it(tmp_path):
    tree = build(load("ws-acc-0417"), tmp_path / "built", ("dir",))["dir"]
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy, symlinks=True)
    (copy / "Users" / "nfury" / "NTUSER.DAT").unlink()
    run = run_imgscan("scan", copy, "--as-of", "2013-07-01", "--format", "json")
    assert "Traceback" not in run.stderr
    [entry] = [e for e in run.report["errors"] if e["path"].endswith("nfury\\NTUSER.DAT")]
    assert entry["message"].startswith("profile S-1-5-21-3623811015-3361044348-30300820-1001: ProfileList names it")
    assert "WinTrust State) were not checked" in entry["message"]
    assert f"imgscan: warning: {entry['path']}: {entry['message']}" in run.stderr.splitlines()
    assert not [f for f in run.report["findings"] if f["rule"] == "wintrust-offline-revocation"]  # nothing to judge
