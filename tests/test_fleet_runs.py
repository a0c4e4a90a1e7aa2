"""Issue 24 parts 3, 4 and 5: runs that never mix dates, --resume that says what it reused, multi-image
WIMs in a fleet, extracted volumes found in a searched directory, and what a run prints."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REPO, run_imgscan

BUILT = REPO / "sample_images" / "built"


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("healthy", "ref-w7-2012q3"):
        shutil.copyfile(BUILT / f"{name}.vhdx", folder / f"{name}.vhdx")
    return folder


def summary(run) -> dict[str, dict]:
    assert run.code in (0, 1), run.stderr
    return {r["host"]: r for r in json.loads(run.stdout)}


def words(text: str) -> str:
    return " ".join(text.split())


def test_each_run_is_recorded_and_shown_alone(images, fleet_db):
    db = fleet_db.arg
    summer = summary(run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", db, "-f", "json", "--jobs", "1"))
    winter = summary(run_imgscan("fleet", images, "--as-of", "2012-12-01", "--db", db, "-f", "json", "--jobs", "1"))
    assert len(summer) == len(winter) == 2  # each run's own hosts, never both runs' rows
    assert {r["as_of"] for r in summer.values()} == {"2013-07-05"} and {r["as_of"] for r in winter.values()} == {"2012-12-01"}
    assert summer["REF-W7-2012Q3"]["first_failure"] == winter["REF-W7-2012Q3"]["first_failure"] == "2013-06-30"
    latest = run_imgscan("fleet", "--db", db, "--report")
    assert "run 2: 2 host(s) on 2 image(s), judged as of 2012-12-01" in latest.stdout
    assert "failing from 2013-06-30 1 host(s): REF-W7-2012Q3" in words(latest.stdout)  # not yet failing on 2012-12-01
    first = run_imgscan("fleet", "--db", db, "--report", "--run", "1")
    assert "run 1: 2 host(s) on 2 image(s), judged as of 2013-07-05" in first.stdout and "2012-12-01" not in first.stdout
    assert "failing since 2013-06-30 1 host(s): REF-W7-2012Q3" in words(first.stdout)
    runs = fleet_db.query("SELECT id, as_of, horizon_days, options, version, started_at, finished_at FROM runs ORDER BY id")
    assert [(r["id"], r["as_of"], r["horizon_days"]) for r in runs] == [(1, "2013-07-05", 365), (2, "2012-12-01", 365)]
    assert all(r["started_at"] <= r["finished_at"] for r in runs) and json.loads(runs[0]["options"])["inputs"] == [str(images)]
    missing = run_imgscan("fleet", "--db", db, "--report", "--run", "7")
    assert missing.code == 2 and "no run 7 (its latest run is 2)" in missing.stderr and "Traceback" not in missing.stderr


def test_the_fleet_report_records_each_hosts_image_sha256(images, tmp_path):
    """The fleet's JSON and CSV named each host's image by path only: its SHA-256 (the evidence judged) was in the
    database alone. Both now carry it, as sha256sum gives it, also for a capture that could not be read."""
    broken = images / "cut.vhdx"
    broken.write_bytes((images / "healthy.vhdx").read_bytes()[: 1 << 20])
    db = tmp_path / "f.sqlite"
    rows = json.loads(run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", db, "-f", "json").stdout)
    digests = {Path(r["image"]).name: r["image_sha256"] for r in rows}
    listed = subprocess.run(["sha256sum", *sorted(str(p) for p in images.glob("*.vhdx"))], capture_output=True, text=True)
    expected = {Path(line.split(None, 1)[1]).name: line.split()[0] for line in listed.stdout.splitlines()}
    assert digests == expected  # the unreadable capture too: the evidence a responder asks about first
    shown = run_imgscan("fleet", "--db", db, "--report", "-f", "csv").stdout
    assert {Path(r["image"]).name: r["image_sha256"] for r in csv.DictReader(io.StringIO(shown))} == digests
    page = run_imgscan("fleet", "--db", db, "--report", "-f", "html").stdout
    cells = re.findall(r"<tr data-host[^>]*><td>[^<]*</td><td>([^<]*)</td><td class=\"hash\">([0-9a-f]*)</td>", page)
    assert {Path(image).name: digest for image, digest in cells} == digests


def test_fleet_options_that_would_be_ignored_are_usage_errors(images, tmp_path):
    """--run 1 without --resume or --report started run 3 as of today, silently; --report with images or a day
    rendered the stored run and ignored them. Each is now one usage line, before any database is made."""
    db = tmp_path / "f.sqlite"
    for extra, said in (
        ((images, "--run", "1"), "--run 1 chooses the run --resume continues or --report shows"),
        ((images, "--report"), "--report renders a saved run and scans nothing"),
        (("--report", "--as-of", "2014-01-01"), "--report shows a run as it was judged: --as-of does not apply"),
    ):
        run = run_imgscan("fleet", *extra, "--db", db)
        assert run.code == 2 and run.stderr.count("\n") == 1 and said in run.stderr, run.stderr
    assert not db.exists()


def test_resume_reports_reused_rescanned_and_new(images, fleet_db):
    db = fleet_db.arg
    args = ("--as-of", "2013-07-05", "--db", db, "-f", "json", "--jobs", "1")
    summary(run_imgscan("fleet", images, *args))
    shutil.copyfile(BUILT / "ws-acc-0417.vhdx", images / "healthy.vhdx")  # one image changed
    shutil.copyfile(BUILT / "ws-acc-0417.vhdx", images / "added.vhdx")  # and one added
    resumed = run_imgscan("fleet", images, *args, "--resume")
    counted = "1 host(s) reused, 1 rescanned (image or settings changed), 0 retried (unreadable or incomplete before), 1 new"
    assert f"run 1 resumed: {counted}" in resumed.stderr
    assert resumed.code == 1, resumed.stderr
    origins = {r["image"].rsplit("/", 1)[-1]: r["origin"] for r in json.loads(resumed.stdout)}
    assert origins == {"ref-w7-2012q3.vhdx": "reused", "healthy.vhdx": "rescanned", "added.vhdx": "new"}
    # a capture it could not read is tried again, and said so: nothing about it changed that it knows of
    (images / "cut.vhdx").write_bytes((BUILT / "healthy.vhdx").read_bytes()[:3_000_000])
    run_imgscan("fleet", images, *args, "--resume")
    again = run_imgscan("fleet", images, *args, "--resume")
    assert (
        "run 1 resumed: 3 host(s) reused, 0 rescanned (image or settings changed), 1 retried (unreadable or incomplete "
        "before), 0 new" in again.stderr
    )
    assert {r["image"].rsplit("/", 1)[-1]: r["origin"] for r in json.loads(again.stdout)}["cut.vhdx"] == "retried"
    assert len(fleet_db.query("SELECT id FROM runs")) == 1  # continued, not a new run
    other = run_imgscan("fleet", images, "--as-of", "2014-01-01", "--db", db, "--resume")
    assert other.code == 2 and "run 1: judges hosts as of 2013-07-05" in other.stderr


@pytest.fixture(scope="module")
def wims(tmp_path_factory):
    out = tmp_path_factory.mktemp("wims")
    return build(load("ws-acc-0417"), out, ("wim-multi",))["wim-multi"]


def test_multi_image_wim_by_index_name_column_and_all_images(wims, tmp_path):
    db = tmp_path / "wim.sqlite"
    unchosen = run_imgscan("fleet", wims, "--as-of", "2013-07-05", "--db", db, "-f", "json")
    assert unchosen.code == 2
    (row,) = json.loads(unchosen.stdout)
    assert row["scan"] == "unreadable" and "--index" in row["error"]
    chosen = summary(run_imgscan("fleet", wims, "--index", "1", "--as-of", "2013-07-05", "--db", db, "-f", "json"))
    assert list(chosen) == ["WS-ACC-0417"] and chosen["WS-ACC-0417"]["image_index"] == 1
    by_name = run_imgscan("fleet", wims, "--image-name", "Windows 7 Professional (ws-acc-0417)", "--db", db, "-f", "json")
    assert list(summary(by_name)) == ["WS-ACC-0417"]
    every = json.loads(run_imgscan("fleet", wims, "--all-images", "--as-of", "2013-07-05", "--db", db, "-f", "json").stdout)
    assert {(r["image_index"], r["scan"]) for r in every} == {(1, "scanned"), (2, "unreadable")}
    assert "holds no Windows" in next(r["error"] for r in every if r["image_index"] == 2)
    hosts = tmp_path / "hosts.csv"
    hosts.write_text(f"path,host,index\n{wims},PC-1,1\n{wims},PE,2\n", encoding="utf-8")
    listed = {
        r["host"]: r for r in json.loads(run_imgscan("fleet", hosts, "--as-of", "2013-07-05", "--db", db, "-f", "json").stdout)
    }
    assert listed["PC-1"]["scan"] == "scanned" and listed["PE"]["scan"] == "unreadable"


def test_extracted_windows_folders_in_a_searched_directory(tmp_path):
    root = tmp_path / "captures"
    build(load("healthy"), root / "site-a", ("dir",))
    shutil.copyfile(BUILT / "ref-w7-2012q3.vhdx", root / "site-b.vhdx")
    rows = summary(run_imgscan("fleet", root, "--as-of", "2013-07-05", "--db", tmp_path / "d.sqlite", "-f", "json"))
    assert set(rows) == {"WS-HEALTHY", "REF-W7-2012Q3"}
    assert rows["WS-HEALTHY"]["image"] == str((root / "site-a" / "healthy.dir").resolve())


def test_verbose_says_each_host_and_the_cache_only_then(images, tmp_path):
    db = tmp_path / "v.sqlite"
    quiet = run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", db, "--jobs", "1")
    assert "verdict cache" not in quiet.stdout + quiet.stderr and "REF-W7-2012Q3: fail" not in quiet.stderr
    loud = run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", db, "--jobs", "1", "-v")
    assert "REF-W7-2012Q3 (" in loud.stderr and "): fail, critical, from 2013-06-30" in loud.stderr
    assert "WS-HEALTHY (" in loud.stderr and "): pass" in loud.stderr
    assert "verdict cache:" in loud.stdout
    assert "2 host(s): 1 fail, 1 pass, 0 unreadable" in quiet.stdout
