"""The inputs a CI gate trusts, read truthfully: an impossible unquoted date in the ignore file or a YAML host
list is a one-line mistake (exit 2), not an internal error (exit 3); an empty host list is refused, not passed
on zero hosts; `fleet --updates` says on its last line why it exits 1; hosts that share a name (copies of one
image share its ComputerName) are named with their images; a host list's error gives its advice once."""

from __future__ import annotations

import html
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from imgscan.fleet.manifest import read
from imgscan.fleet.summary import summarize, to_table
from imgscan.severity import Severity
from tests.conftest import REALDATA, REPO, run_imgscan

BUILT = REPO / "sample_images" / "built"
HEALTHY = BUILT / "healthy.vhdx"
Q3 = BUILT / "ref-w7-2012q3.vhdx"  # catalog-expiry findings from 2013-06-30


def one_error(stderr: str) -> str:
    """The one line a refused input prints (and nothing else: no traceback)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --- 1. an impossible date, unquoted or quoted, in the ignore file and in a YAML host list


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("2013-02-30", "day is out of range for month"),
        ("2013-13-01", "there is no month 13"),
        ('"2013-02-30"', "day is out of range for month"),  # quoted: the same line as unquoted
    ],
)
def test_an_impossible_expires_day_is_a_one_line_error(tmp_path, written, why):
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(f"- rule: catalog-expiry\n  reason: CHG-1234\n  expires: {written}\n", encoding="utf-8")
    run = run_imgscan("scan", HEALTHY, "--as-of", "2013-07-05", "--ignore", ignore, "-f", "json")
    assert run.code == 2, run.stderr
    day = written.strip('"')
    assert one_error(run.stderr) == (
        f"imgscan: error: {ignore}: entry 1: expires must be a date (YYYY-MM-DD), not '{day}' ({why})"
    )


@pytest.mark.parametrize("written", ["2999-01-31", '"2999-01-31"'])
def test_a_real_expires_day_applies_quoted_or_not(tmp_path, written):
    """Before, the quoted day was refused ("must be a date") while the unquoted one was read: both are one day."""
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(f"- rule: catalog-expiry\n  reason: CHG-1234\n  expires: {written}\n", encoding="utf-8")
    run = run_imgscan("scan", Q3, "--as-of", "2013-07-05", "--ignore", ignore, "-f", "json")
    assert run.code in (0, 1) and "error" not in run.stderr, run.stderr
    expiring = [f for f in run.report["findings"] if f["rule"] == "catalog-expiry"]
    assert expiring and all(f["suppressed"]["expires"] == "2999-01-31" for f in expiring)


def test_an_expired_unquoted_day_still_reads_as_a_day(tmp_path):
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text("- rule: catalog-expiry\n  reason: CHG-1234\n  expires: 2013-03-01\n", encoding="utf-8")
    run = run_imgscan("scan", HEALTHY, "--as-of", "2013-07-05", "--ignore", ignore, "-f", "json")
    assert run.code == 0, run.stderr
    assert (
        f"imgscan: warning: {ignore} entry 1: ignore entry for catalog-expiry expired on 2013-03-01 and no longer "
        "applies (CHG-1234)"
    ) in run.stderr.splitlines()


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("2013-02-30", "deployed '2013-02-30': day is out of range for month"),
        ("2013-13-01", "deployed '2013-13-01': there is no month 13"),
        ("!!timestamp 2013-02-30", "not valid YAML (day is out of range for month)"),  # an explicit tag
    ],
)
def test_an_impossible_deployment_day_in_a_yaml_host_list_is_a_one_line_error(tmp_path, written, why):
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(f"- path: {HEALTHY}\n  host: PC-A\n- path: {HEALTHY}\n  host: PC-B\n  deployed: {written}\n")
    db = tmp_path / "fleet.sqlite"
    run = run_imgscan("fleet", hosts, "--as-of", "2013-07-05", "--db", db)
    assert run.code == 2, run.stderr
    assert one_error(run.stderr) == f"imgscan: error: {hosts} line {3 if 'deployed' in why else 5}: {why}"
    assert not db.exists()


def test_a_real_unquoted_deployment_day_in_a_yaml_host_list_still_reads(tmp_path):
    """A guard (it passed before too): dates are now read as text and the column judges them."""
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(f"hosts:\n  - path: {HEALTHY}\n    host: PC-A\n    deployed: 2013-03-01\n")
    [host] = read(hosts)
    assert host.facts.deployed == date(2013, 3, 1)


# --- 2. a host list that lists no host


@pytest.mark.parametrize(
    ("name", "text"),
    [("hosts.csv", "path,host\n"), ("hosts.csv", "path,host\n\n\n"), ("hosts.yaml", "[]\n"), ("hosts.yaml", "hosts: []\n")],
)
def test_a_host_list_that_lists_no_host_is_refused(tmp_path, name, text):
    hosts = tmp_path / name
    hosts.write_text(text, encoding="utf-8")
    db = tmp_path / "fleet.sqlite"
    run = run_imgscan("fleet", hosts, "--as-of", "2013-07-05", "--db", db)
    assert run.code == 2, run.stdout  # a list emptied by a broken export must not let the gate pass
    assert one_error(run.stderr) == (
        f"imgscan: error: {hosts}: lists no hosts (a host list names each host's image, one row or entry per host)"
    )
    assert run.stdout == "" and not db.exists()


# --- 3. `fleet --updates`: the last line says why the run exits 1


@pytest.mark.realdata
def test_the_last_line_counts_the_hosts_an_update_will_not_install_on(tmp_path):
    hosts = tmp_path / "hh.csv"
    hosts.write_text(f"path,host\n{HEALTHY},\n", encoding="utf-8")
    update = REALDATA / "updates" / "HackAndPwn_Windows6.1-KB4528069-x64.msu"
    run = run_imgscan("fleet", hosts, "--updates", update, "--as-of", "2020-03-01", "--db", tmp_path / "fleet.sqlite")
    assert run.code == 1, run.stderr  # the host passes; the update will not install on it
    lines = run.stdout.splitlines()
    assert "WS-HEALTHY  healthy.vhdx  scanned  pass" in lines[1]
    assert f"  KB4528069 {update.name}: fails on 1 of 1 host(s): 1 from 2020-03-01" in lines
    assert lines[-1] == "1 host(s): 0 fail, 1 pass, 0 unreadable; 1 host(s) where an update of --updates will not install"


def _row(host: str, path: str, updates: list[dict[str, object]] | None = None) -> dict[str, object]:
    """A stored host row as Store.rows gives it, for a host that passes."""
    return {
        "host": host,
        "path": path,
        "status": "scanned",
        "error": "",
        "worst": "",
        "rules": "",
        "first_failure": "",
        "labels": {},
        "updates": updates or [],
    }


def test_the_last_line_names_no_update_when_every_update_installs():
    installs = {"file": "/u/a.msu", "kb": "KB1", "status": "installs", "hresult": "", "fails_from": None}
    summary = summarize([_row("PC-A", "/i/a.vhdx", [installs])], Severity.parse("high"))
    run = {"id": 1, "as_of": "2020-03-01", "horizon_days": 365, "finished_at": "2020-03-01T00:00:00"}
    assert to_table(summary, run).splitlines()[-1] == "1 host(s): 0 fail, 1 pass, 0 unreadable"
    fails = installs | {"status": "will-not-install", "hresult": "0x800F0823", "fails_from": "2020-03-01"}
    summary = summarize([_row("PC-A", "/i/a.vhdx", [fails]), _row("PC-B", "/i/a.vhdx", [installs])], Severity.parse("high"))
    last = to_table(summary, run).splitlines()[-1]
    assert last == "2 host(s): 0 fail, 2 pass, 0 unreadable; 1 host(s) where an update of --updates will not install"


# --- 4. hosts that share a name


def test_hosts_that_share_a_name_are_named_with_their_images(tmp_path):
    images = tmp_path / "images"
    (images / "old").mkdir(parents=True)
    for copy in ("copy1.vhdx", "copy2.vhdx", "old/copy1.vhdx"):  # one ComputerName, REF-W7-2012Q3
        shutil.copyfile(Q3, images / copy)
    shutil.copyfile(HEALTHY, images / "healthy.vhdx")  # WS-HEALTHY, a name no other host has
    db = tmp_path / "fleet.sqlite"
    run = run_imgscan("fleet", images, "--as-of", "2013-07-05", "--db", db, "--jobs", "1", "-v")
    assert run.code == 1, run.stderr
    real = Path(os.path.realpath(images))
    names = f"REF-W7-2012Q3 ({real / 'copy1.vhdx'}), REF-W7-2012Q3 ({real / 'old' / 'copy1.vhdx'}), REF-W7-2012Q3 (copy2.vhdx)"
    lines = run.stdout.splitlines()
    assert f"  failing since 2013-06-30    3 host(s): {names}" in lines  # one file name in two folders: by path
    assert "  passing through 2014-07-05  1 host(s): WS-HEALTHY" in lines
    # -v's line per host names the image of a host named by its ComputerName, by its path
    progress = {line for line in run.stderr.splitlines() if ": fail, " in line or ": pass" in line}
    copies = (real / "copy1.vhdx", real / "copy2.vhdx", real / "old" / "copy1.vhdx")
    assert progress == {f"REF-W7-2012Q3 ({c}): fail, critical, from 2013-06-30" for c in copies} | {
        f"WS-HEALTHY ({real / 'healthy.vhdx'}): pass"
    }
    # the HTML page's "which hosts fail when" rows use the summary's names
    page = run_imgscan("fleet", "--db", db, "--report", "-f", "html").stdout
    when = page.split('<table id="when">', 1)[1].split("</table>", 1)[0]
    for shown in names.split(", "):
        assert f"<td>{html.escape(shown)}</td>" in when
    # the reports keep the host's own name: only the summary's lines add the image
    report = run_imgscan("fleet", "--db", db, "--report", "-f", "json")
    assert sorted(r["host"] for r in json.loads(report.stdout)) == ["REF-W7-2012Q3"] * 3 + ["WS-HEALTHY"]


def test_fleet_says_it_applies_no_ignore_file(tmp_path):
    """scan and diff accept what the working directory's .imgscanignore.yaml lists; fleet judged the same image
    on all its findings without a word, so the two gates disagreed silently."""
    (tmp_path / ".imgscanignore.yaml").write_text(
        "- rule: catalog-expiry\n  reason: accepted until the rebuild\n", encoding="utf-8"
    )
    run = run_imgscan("fleet", Q3, "--as-of", "2013-07-05", "--db", tmp_path / "fleet.sqlite", cwd=tmp_path)
    warning = "imgscan: warning: .imgscanignore.yaml: fleet applies no ignore file; each host is judged on all its findings"
    assert run.code == 1 and warning in run.stderr.splitlines()
    (tmp_path / ".imgscanignore.yaml").unlink()
    again = run_imgscan("fleet", Q3, "--as-of", "2013-07-05", "--db", tmp_path / "fleet.sqlite", cwd=tmp_path)
    assert "ignore file" not in again.stderr


# --- also: a host list's error gives its advice once


def test_a_bad_target_firmware_gives_its_advice_once(tmp_path):
    hosts = tmp_path / "hosts.csv"
    hosts.write_text(f"path,host,target_firmware\n{HEALTHY},PC-A,2099\n", encoding="utf-8")
    run = run_imgscan("fleet", hosts, "--as-of", "2013-07-05", "--db", tmp_path / "fleet.sqlite")
    assert run.code == 2
    line = one_error(run.stderr)
    assert line.startswith(f"imgscan: error: {hosts} line 2: target_firmware 2099: is neither 2011-only, 2023, unknown nor")
    assert line.count("(export it with PowerShell:") == 1 and line.endswith(", dbx likewise)")


def test_resume_with_fewer_inputs_says_the_run_still_counts_the_others(tmp_path):
    """--resume continues a run: its summary counts every host it holds, so inputs that name fewer hosts are told
    which hosts it still counts, not left to read "1 host(s) reused" above a summary of two."""
    db = tmp_path / "fleet.sqlite"
    args = ("--as-of", "2013-07-05", "--db", db, "--jobs", "1")
    first = run_imgscan("fleet", HEALTHY, Q3, *args)
    assert first.code == 1, first.stderr
    resumed = run_imgscan("fleet", HEALTHY, *args, "--resume")
    assert "imgscan: run 1 resumed: 1 host(s) reused" in resumed.stderr
    warning = [line for line in resumed.stderr.splitlines() if "warning" in line]
    assert warning == [  # a host given as an image is keyed by its path
        f"imgscan: warning: run 1 also holds 1 host(s) these inputs do not name ({Q3.resolve()}); its summary counts "
        "them (start a new run to judge only these)"
    ]
    assert resumed.code == 1 and "2 host(s): 1 fail, 1 pass" in resumed.stdout
    same = run_imgscan("fleet", HEALTHY, Q3, *args, "--resume")
    assert "warning" not in same.stderr
