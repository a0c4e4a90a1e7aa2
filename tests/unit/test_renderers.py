"""Every renderer on the saved reports, in-process: each format carries the same findings."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree

import pytest

from imgscan.check import Severity
from imgscan.loader import load_checks
from imgscan.timeline import timeline
from imgscan.views.csv_view import to_csv
from imgscan.views.html import to_html
from imgscan.views.json_view import to_json
from imgscan.views.junit import to_junit
from imgscan.views.sarif import to_sarif
from imgscan.views.table import to_table
from tests.golden import CASES, SAVED


@pytest.fixture(scope="module")
def loaded():
    return load_checks()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_format_shows_every_finding(name, loaded):
    report = json.loads((SAVED / name).read_text(encoding="utf-8"))
    ids = [f["rule"] for f in report["findings"]]
    assert json.loads(to_json(report)) == report
    table = to_table(report)
    assert all(rule in table for rule in ids)
    sarif = json.loads(to_sarif(report, loaded.rules))
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ids
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [r["rule"] for r in rows] == ids
    junit = ElementTree.fromstring(to_junit(report, loaded.checks, Severity.HIGH))
    failing = {case.get("name").split()[0] for case in junit.iter("testcase") if case.find("failure") is not None}
    # a case fails for each rule with a cause at or above --fail-on; consequences fail through their cause
    causes = [f for f in report["findings"] if not f.get("caused_by")]
    assert failing == {f["rule"] for f in causes if Severity.parse(f["gating_severity"]) >= Severity.HIGH}
    page = to_html(report, Severity.HIGH)
    assert ('id="verdict">FAIL<' in page) == bool(failing)
    assert all(event["time"].endswith("Z") or "time zone" in event["detail"] for event in timeline(report))
