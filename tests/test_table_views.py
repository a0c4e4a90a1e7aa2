"""Table output for people: one fix per account, wrapped evidence, a 'from/since' on every dated finding
and, on the others, when they hit as their rule says; expired vs expires, a CATALOG column of statuses,
and one ISO 8601 UTC time format in the timeline."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from imgscan.loader import load_checks
from imgscan.timeline import _utc
from imgscan.views.columns import WIDTH
from imgscan.views.table import to_table
from sample_images.scenario import SCENARIOS, load
from tests.conftest import REPO, run_imgscan
from tests.unit.memory import memory_scan

BUILT = REPO / "sample_images" / "built"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# a finding's head line; a consequence's is indented under its cause
HEAD = re.compile(r"^ *(CRITICAL|HIGH|MEDIUM|LOW|INFO) +(\S+)  .*  \((.+?)\)(  0x[0-9A-F]{8})?$")
# the rules whose failure really comes at every update install or scan, whatever else happens
EVERY_UPDATE = {"update-service-disabled", "update-source-policy", "wintrust-offline-revocation"}
RULES = load_checks().rules
ISO_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def test_scan_table_prints_each_fix_once_wraps_evidence_and_says_since():
    table = run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01").stdout
    assert table.count('"State"=dword:00023c00') == 1
    assert "fix: the same as for wintrust-offline-revocation above" in table
    assert "wintrust-offline-revocation  Users\\nfury\\NTUSER.DAT  (since 2012-04-24T08:54:49Z)" in table
    evidence, continuation = [], None
    for line in table.splitlines():  # evidence lines and their continuations, also of a consequence (indented)
        if line.lstrip().startswith("evidence:"):
            continuation = " " * (len(line) - len(line.lstrip()) + 4)
        elif not (continuation and line.startswith(continuation)):
            continuation = None
        evidence += [line] if continuation else []
    assert evidence and max(len(line) for line in evidence) <= WIDTH
    heads = [line for line in table.splitlines() if re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO) ", line)]
    assert heads and all(re.search(r"\((from|seen|since) ", h) for h in heads)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_says_when_an_undated_finding_hits(rule):
    """A prediction with a timing always has its day; every other rule says in words when it hits, and only
    those that fail at every update say so."""
    assert rule.timing is not None or rule.hits, rule.id
    assert ("every update" in (rule.hits or "")) is (rule.id in EVERY_UPDATE), rule.hits


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.toml")))
def test_no_sample_finding_is_undated_or_says_every_update_install_wrongly(name):
    report = memory_scan(load(name), date(2026, 12, 1)).report
    hits = {rule.id: rule.hits for rule in RULES}
    for finding, line in zip(report["findings"], _heads(to_table(report)), strict=True):
        severity, rule, when, _ = HEAD.match(line).groups()
        # a cause is shown at the severity it gates at (the worst of its group)
        assert (severity.lower(), rule) == (finding.get("gating_severity") or finding["severity"], finding["rule"])
        if not re.match(r"(from|seen|since) \d{4}-\d\d-\d\d", when):
            assert when == hits[rule] == finding["hits"], line
        assert "every update install" not in when or rule in EVERY_UPDATE, line


def _heads(table: str) -> list[str]:
    return [line for line in table.splitlines() if re.match(r"^ *(CRITICAL|HIGH|MEDIUM|LOW|INFO) ", line)]


def test_catalogs_say_expired_once_the_day_has_passed():
    before = run_imgscan("catalogs", BUILT / "ref-w7-2012q3.vhdx", "--as-of", "2013-01-01").stdout
    after = run_imgscan("catalogs", BUILT / "ref-w7-2012q3.vhdx", "--as-of", "2015-01-01").stdout
    line = next(x for x in before.splitlines() if "Package_for_KB2705219" in x and "servicing" in x)
    assert line.rstrip().endswith("expires")
    line = next(x for x in after.splitlines() if "Package_for_KB2705219" in x and "servicing" in x)
    assert line.rstrip().endswith("expired")


def test_packages_catalog_column_holds_statuses_and_fails_from_holds_days():
    table = run_imgscan("packages", BUILT / "ref-w7-2012q3.vhdx", "--as-of", "2015-01-01").stdout
    rows = table.split("PACKAGE", 1)[1].splitlines()[1:]
    statuses = {row.split()[-2] if re.search(r"\d{4}-\d\d-\d\d$", row) else row.split()[-1] for row in rows if row}
    assert statuses <= {"valid", "expires", "expired", "untrusted", "unsigned", "unreadable", "no", "catalog"}
    assert "expired" in statuses


def test_timeline_shows_utc_as_utc_and_local_times_as_local():
    """ISO 8601 throughout; `Z` only on times that are UTC: a text log's time in an image that does not record
    its time zone is shown as written, and says so (issue 22: `…Z … (host local time, zone unknown)`)."""
    for fmt_image in ("ws-acc-0417.vhdx", "ref-w7-2012q3.vhdx"):
        csv_text = run_imgscan("timeline", BUILT / fmt_image, "--as-of", "2013-07-05", "-f", "csv").stdout
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert rows
        for row in rows:
            local = "the image does not record its time zone" in row["detail"]
            assert (ISO_LOCAL if local else ISO_UTC).match(row["time"]), row
        assert any("time zone" in row["detail"] for row in rows)
        assert "valid until no end" not in str(rows)
    table = run_imgscan("timeline", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-05").stdout
    assert "2012-04-24T08:54:49   first failure in a setup log" in table
    assert not re.search(r"Z .*host local time", table)


def test_local_log_times_are_converted_with_the_image_offset():
    assert _utc("2013-07-01T09:04:27", 120) == "2013-07-01T07:04:27Z"  # UTC+2: two hours earlier in UTC
    assert _utc("2013-07-01T09:04:27", None) == "2013-07-01T09:04:27Z"
    assert _utc("2013-07-01") == "2013-07-01T00:00:00Z"
    assert _utc("2020-05-02T05:06:58.595000Z") == "2020-05-02T05:06:58Z"
