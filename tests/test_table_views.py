"""Table output for people: one fix per account, wrapped evidence, a 'from/since' on every finding,
expired vs expires, a CATALOG column of statuses, and one ISO 8601 UTC time format in the timeline."""

from __future__ import annotations

import csv
import io
import re

from imgscan.timeline import _utc
from imgscan.views.text import WIDTH
from tests.conftest import REPO, run_imgscan

BUILT = REPO / "sample_images" / "built"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISO_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def test_scan_table_prints_each_fix_once_wraps_evidence_and_says_since():
    table = run_imgscan("scan", BUILT / "seed000.vhdx", "--as-of", "2013-07-01").stdout
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


def test_timeline_shows_utc_as_utc_and_local_times_as_local():
    """ISO 8601 throughout; `Z` only on times that are UTC: a text log's time in an image that does not record
    its time zone is shown as written, and says so (issue 22: `…Z … (host local time, zone unknown)`)."""
    for fmt_image in ("seed000.vhdx", "seed001.vhdx"):
        csv_text = run_imgscan("timeline", BUILT / fmt_image, "--as-of", "2013-07-05", "-f", "csv").stdout
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert rows
        for row in rows:
            local = "the image does not record its time zone" in row["detail"]
            assert (ISO_LOCAL if local else ISO_UTC).match(row["time"]), row
        assert any("time zone" in row["detail"] for row in rows)
        assert "valid until no end" not in str(rows)
    table = run_imgscan("timeline", BUILT / "seed000.vhdx", "--as-of", "2013-07-05").stdout
    assert "2012-04-24T08:54:49   first failure in a setup log" in table
    assert not re.search(r"Z .*host local time", table)


def test_local_log_times_are_converted_with_the_image_offset():
    assert _utc("2013-07-01T09:04:27", 120) == "2013-07-01T07:04:27Z"  # UTC+2: two hours earlier in UTC
    assert _utc("2013-07-01T09:04:27", None) == "2013-07-01T09:04:27Z"
    assert _utc("2013-07-01") == "2013-07-01T00:00:00Z"
    assert _utc("2020-05-02T05:06:58.595000Z") == "2020-05-02T05:06:58Z"
