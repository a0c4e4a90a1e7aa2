"""One bad piece never sinks the scan: odd entries at expected paths, trees that are deep or oddly
named, damaged registry cells and huge logs become `errors` entries or `*-unreadable` findings, and
every other finding is still reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from imgscan.hashing import tree_sha256
from sample_images.logs import cbs_line, write_distinct_failures
from sample_images.scenario import load, write_tree
from tests.conftest import run_imgscan
from tests.corpus.generate import ODDITIES, _make_odd

NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]  # root that obeys file modes


def _scan(tree: Path, *args: str) -> tuple[int, dict, str]:
    proc = subprocess.run(
        [*NO_DAC, sys.executable, "-m", "imgscan", "scan", str(tree), "--as-of", "2013-07-01", "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("oddity", ODDITIES)
def test_odd_profile_hive_is_hive_unreadable_for_that_profile(tree_copy, tmp_path, oddity):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    _make_odd(tree / "Users" / "imageadmin" / "NTUSER.DAT", oddity)
    code, report, _ = _scan(tree)
    unreadable = [f for f in report["findings"] if f["rule"] == "hive-unreadable"]
    assert len(unreadable) == 1 and "imageadmin" in unreadable[0]["message"]
    assert any(e["path"] == r"Users\imageadmin\NTUSER.DAT" for e in report["errors"])
    # everything else is still judged: the seed's catalog predictions are all there
    assert {"catalog-expiry", "qfe-empty", "cbs-log-error"} <= {f["rule"] for f in report["findings"]}
    assert code == 1


@pytest.mark.parametrize("oddity", ODDITIES)
def test_odd_catalog_is_catalog_unreadable_and_the_rest_is_judged(tree_copy, tmp_path, oddity):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    name = "Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0.cat"
    _make_odd(tree / "Windows" / "servicing" / "Packages" / name, oddity)
    _, report, _ = _scan(tree)
    bad = [f for f in report["findings"] if f["rule"] == "catalog-unreadable"]
    assert len(bad) == 1 and name in bad[0]["message"]
    assert any("KB2705219" in f["message"] for f in report["findings"] if f["rule"] == "catalog-expiry")


@pytest.mark.parametrize(
    "relative",
    [
        "Windows/Logs/CBS/CBS.log",
        "Windows/System32/winevt/Logs/Setup.evtx",
        "Windows/servicing/Packages/Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0.mum",
    ],
)
def test_odd_logs_and_manifests_are_errors_entries(tree_copy, tmp_path, relative):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    _make_odd(tree / relative, "fifo")  # a FIFO would block a reader that opened it (the scan's timeout)
    _, report, _ = _scan(tree)
    windows_path = relative.replace("/", "\\")
    assert any(e["path"] == windows_path and "FIFO" in e["message"] for e in report["errors"]), report["errors"]
    assert "catalog-expiry" in {f["rule"] for f in report["findings"]}


def test_unreadable_file_says_permission_denied(tree_copy, tmp_path):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    _make_odd(tree / "Windows" / "Logs" / "CBS" / "CheckSUR.log", "unreadable")
    _, report, _ = _scan(tree)
    assert any("permission denied" in e["message"] for e in report["errors"])


def test_escaping_symlink_reads_nothing_outside(tree_copy, tmp_path):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    secret = tmp_path / "secret.log"
    secret.write_text(cbs_line(datetime(2013, 7, 1), "Error", "CBS", "SECRET [HRESULT = 0x80070005 - E_ACCESSDENIED]"))
    (tree / "Windows" / "Logs" / "CBS" / "CBS.log").unlink()
    os.symlink(secret, tree / "Windows" / "Logs" / "CBS" / "CBS.log")
    _, report, _ = _scan(tree)
    assert "SECRET" not in json.dumps(report)


# --- tree hashing ---------------------------------------------------------------------------------------


def test_tree_hash_survives_deep_nesting_odd_names_and_unreadable_entries():
    # outside pytest's temp folders, whose recursive clean-up cannot remove a 3,000-level tree
    work = Path(tempfile.mkdtemp(prefix="imgscan-deep-"))
    try:
        _hash_deep_and_odd_trees(work)
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=True)


def _hash_deep_and_odd_trees(tmp_path: Path) -> None:
    deep = tmp_path / "deep"
    deep.mkdir()
    fd = os.open(deep, os.O_RDONLY)
    for _ in range(3000):  # 3,000 levels: deeper than Python's recursion limit and than PATH_MAX
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    leaf = os.open("leaf", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
    os.write(leaf, b"x")
    os.close(leaf)
    os.close(fd)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / os.fsdecode(b"caf\xe9-latin1")).write_bytes(b"y")  # not UTF-8
    (odd / "locked").write_bytes(b"z")
    (odd / "locked").chmod(0)
    os.mkfifo(odd / "pipe")
    code = (
        "import sys; from pathlib import Path; from imgscan.hashing import tree_sha256;"
        "print(tree_sha256(Path(sys.argv[1])), tree_sha256(Path(sys.argv[2])))"
    )
    proc = subprocess.run([*NO_DAC, sys.executable, "-c", code, str(deep), str(odd)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split()
    assert len(first) == len(second) == 64


def test_tree_hash_is_stable_and_covers_names_contents_and_links(tmp_path):
    tree = tmp_path / "t"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "f").write_bytes(b"one")
    os.symlink("f", tree / "a" / "link")
    before = tree_sha256(tree)
    assert before == tree_sha256(tree)
    os.utime(tree / "a" / "f", (0, 0))
    assert tree_sha256(tree) == before  # times do not count
    (tree / "a" / "f").write_bytes(b"two")
    changed = tree_sha256(tree)
    assert changed != before
    (tree / "a" / "link").unlink()
    os.symlink("g", tree / "a" / "link")
    assert tree_sha256(tree) != changed
    (tree / "a" / "empty").mkdir()
    assert tree_sha256(tree) not in (before, changed)


# --- damaged registry cells ---------------------------------------------------------------------------


def test_damaged_value_cell_loses_only_its_package(tree_copy, tmp_path):
    tree = tree_copy("ref-w7-2012q3", tmp_path)
    software = tree / "Windows" / "System32" / "config" / "SOFTWARE"
    data = bytearray(software.read_bytes())
    victim = "Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0"
    key_at = data.index(victim.encode())  # the package's key name in its nk record
    value_at = data.index(b"CurrentState", key_at)  # a value name of that key, in its vk record
    assert data[value_at - 20 : value_at - 18] == b"vk"
    data[value_at - 20 : value_at - 18] = b"XX"  # python-registry: "Invalid VK Record ID"
    software.write_bytes(bytes(data))
    code, report, _ = _scan(tree)
    damaged = [e for e in report["errors"] if "damaged registry cell" in e["message"]]
    assert damaged and victim in damaged[0]["path"]
    states = {p["identity"]: p["state"] for p in report["inventory"]["packages"]}
    assert states["Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"] == "0x70"
    assert states[victim] is None  # its registration was lost, its files are still listed
    assert "qfe-empty" in {f["rule"] for f in report["findings"]}


# --- bounded logs ----------------------------------------------------------------------------------------


def test_two_hundred_thousand_distinct_failures_give_a_bounded_report(tmp_path):
    tree = write_tree(load("healthy"), tmp_path / "healthy")
    write_distinct_failures(tree / "Windows" / "Logs" / "CBS" / "CBS.log", 200_000)
    report = run_imgscan("scan", tree, "--as-of", "2013-07-01", "--format", "json").report
    findings = [f for f in report["findings"] if f["rule"] == "cbs-log-error"]
    assert 500 <= len(findings) <= 501
    other = [f for f in findings if f["message"].startswith("further subjects")]
    assert len(other) == 1
    assert len(json.dumps(report)) < 5_000_000  # bench/memory.py measures time and memory of this case


def test_sixty_five_thousand_distinct_codes_give_one_overflow_finding_and_a_small_report(tmp_path):
    """The failures past the first 500 fold into ONE finding per log family, counted per code, whatever
    codes they carry (before: one finding per code, 66,036 findings, 170 MB of JSON and 1.07 GB of
    memory for this log). Peak memory is the scan process's own (wait4), as bench/memory.py reads it."""
    tree = write_tree(load("healthy"), tmp_path / "healthy")
    write_distinct_failures(tree / "Windows" / "Logs" / "CBS" / "CBS.log", 200_000, codes=65_536)
    out = tmp_path / "report.json"
    # the scan is started by a small driver process: a child's peak RSS counts the memory of the process
    # it was forked from, and this test process is large; the driver reads the scan's own (wait4)
    driver = (
        "import os, subprocess, sys\n"
        "with open(sys.argv[1], 'wb') as out:\n"
        "    proc = subprocess.Popen([sys.executable, '-m', 'imgscan', 'scan', sys.argv[2], '--as-of', '2013-07-01',"
        " '--format', 'json'], stdout=out, stderr=subprocess.DEVNULL)\n"
        "    print(os.wait4(proc.pid, 0)[2].ru_maxrss)\n"
    )
    measured = subprocess.run([sys.executable, "-c", driver, str(out), str(tree)], capture_output=True, text=True, check=True)
    peak = int(measured.stdout)
    text = out.read_bytes()
    report = json.loads(text)
    findings = [f for f in report["findings"] if f["rule"] == "cbs-log-error"]
    assert len(findings) == 501 and len(text) < 2_000_000
    (other,) = [f for f in findings if f["message"].startswith("further subjects")]
    (counts,) = [e for e in other["evidence"] if "entries_per_code" in e]
    assert len(counts["entries_per_code"]) == 100  # the first 100 codes one by one, the rest together
    assert sum(counts["entries_per_code"].values()) + counts["entries_under_further_codes"] == 200_000 - 500
    assert "different codes" in other["message"] and other["hresult"] in counts["entries_per_code"]
    assert peak < 150 * 1024, f"peak {peak // 1024} MB"
