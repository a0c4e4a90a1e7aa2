"""Hives an image should hold but does not are said, not passed over, and a folder whose registry is gone
altogether is refused as input rather than judged.

- No COMPONENTS hive (Vista and later service updates through it): a warning naming what went unchecked,
  not a gate-failing finding; none on XP or Server 2003, which have no such hive.
- No Default profile template (no Users folder): a warning that the WinTrust State every new account copies
  was not checked.
- A Windows\\System32\\config that holds none of the hives: exit 2 with one line, as other unusable inputs;
  one hive missing or damaged among the others stays a finding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sample_images.build import build
from sample_images.scenario import load, write_tree
from tests.conftest import run_imgscan

AS_OF = "2013-07-01"
COMPONENTS = r"Windows\System32\config\COMPONENTS"
COMPONENTS_WARNING = (
    "COMPONENTS: not found; the component store's registry, which servicing loads to install or remove any "
    "update, was not checked"
)
TEMPLATE = r"Users\Default\NTUSER.DAT"
TEMPLATE_WARNING = (
    "Default profile template: its NTUSER.DAT was not found; the WinTrust State every account created after "
    "deployment copies from it was not checked"
)
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]  # root that obeys file modes


def _config(tree: Path) -> Path:
    return tree / "Windows" / "System32" / "config"


def _warned(run, path: str, message: str) -> bool:
    """The report's `errors` holds the entry and stderr says it as a warning."""
    entry = {"path": path, "message": message}
    return entry in run.report["errors"] and f"imgscan: warning: {path}: {message}" in run.stderr.splitlines()


def test_an_intact_volume_warns_of_nothing(tree_copy, tmp_path):
    run = run_imgscan("scan", tree_copy("healthy", tmp_path), "--as-of", AS_OF, "--format", "json")
    assert (run.code, run.report["errors"]) == (0, []), run.stderr


def test_a_missing_components_hive_is_a_warning_naming_what_was_not_checked(tree_copy, tmp_path):
    tree = tree_copy("healthy", tmp_path)
    (_config(tree) / "COMPONENTS").unlink()
    run = run_imgscan("scan", tree, "--as-of", AS_OF, "--format", "json")
    assert run.code == 0, run.stderr  # a warning: the gate does not fail on it
    assert _warned(run, COMPONENTS, COMPONENTS_WARNING)
    assert run.report["findings"] == []


def test_no_components_hive_on_a_windows_older_than_vista_is_no_warning(tmp_path):
    scenario = load("healthy")
    scenario.current_version = "5.2"  # Server 2003 and XP x64: no component store, no COMPONENTS hive
    tree = write_tree(scenario, tmp_path / "volume")
    (_config(tree) / "COMPONENTS").unlink()
    run = run_imgscan("scan", tree, "--as-of", AS_OF, "--format", "json")
    assert run.code == 0, run.stderr
    assert not [e for e in run.report["errors"] if e["path"] == COMPONENTS]


def test_a_damaged_components_hive_stays_a_finding_not_a_warning(tree_copy, tmp_path):
    tree = tree_copy("healthy", tmp_path)
    (_config(tree) / "COMPONENTS").write_bytes(b"not a hive" * 100)
    run = run_imgscan("scan", tree, "--as-of", AS_OF, "--format", "json")
    assert run.code == 1, run.stderr
    assert [f["evidence"][0]["path"] for f in run.report["findings"] if f["rule"] == "hive-unreadable"] == [COMPONENTS]
    assert not [e for e in run.report["errors"] if e["message"].startswith("COMPONENTS: not found")]


def test_a_volume_without_users_says_the_default_profile_was_not_checked(tree_copy, tmp_path):
    tree = tree_copy("healthy", tmp_path)
    shutil.rmtree(tree / "Users")
    run = run_imgscan("scan", tree, "--as-of", AS_OF, "--format", "json")
    assert run.code == 0, run.stderr
    assert _warned(run, TEMPLATE, TEMPLATE_WARNING)
    assert not [f for f in run.report["findings"] if f["rule"].startswith("wintrust-")]  # nothing was judged
    assert run.report["errors"][0]["path"] == TEMPLATE  # before the profiles ProfileList names, which are gone too


def test_a_wim_extracts_the_hives_it_warns_about(tmp_path):
    """A WIM gives the scan only the files it asks for: COMPONENTS and the Default template are among them."""
    wim = build(load("healthy"), tmp_path, ("wim-lzx",))["wim-lzx"]
    run = run_imgscan("scan", wim, "--as-of", AS_OF, "--format", "json")
    assert (run.code, run.report["errors"]) == (0, []), run.stderr


def _refused(run, line: str) -> None:
    assert (run.code, run.stdout) == (2, ""), run.stderr
    assert run.stderr.splitlines() == [line]


def test_a_config_folder_without_hives_is_bad_input(tree_copy, tmp_path):
    tree = tree_copy("healthy", tmp_path)
    for hive in _config(tree).iterdir():
        hive.unlink()
    _refused(
        run_imgscan("scan", tree, "--as-of", AS_OF),
        f"imgscan: error: {tree}: Windows\\System32\\config holds no registry hive: none of SOFTWARE, SYSTEM, "
        "COMPONENTS, DEFAULT (copy the volume again with its hives: a copy taken while Windows runs leaves them "
        "out, as they are in use; copy from a shadow copy or from the disk with Windows shut down)",
    )


def test_a_config_folder_that_cannot_be_listed_is_bad_input_saying_why(tree_copy, tmp_path):
    tree = tree_copy("healthy", tmp_path)
    _config(tree).chmod(0)
    try:
        proc = subprocess.run(
            [*NO_DAC, sys.executable, "-m", "imgscan", "scan", str(tree), "--as-of", AS_OF],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        _config(tree).chmod(0o755)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.splitlines() == [
        f"imgscan: error: {tree}: Windows\\System32\\config: directory cannot be listed: permission denied "
        "(run imgscan as a user who may read the evidence)"
    ]


@pytest.mark.parametrize("kept", ["SYSTEM", "DEFAULT"])
def test_one_hive_left_in_config_is_judged_with_the_others_missing_as_findings(tree_copy, tmp_path, kept):
    tree = tree_copy("healthy", tmp_path)
    for hive in _config(tree).iterdir():
        if hive.name != kept:
            hive.unlink()
    run = run_imgscan("scan", tree, "--as-of", AS_OF, "--format", "json")
    assert run.code == 1, run.stderr
    missing = {f["evidence"][0]["path"] for f in run.report["findings"] if f["rule"] == "hive-unreadable"}
    assert missing == {rf"Windows\System32\config\{name}" for name in ("SOFTWARE", "SYSTEM", "DEFAULT") if name != kept}


def test_a_damaged_wintrust_key_is_a_finding_not_a_clean_pass(tmp_path):
    """A damaged cell in the key the WinTrust check reads lost the State: the scan said "clean" (exit 0) and the
    inventory "value absent: Windows uses 0x23c00", though the State was never read."""
    from Registry import Registry

    from imgscan.wintrust import KEY_PATH

    root = write_tree(load("ws-acc-0417"), tmp_path / "volume")
    hive = root / "Users" / "nfury" / "NTUSER.DAT"
    node = Registry.Registry(str(hive)).open(KEY_PATH)._nkrecord  # the key's "nk" record
    data = bytearray(hive.read_bytes())
    data[node.offset() + 0x28 : node.offset() + 0x2C] = (0x7FFFFFF0).to_bytes(4, "little")  # its value list: far away
    hive.write_bytes(bytes(data))
    run = run_imgscan("scan", root, "--as-of", AS_OF, "-f", "json", "--fail-on", "medium")
    assert run.code == 1, run.stderr
    why = "damaged registry cell, key skipped: a cell points outside the hive's data"
    found = [f for f in run.report["findings"] if f["rule"] == "hive-unreadable"]
    assert [(f["severity"], f["evidence"][0]["problem"]) for f in found] == [
        ("medium", f"its WinTrust key cannot be read: {why}")
    ]
    assert not [f for f in run.report["findings"] if f["rule"].startswith("wintrust-")]
    nfury = [w for w in run.report["inventory"]["wintrust"] if w["path"] == r"Users\nfury\NTUSER.DAT"]
    assert nfury and nfury[0]["state"] is None and nfury[0]["note"] == f"not read: {why}" and "effective" not in nfury[0]


def test_damaged_package_registrations_are_a_finding_not_every_package_uninstalled(tmp_path):
    """A damaged subkey list of SOFTWARE's CBS Packages key lost every package registration: each package read as
    "not registered", so the package whose catalog empties wmic qfe (KB2705219, as Windows 7 hosts met it in
    2013) went unjudged and the gate passed over it. It is now a high hive-unreadable finding naming the key,
    and each package hidden that way is "state unknown", not "not registered", in a listing that exits 2."""
    from Registry import Registry

    from imgscan.servicing import CBS_PACKAGES

    root = write_tree(load("ref-w7-2012q3"), tmp_path / "volume")
    hive = _config(root) / "SOFTWARE"
    node = Registry.Registry(str(hive)).open(CBS_PACKAGES)._nkrecord  # the key's "nk" record
    data = bytearray(hive.read_bytes())
    data[node.offset() + 0x1C : node.offset() + 0x20] = (0x7FFFFFF0).to_bytes(4, "little")  # its subkey list: far away
    hive.write_bytes(bytes(data))
    run = run_imgscan("scan", root, "--as-of", "2013-07-05", "-f", "json")
    assert run.code == 1, run.stderr
    found = [f for f in run.report["findings"] if f["rule"] == "hive-unreadable"]
    assert [(f["severity"], f["evidence"][0]["problem"]) for f in found] == [
        ("high", f"{CBS_PACKAGES}: damaged registry cell, key skipped: a cell points outside the hive's data")
    ]
    assert "whether their catalogs empty wmic qfe" in found[0]["message"]
    # the listing shows what the files tell, says the registrations are unknown, and exits 2 as without SOFTWARE
    listing = run_imgscan("packages", root, "-f", "json")
    assert listing.code == 2 and listing.stderr.count("\n") == 1 and "Traceback" not in listing.stderr, listing.stderr
    assert f"{CBS_PACKAGES}: damaged registry cell" in listing.stderr and "are unknown" in listing.stderr
    shown = json.loads(listing.stdout)
    assert {p["state_name"] for p in shown["packages"]} == {"state unknown"}
    assert "qfe" in shown["unknown"][0]["fields"] and shown["unknown"][0]["catalogs"] == []
