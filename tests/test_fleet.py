"""Issue 7: fleets of captures on a local pool and a Dask cluster, resumable after kill -9; issue 24: the same
tests on both stores, the embedded SQLite file and a real PostgreSQL server (`fleet_db`, tests/servers.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan
from tests.servers import PASSWORD


def host(name: str, computer: str, out, change=None):
    scenario = load(name)
    scenario.computer_name = computer
    scenario.name = f"{name}-{computer}"
    if change:
        change(scenario)
    return build(scenario, out, ("vhdx",))["vhdx"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    out = tmp_path_factory.mktemp("fleet")
    images = out / "images"
    paths = {
        "WS-0001": host("ws-acc-0417", "WS-0001", images),
        "WS-0002": host("ws-acc-0417", "WS-0002", images),
        "WS-0003": host("ref-w7-2012q3", "WS-0003", images),
        "WS-0004": host("healthy", "WS-0004", images),
        "WS-0005": host("healthy", "WS-0005", images),
    }
    corrupt = images / "WS-0006.vhdx"
    corrupt.write_bytes(paths["WS-0004"].read_bytes()[:1_000_000])
    paths["WS-0006"] = corrupt
    return out, paths


def rows(db):
    return db.query("SELECT path, host, status, worst, first_failure, rules, error, labels FROM scans")


def secret_kept(db, *runs):
    """The password of a PostgreSQL --db appears in no output."""
    return all(PASSWORD not in run.stdout + run.stderr for run in runs)


def test_fleet_verdicts_error_row_and_exit(fleet, fleet_db):
    out, paths = fleet
    db = fleet_db
    run = run_imgscan("fleet", out / "images", "--as-of", "2013-07-05", "--db", db.arg, "--jobs", "2", "--format", "json")
    assert run.code == 1, run.stderr
    assert secret_kept(db, run)
    summary = json.loads(run.stdout)
    by_host = {r["host"]: r for r in summary}
    assert set(by_host) == {"WS-0001", "WS-0002", "WS-0003", "WS-0004", "WS-0005", "WS-0006.vhdx"}
    # which of two workers judged a catalog first is not the same on every run: the JSON, the same bytes for
    # the same input, leaves those counts to -v and the database
    assert not any({"verdicts_reused", "verdicts_judged"} & set(r) for r in summary)
    assert by_host["WS-0003"]["worst"] == "critical" and by_host["WS-0003"]["first_failure"] == "2013-06-30"
    assert "qfe-empty" in by_host["WS-0003"]["rules"]
    assert by_host["WS-0001"]["worst"] == "high" and "wintrust-offline-revocation" in by_host["WS-0001"]["rules"]
    # no prediction has a date, but its setup log shows the failure on 2012-04-24: that is its first failure
    assert by_host["WS-0001"]["first_failure"] == "2012-04-24" and by_host["WS-0001"]["verdict"] == "fail"
    assert by_host["WS-0003"]["verdict"] == "fail" and by_host["WS-0003"]["scan"] == "scanned"
    healthy = by_host["WS-0004"]
    assert healthy["worst"] == "" and (healthy["scan"], healthy["verdict"]) == ("scanned", "pass")
    unreadable = by_host["WS-0006.vhdx"]
    assert (unreadable["scan"], unreadable["verdict"]) == ("unreadable", "") and "truncated" in unreadable["error"]
    assert [r["host"] for r in summary[:3]] == ["WS-0001", "WS-0002", "WS-0003"]  # sorted by first failure date
    stored = rows(db)
    assert len(stored) == 6 and len({r["path"] for r in stored}) == 6
    rules = {r["rule"] for r in db.query("SELECT DISTINCT rule FROM findings")}
    query = "SELECT r.report FROM scans s JOIN reports r ON r.digest = s.report_digest WHERE s.host = 'WS-0003'"
    report = json.loads(db.query(query)[0]["report"])
    assert {"qfe-empty", "catalog-expiry", "wintrust-offline-revocation"} <= rules
    # the catalog verdict cache is a table of the same store: each distinct catalog once, shared by the hosts
    cached = db.query("SELECT key FROM verdicts")
    assert cached and len(cached) == len({r["key"] for r in cached})
    assert report["host"]["name"] == "WS-0003" and report["as_of"] == "2013-07-05"


def test_manifest_hosts_labels_and_report_only(fleet, tmp_path, fleet_db):
    out, paths = fleet
    manifest = tmp_path / "hosts.csv"
    manifest.write_text(f"path,host,site\n{paths['WS-0003']},berlin-042,BER\n{paths['WS-0004']},,HAM\n")
    db = fleet_db
    assert run_imgscan("fleet", manifest, "--as-of", "2013-07-05", "--db", db.arg, "--jobs", "1").code == 1
    stored = {r["host"]: r for r in rows(db)}
    assert set(stored) == {"berlin-042", "WS-0004"}  # manifest name, else the image's ComputerName
    assert json.loads(stored["berlin-042"]["labels"]) == {"site": "BER"}
    html = tmp_path / "fleet.html"
    again = run_imgscan("fleet", "--db", db.arg, "--report", "--format", "html", "-o", html)
    assert again.code == 1 and PASSWORD not in html.read_text()
    page = html.read_text()
    assert 'data-day="2013-06-30" data-hosts="1"' in page and "berlin-042" in page
    assert "1 of 2 host(s)" in page


def test_kill_mid_run_then_resume_records_each_image_once(tmp_path, fleet_db):
    images = tmp_path / "images"
    for n in range(8):
        host("healthy", f"WS-{n:04d}", images)
    db = fleet_db
    command = [sys.executable, "-m", "imgscan", "fleet", str(images), "--db", db.arg, "--jobs", "1", "--as-of", "2013-07-05"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(rows(db)) < 2:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = {r["path"] for r in rows(db)}
    assert 2 <= len(before) < 8, f"kill came too late or too early: {len(before)} rows"
    stamps = {r["path"]: r["scanned_at"] for r in db.query("SELECT path, scanned_at FROM scans")}
    resumed = subprocess.run(command + ["--resume", "--format", "json"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert PASSWORD not in resumed.stdout + resumed.stderr
    after = rows(db)
    assert len(after) == 8 and len({r["path"] for r in after}) == 8
    kept = {r["path"]: r["scanned_at"] for r in db.query("SELECT path, scanned_at FROM scans")}
    assert all(kept[path] == stamps[path] for path in before)  # finished images were skipped, not rescanned


CRASH = """
import os
from imgscan.artefacts import MACHINE_HIVES, host
from imgscan.check import Check, Rule, Severity

class Crash(Check):
    rules = (Rule(id="test-crash-worker", severity=Severity.INFO, title="t", summary="t"),)
    needs = (MACHINE_HIVES,)

    def run(self, context):
        if host(context)["name"] == "WS-CRASH":
            os._exit(9)  # the worker process dies, as on an out-of-memory kill
        return []
"""


def test_dead_worker_becomes_an_error_row(tmp_path, fleet_db):
    images = tmp_path / "images"
    host("healthy", "WS-CRASH", images)
    host("healthy", "WS-FINE", images)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "crash.py").write_text(CRASH)
    db = fleet_db
    run = run_imgscan("fleet", images, "--db", db.arg, "--jobs", "2", "--plugins", plugins, "--format", "json")
    stored = {r["host"]: r for r in rows(db)}
    assert stored["WS-FINE"]["status"] == "ok"
    crashed = next(r for r in stored.values() if r["host"] != "WS-FINE")
    assert crashed["status"] == "error" and "worker process died" in crashed["error"]
    assert run.code == 2 and "Traceback" not in run.stderr


RAISES = """
from imgscan.check import Check, Rule, Severity

class Boom(Check):
    rules = (Rule(id="site-boom", severity=Severity.HIGH, title="Always crashes", summary="t"),)

    def run(self, context):
        raise RuntimeError("kaboom")
"""


def test_a_crashed_check_leaves_a_host_incomplete_never_passing_and_exits_3(fleet, tmp_path, fleet_db):
    """As scan and diff: a check that crashed hides what it would have found, so no host passes on it; a host
    that fails anyway still fails, the run exits 3 naming the hosts, and --resume judges them again."""
    out, paths = fleet
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "boom.py").write_text(RAISES)
    args = ("--as-of", "2013-07-05", "--db", fleet_db.arg, "--jobs", "1", "--plugins", plugins, "-f", "json")
    run = run_imgscan("fleet", paths["WS-0001"], paths["WS-0004"], *args)
    assert run.code == 3 and "Traceback" not in run.stderr, run.stderr
    line = "2 of 2 host(s) were judged without the findings of a check that crashed (WS-0001, WS-0004)"
    assert f"imgscan: error: {line}: their rows name it; the gate cannot pass" in run.stderr
    by_host = {r["host"]: r for r in json.loads(run.stdout)}
    assert (by_host["WS-0001"]["scan"], by_host["WS-0001"]["verdict"]) == ("incomplete", "fail")
    assert (by_host["WS-0004"]["scan"], by_host["WS-0004"]["verdict"]) == ("incomplete", "")
    assert all(r["error"] == "check boom crashed (a bug), so its findings are missing" for r in by_host.values())
    assert {r["status"] for r in rows(fleet_db)} == {"ok"}  # judged: the reports are stored
    (plugins / "boom.py").write_text(RAISES.replace('raise RuntimeError("kaboom")', "return []"))
    resumed = run_imgscan("fleet", paths["WS-0001"], paths["WS-0004"], *args, "--resume")
    assert "0 host(s) reused, 0 rescanned (image or settings changed), 2 retried" in resumed.stderr
    assert resumed.code == 1, resumed.stderr
    by_host = {r["host"]: r for r in json.loads(resumed.stdout)}
    assert [(r["scan"], r["verdict"], r["error"]) for r in by_host.values()] == [("scanned", "fail", ""), ("scanned", "pass", "")]


def test_one_image_by_relative_absolute_and_linked_path_is_one_row(fleet, tmp_path, fleet_db):
    out, paths = fleet
    image = paths["WS-0003"]
    link = tmp_path / "alias.vhdx"
    link.symlink_to(image)
    relative = os.path.relpath(image, tmp_path)
    db = fleet_db
    args = ("--as-of", "2013-07-05", "--db", db.arg, "--jobs", "1", "--format", "json")
    first = run_imgscan("fleet", relative, image, link, *args, cwd=tmp_path)
    summary = json.loads(first.stdout)
    assert len(summary) == 1 and summary[0]["host"] == "WS-0003"
    assert [r["path"] for r in rows(db)] == [str(image.resolve())]
    again = run_imgscan("fleet", link, *args, "--resume", cwd=tmp_path)
    assert len(json.loads(again.stdout)) == 1 and len(rows(db)) == 1


def test_file_named_like_an_image_without_its_header_is_an_error_row(tmp_path, fleet_db):
    images = tmp_path / "images"
    host("healthy", "WS-0100", images)
    (images / "notes.vhdx").write_text("this is not a disk image\n")
    (images / "readme.txt").write_text("not an image, and not named like one\n")
    run = run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", fleet_db.arg, "--jobs", "1", "--format", "json")
    by_host = {r["host"]: r for r in json.loads(run.stdout)}
    assert set(by_host) == {"WS-0100", "notes.vhdx"}
    assert by_host["notes.vhdx"]["scan"] == "unreadable" and by_host["notes.vhdx"]["error"]


def test_chart_counts_every_failing_host_even_without_a_dated_finding(tmp_path, fleet_db):
    images = tmp_path / "images"
    host("ws-acc-0417", "WS-NOLOG", images, change=lambda s: setattr(s, "logs", []))  # fails, but nothing dated
    host("healthy", "WS-FINE", images)
    db, html = fleet_db.arg, tmp_path / "chart.html"
    run = run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", db, "--jobs", "1", "--format", "html", "-o", html)
    assert run.code == 1, run.stderr
    page = html.read_text()
    assert 'data-day="2013-07-05" data-hosts="1"' in page  # counted from the as-of day
    assert "1 of 2 host(s)" in page
    table = run_imgscan("fleet", "--db", db, "--report")
    assert "VERDICT" in table.stdout and "2 host(s): 1 fail, 1 pass, 0 unreadable" in table.stdout


@pytest.mark.parametrize("content", ["empty", "no-windows"])
def test_a_folder_with_no_image_is_a_one_line_error_and_no_database(tmp_path, content):
    folder = tmp_path / "images"
    folder.mkdir()
    if content == "no-windows":
        (folder / "docs").mkdir()
        (folder / "docs" / "readme.txt").write_text("not an image\n")
    db = tmp_path / "fleet.sqlite"
    run = run_imgscan("fleet", folder, "--as-of", "2013-07-05", "--db", db)
    assert run.code == 2, run.stdout  # a gate pointed at the wrong folder must not pass on zero hosts
    assert run.stderr.strip().count("\n") == 0 and "holds no disk image, WIM or extracted Windows volume" in run.stderr
    assert "Traceback" not in run.stderr and not db.exists()
