"""Issue 26 part 2: partial evidence says what it lacks. A triage collection of the ws-acc-0417 sample's hives and
update logs only (acquire's layout, built by sample_images.containers) has no servicing packages, no
catalogs and no disk: each check that cannot run names the files the collection lacked, the report says
"collection (partial)", and the post-mortem still links the logged failures to the predictions they confirm."""

from __future__ import annotations

import subprocess

import jsonschema
import pytest

from imgscan.report import schema
from sample_images.build import build
from sample_images.containers import build_containers
from sample_images.scenario import load
from tests.conftest import REPO, run_imgscan

AS_OF = ("--as-of", "2013-07-01")
LACKS_PACKAGES = r"Windows\servicing\Packages\*.mum"
LACKS_CATALOGS = [
    r"Windows\servicing\Packages\*.cat",
    r"Windows\winsxs\Catalogs\*.cat",
    r"Windows\System32\CatRoot\{F750E6C3-38EE-11D1-85E5-00C04FC295EE}\*.cat",
]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("partial")
    return build(load("ws-acc-0417"), out / "plain", ("dir",)) | build_containers(load("ws-acc-0417"), out, ("tar-triage", "tar"))


def _scan(path) -> dict:
    run = run_imgscan("scan", path, "-f", "json", *AS_OF)
    assert run.code in (0, 1), run.stderr
    return run.report


def _checks(report: dict) -> dict[str, dict]:
    return {entry["check"]: entry for entry in report["inventory"]["checks"]}


def test_the_sample_holds_hives_and_logs_only(samples):
    """tar, not imgscan, says what the collection holds."""
    names = subprocess.run(["tar", "-tf", samples["tar-triage"]], capture_output=True, text=True, check=True).stdout.split()
    for kept in ("System32/config/SOFTWARE", "System32/winevt/Logs/System.evtx", "Temp/KB2656368.html"):
        assert f"fs/C:/Windows/{kept}" in names
    assert any(n.startswith("fs/C:/Users/") and n.endswith("/NTUSER.DAT") for n in names)
    assert not [n for n in names if "/servicing/" in n or "/CatRoot/" in n or "/winsxs/" in n.lower()]


def test_each_skipped_check_names_the_files_the_collection_lacked(samples):
    full, partial = _checks(_scan(samples["dir"])), _checks(_scan(samples["tar-triage"]))
    assert full["catalog_signatures"]["completed"] and full["component_store"]["completed"]
    assert partial["catalog_signatures"] == {
        "check": "catalog_signatures",
        "completed": False,
        # not "the image has no catalogs": what the image holds there, the collection does not say
        "skipped": f"the collection holds none of {', '.join(LACKS_CATALOGS)}",
    }
    assert partial["servicing_pending"]["skipped"] == r"the collection holds none of Windows\WinSxS\pending.xml"
    # the registry lists the installed packages, but their manifests were not collected: not judged as missing
    assert partial["component_store"]["skipped"] == f"the collection holds none of {LACKS_PACKAGES}"
    assert partial["wintrust_state"] == full["wintrust_state"] == {"check": "wintrust_state", "completed": True}


def test_the_report_says_collection_partial(samples):
    report = _scan(samples["tar-triage"])
    assert report["image"]["collection"] == {"partial": True, "lacking": [LACKS_PACKAGES, *LACKS_CATALOGS]}
    jsonschema.validate(report, schema())
    header = run_imgscan("scan", samples["tar-triage"], *AS_OF).stdout.splitlines()[0]
    assert "(tar via acquire, collection (partial), sha256 " in header
    whole = _scan(samples["tar"])  # every file of the volume: a collection, but not a partial one
    assert whole["image"]["collection"] == {"partial": False, "lacking": []}
    assert "(tar via generic, collection, sha256 " in run_imgscan("scan", samples["tar"], *AS_OF).stdout.splitlines()[0]
    assert "collection" not in _scan(samples["dir"])["image"]


def test_a_post_mortem_on_the_collection_still_links_logs_to_predictions(samples):
    """ws-acc-0417's failure story rests on a user hive and the logs, both collected: the same findings, each
    prediction confirmed by the same log lines, each logged failure counted with its cause."""
    full, partial = _scan(samples["dir"]), _scan(samples["tar-triage"])
    assert partial["findings"] == full["findings"]
    cause = next(f for f in partial["findings"] if f["rule"] == "wintrust-offline-revocation")
    assert {link["rule"] for link in cause["confirmed_by"]} == {"setup-log-error", "update-event-error"}
    assert {f["caused_by"] for f in partial["findings"] if f["rule"].endswith("-error")} == {cause["id"]}


def test_a_logged_failure_whose_predicting_check_could_not_run_says_so(tmp_path):
    """ref-w7-2012q3's CBS.log shows 0x800B0101 (CERT_E_EXPIRED) for KB2705219. Its hives and logs alone, without
    the catalogs, made each such finding say "No check of this image predicts this failure ... repair the component
    store": the check that predicts it was never run, and CheckSUR does not renew an expired catalog."""
    triage = build_containers(load("ref-w7-2012q3"), tmp_path, ("tar-triage",))["tar-triage"]
    report = run_imgscan("scan", triage, "--as-of", "2013-07-05", "-f", "json").report
    logged = [f for f in report["findings"] if f["rule"] == "cbs-log-error" and f["hresult"] == "0x800B0101"]
    assert logged
    for finding in logged:
        assert "No check of this image predicts" not in finding["remediation"]
        assert finding["remediation"].startswith("The rules that predict 0x800B0101 could not judge this image (")
        assert f"catalog-expiry: the collection holds none of {LACKS_CATALOGS[0]}" in finding["remediation"]
    whole = run_imgscan(
        "scan", REPO / "sample_images" / "built" / "ref-w7-2012q3.vhdx", "--as-of", "2013-07-05", "-f", "json"
    ).report
    assert all(f.get("caused_by") for f in whole["findings"] if f["rule"] == "cbs-log-error")  # the disk says why
