"""No report says PASS while the run failed or hid something. A crashed check exited 3, yet the HTML said PASS,
SARIF executionSuccessful with a mere warning, JUnit a passing case (errors="1" and no <error>) and the table
"summary: clean"; JUnit passed the rules of skipped checks; SARIF with --severity dropped findings silently."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import jsonschema
import pytest

from imgscan.check import Severity
from imgscan.loader import load_checks
from imgscan.views.junit import to_junit
from imgscan.views.sarif import to_sarif
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REPO, run_imgscan
from tests.golden import SAVED
from tests.test_plugins import CRASHING  # the plugin whose check always crashes

BUILT = REPO / "sample_images" / "built"
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
CRASH = "check boom crashed (RuntimeError: kaboom); its findings are missing, so the run cannot pass"
NO_PARTITIONS_IN_A_WIM = "a WIM has no partitions: the EFI system and recovery partitions are made when the image is deployed"


def _cases(xml: str) -> tuple[ElementTree.Element, dict[str, ElementTree.Element]]:
    (suite,) = ElementTree.fromstring(xml).iter("testsuite")
    return suite, {case.get("name", ""): case for case in suite.iter("testcase")}


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """Every view of a healthy image scanned with a check that always crashes."""
    out = tmp_path_factory.mktemp("crashed")
    (out / "plugins").mkdir()
    (out / "plugins" / "boom.py").write_text(CRASHING)
    formats = {"html": "r.html", "sarif": "r.sarif", "junit": "r.xml", "table": "r.txt"}
    args = [a for fmt, name in formats.items() for a in ("-f", fmt, "-o", out / name)]
    run = run_imgscan("scan", BUILT / "healthy.vhdx", "--plugins", out / "plugins", *args)
    assert run.code == 3, run.stderr
    return {fmt: (out / name).read_text(encoding="utf-8") for fmt, name in formats.items()}


def test_html_of_a_crashed_check_is_incomplete_not_pass(crashed):
    page = crashed["html"]
    assert 'id="verdict">INCOMPLETE<' in page and 'id="verdict">PASS<' not in page
    assert '<b id="incomplete">check boom crashed; its findings are missing.</b>' in page
    assert "<th>summary</th><td>incomplete: check boom crashed; its findings are missing</td>" in page
    assert "<p>No findings.</p>" not in page


def test_sarif_of_a_crashed_check_is_an_unsuccessful_run_with_an_error(crashed):
    sarif = json.loads(crashed["sarif"])
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    (invocation,) = sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    # the crash is told once, as an error: not also as the warning its errors entry used to be
    assert invocation["toolExecutionNotifications"] == [
        {"level": "error", "message": {"text": CRASH}, "properties": {"check": "boom"}}
    ]


def test_junit_of_a_crashed_check_has_an_error_in_its_case(crashed):
    suite, cases = _cases(crashed["junit"])
    error = cases["site-boom"].find("error")
    assert error is not None and error.get("message") == CRASH and error.get("type") == "crashed"
    assert suite.get("errors") == "1" == str(sum(case.find("error") is not None for case in cases.values()))
    assert cases["wintrust-weakened"].find("error") is None  # the checks that finished still pass


def test_table_of_a_crashed_check_does_not_say_clean(crashed):
    table = crashed["table"]
    assert "summary: incomplete: check boom crashed; its findings are missing\n" in table
    assert "No findings from the checks that finished: check boom crashed; its findings are missing.\n" in table
    assert "summary: clean" not in table and "No findings.\n" not in table


def test_a_crashed_check_beside_gating_findings_fails_and_says_it_is_incomplete(tmp_path):
    (tmp_path / "boom.py").write_text(CRASHING)
    page = tmp_path / "r.html"
    args = ("--as-of", "2013-07-01", "--plugins", tmp_path, "-f", "html", "-o", page)
    assert run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", *args).code == 3
    text = page.read_text(encoding="utf-8")
    assert 'id="verdict">FAIL<' in text and '<b id="incomplete">check boom crashed; its findings are missing.</b>' in text
    assert "<th>summary</th><td>1 high, 1 medium; incomplete: check boom crashed; its findings are missing</td>" in text


def test_junit_names_a_crashed_check_whose_rules_it_was_not_given():
    """A crashed check none of whose rules the view knows (a saved report rendered without its plugin) is a
    case of its own in error, not nothing."""
    report = json.loads((SAVED / "healthy-2013-07-01.json").read_text(encoding="utf-8"))
    report["inventory"]["checks"] = [{"check": "ghost", "completed": False}, {"check": "hive_health", "completed": True}]
    unreadable = {"path": "Windows\\Logs\\CBS\\CBS.log", "message": "cannot be read"}
    report["errors"] = [{"path": "check:ghost", "message": "check crashed: KeyError: 'x'"}, unreadable]
    suite, cases = _cases(to_junit(report, load_checks().checks, Severity.HIGH))
    error = cases["check ghost"].find("error")
    assert error is not None and error.get("message") == (
        "check ghost crashed (KeyError: 'x'); its findings are missing, so the run cannot pass"
    )
    assert suite.get("errors") == "1" and suite.get("tests") == str(len(cases))
    # an error that fails no case is the suite's output; the crash is told in its case, not again
    system_err = suite.find("system-err")
    assert system_err is not None and system_err.text == "Windows\\Logs\\CBS\\CBS.log: cannot be read"


@pytest.fixture(scope="module")
def wim(tmp_path_factory):
    return build(load("healthy"), tmp_path_factory.mktemp("wim"), ("wim-lzx",))["wim-lzx"]


def test_junit_skips_the_rules_of_a_skipped_check(wim):
    run = run_imgscan("scan", wim, "-f", "junit")
    assert run.code == 0, run.stderr
    suite, cases = _cases(run.stdout)
    skipped = cases["winre-partition-too-small"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == f"check winre_partition skipped: {NO_PARTITIONS_IN_A_WIM}"
    boot = cases["secureboot-ca-2023-required"].find("skipped")
    assert boot is not None and "the image has no UEFI boot files" in boot.get("message", "")
    assert cases["wintrust-weakened"].find("skipped") is None  # a check that ran passes
    assert suite.get("skipped") == str(sum(case.find("skipped") is not None for case in cases.values()))


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    """ref-w7-2012q3 on 2013-07-01 with --severity critical: 3 of its 8 findings shown."""
    out = tmp_path_factory.mktemp("filtered") / "r.sarif"
    args = ("--as-of", "2013-07-01", "--severity", "critical")
    assert run_imgscan("scan", BUILT / "ref-w7-2012q3.vhdx", *args, "-o", out).code == 1
    report = run_imgscan("scan", BUILT / "ref-w7-2012q3.vhdx", *args, "-f", "json").report
    return json.loads(out.read_text(encoding="utf-8")), report


HIDDEN = "--severity critical hid 5 finding(s) (4 high, 1 medium); they still count for --fail-on"


def test_sarif_says_what_severity_hid(filtered):
    sarif, report = filtered
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    (run,) = sarif["runs"]
    assert len(run["results"]) == 3
    (invocation,) = run["invocations"]
    # the scan's --fail-on (high by default) reaches the view: how many hidden causes still fail the gate
    gates = invocation["properties"]["hiddenGating"]
    told = f"{HIDDEN}; {gates} cause(s) among them at or above --fail-on high"
    assert gates > 0 and invocation["toolExecutionNotifications"] == [{"level": "warning", "message": {"text": told}}]
    assert invocation["properties"]["hidden"] == report["filtered"]["hidden"]
    assert invocation["properties"]["severitiesShown"] == ["critical"]
    assert invocation["executionSuccessful"] is True  # every check finished


def test_sarif_hidden_findings_that_do_not_gate_are_a_note():
    """Given --fail-on: hidden findings that fail the gate are a warning with how many, else a note."""
    report = run_imgscan(
        "scan", BUILT / "ref-w7-2012q3.vhdx", "--as-of", "2013-07-01", "--severity", "critical", "-f", "json"
    ).report
    rules = load_checks().rules
    at_critical = json.loads(to_sarif(report, rules, Severity.CRITICAL))["runs"][0]["invocations"][0]
    assert at_critical["toolExecutionNotifications"] == [{"level": "note", "message": {"text": HIDDEN}}]
    assert at_critical["properties"]["hiddenGating"] == 0
    at_medium = json.loads(to_sarif(report, rules, Severity.MEDIUM))["runs"][0]["invocations"][0]
    (note,) = at_medium["toolExecutionNotifications"]
    gates = at_medium["properties"]["hiddenGating"]
    assert note["level"] == "warning" and gates > 0
    assert note["message"]["text"] == f"{HIDDEN}; {gates} cause(s) among them at or above --fail-on medium"
