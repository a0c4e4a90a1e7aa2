"""Table output for people: one fix per account, wrapped evidence, a 'from/since' on every finding,
expired vs expires, a CATALOG column of statuses, and one ISO 8601 UTC time format in the timeline."""

from __future__ import annotations

import re

from imgscan.timeline import _utc
from imgscan.views.text import WIDTH
from tests.conftest import REPO, run_imgscan

BUILT = REPO / "sample_images" / "built"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_scan_table_prints_each_fix_once_wraps_evidence_and_says_since():
    table = run_imgscan("scan", BUILT / "seed000.vhdx", "--as-of", "2013-07-01").stdout
    assert table.count('"State"=dword:00023c00') == 1
    assert "fix: the same as for wintrust-offline-revocation above" in table
    assert "wintrust-offline-revocation  Users\\nfury\\NTUSER.DAT  (since 2012-04-24T08:54:49Z)" in table
    evidence = [line for line in table.splitlines() if line.startswith(("  evidence:", "      "))]
    assert evidence and max(len(line) for line in evidence) <= WIDTH
    heads = [line for line in table.splitlines() if re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO) ", line)]
    assert heads and all(re.search(r"\((from|seen|since|at every update install)", h) for h in heads)


def test_catalogs_say_expired_once_the_day_has_passed():
    before = run_imgscan("catalogs", BUILT / "seed001.vhdx", "--as-of", "2013-01-01").stdout
    after = run_imgscan("catalogs", BUILT / "seed001.vhdx", "--as-of", "2015-01-01").stdout
    line = next(x for x in before.splitlines() if "Package_for_KB2705219" in x and "servicing" in x)
    assert line.rstrip().endswith("expires")
    line = next(x for x in after.splitlines() if "Package_for_KB2705219" in x and "servicing" in x)
    assert line.rstrip().endswith("expired")


def test_packages_catalog_column_holds_statuses_and_fails_from_holds_days():
    table = run_imgscan("packages", BUILT / "seed001.vhdx", "--as-of", "2015-01-01").stdout
    rows = table.split("PACKAGE", 1)[1].splitlines()[1:]
    statuses = {row.split()[-2] if re.search(r"\d{4}-\d\d-\d\d$", row) else row.split()[-1] for row in rows if row}
    assert statuses <= {"valid", "expires", "expired", "untrusted", "unsigned", "unreadable", "no", "catalog"}
    assert "expired" in statuses


def test_timeline_uses_one_utc_format():
    for fmt_image in ("seed000.vhdx", "seed001.vhdx"):
        table = run_imgscan("timeline", BUILT / fmt_image, "--as-of", "2013-07-05", "-f", "csv").stdout
        times = [line.split(",", 1)[0] for line in table.splitlines()[1:]]
        assert times and all(ISO_UTC.match(t) for t in times), times
        assert "valid until no end" not in table


def test_local_log_times_are_converted_with_the_image_offset():
    assert _utc("2013-07-01T09:04:27", 120) == "2013-07-01T07:04:27Z"  # UTC+2: two hours earlier in UTC
    assert _utc("2013-07-01T09:04:27", None) == "2013-07-01T09:04:27Z"
    assert _utc("2013-07-01") == "2013-07-01T00:00:00Z"
    assert _utc("2020-05-02T05:06:58.595000Z") == "2020-05-02T05:06:58Z"
