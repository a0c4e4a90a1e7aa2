"""A run that writes no report leaves no earlier run's report at -o. `imgscan scan good.vhdx -o report.sarif`
last night, `imgscan scan broken.vhdx -o report.sarif` tonight (exit 2), and report.sarif still held last night's
report, which a CI step run whatever the exit code (`if: always()`) uploaded as tonight's. A run that ends in
2, 3, 130 or 143 without writing its reports now removes what an earlier run left at each -o (and
--fix-script), says so in one line, and touches nothing that is not such a file. A run that writes them, exit 0,
1 or 2 (an unreadable host of a fleet), replaces them as before. Interrupting a real scan with a signal is in
tests/test_interrupt.py; the rules of what is removed, and the reports of one run written together, in
tests/unit/test_outputs.py.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from imgscan import cli, interrupt
from tests.conftest import REPO, run_imgscan

BUILT = REPO / "sample_images" / "built"
HEALTHY = BUILT / "healthy.vhdx"
FINDINGS = BUILT / "ws-acc-0417.vhdx"  # exit 1 as of 2013-07-01
UPDATES = REPO / "sample_images"  # a folder: preflight takes it, and the image is read (and refused) first
OLD = "last night's report\n"
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]  # a root that obeys file modes


def stale(*paths: Path) -> list[Path]:
    for path in paths:
        path.write_text(OLD)
    return list(paths)


def removed(*paths: Path) -> str:
    names = [str(p) for p in paths]
    said = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    return f"imgscan: removed {said}, an earlier run's report{'s' if len(names) > 1 else ''} (this run wrote none)\n"


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An input no command can read: exit 2 before any report is written."""
    path = tmp_path / "in" / "install.wim"
    path.parent.mkdir()
    path.write_bytes(b"")
    return path


# -- unreadable input (exit 2) -----------------------------------------------------------------------------------


def test_a_scan_of_an_unreadable_image_removes_every_earlier_report(empty, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    sarif, html, fixes = stale(out / "r.sarif", out / "r.html", out / "fixes.reg")
    run = run_imgscan("scan", empty, "-o", sarif, "-o", html, "--fix-script", fixes)
    assert run.code == 2 and run.stdout == ""
    error, said = run.stderr.splitlines(keepends=True)
    assert error.startswith(f"imgscan: error: {empty}: empty file")
    assert said == removed(sarif, html, fixes)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "command",
    [
        ("packages", "{empty}"),
        ("catalogs", "{empty}"),
        ("timeline", "{empty}"),
        ("diff", "{empty}", "{empty}"),
        ("preflight", "{empty}", str(UPDATES)),
        ("fleet", "{tmp}/missing.vhdx", "--db", "{tmp}/f.sqlite"),  # an input that is not there: no host, no report
        ("fleet", "--db", "{tmp}/f.sqlite"),  # no input at all: imgscan's own check, after the usage checks
    ],
    ids=["packages", "catalogs", "timeline", "diff", "preflight", "fleet", "fleet-without-input"],
)
def test_every_command_with_o_removes_an_earlier_report_when_its_input_is_unreadable(command, empty, tmp_path):
    report = stale(tmp_path / "r.json")[0]
    run = run_imgscan(*(arg.format(empty=empty, tmp=tmp_path) for arg in command), "-o", report)
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 2 and run.stderr.startswith("imgscan: error: ")
    assert run.stderr.endswith(removed(report))
    assert not report.exists()


def test_quiet_removes_it_without_the_line(empty, tmp_path):
    report = stale(tmp_path / "r.sarif")[0]
    run = run_imgscan("scan", empty, "-o", report, "-q")
    assert run.code == 2 and run.stderr.count("\n") == 1 and "removed" not in run.stderr
    assert not report.exists()


# -- usage errors found once -o was read ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ("--index", "1", "--image-name", "x"),  # imgscan's own check of the options
        ("--plugins", "{tmp}/plugins"),  # a check that does not load
        ("--no-such-option",),
    ],
    ids=["options", "plugins", "unknown"],
)
def test_a_usage_error_found_after_the_options_were_read_removes_it(extra, empty, tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "broken.py").write_text("raise RuntimeError('broken on import')\n")
    extra = tuple(arg.format(tmp=tmp_path) for arg in extra)
    report = stale(tmp_path / "r.sarif")[0]
    run = run_imgscan("scan", empty, "-o", report, *extra)
    error, said = run.stderr.splitlines(keepends=True)
    assert run.code == 2 and error.startswith("imgscan: error: ") and error.rstrip().endswith("--help")
    assert said == removed(report) and not report.exists()


def test_a_fleet_option_error_removes_it(tmp_path):
    report = stale(tmp_path / "summary.csv")[0]
    run = run_imgscan("fleet", HEALTHY, "--db", tmp_path / "f.sqlite", "--run", "3", "-o", report)
    assert run.code == 2 and run.stderr.endswith(removed(report)) and not report.exists()


def test_a_file_the_command_refuses_as_its_report_is_kept(empty, tmp_path):
    """-o naming a file whose name says no format, or an input, or a report of the wrong format: a usage error about
    that very file, which may be anything (notes, evidence). It stays, and nothing is said about it."""
    notes = stale(tmp_path / "notes.docx")[0]
    image = tmp_path / "golden.vhdx"
    shutil.copyfile(HEALTHY, image)
    wrong = stale(tmp_path / "r.json")[0]
    for args in (
        ("scan", empty, "-o", notes),
        ("scan", image, "-f", "json", "-o", image),
        ("scan", empty, "-f", "sarif", "-o", wrong),
        ("diff", empty, image, "-f", "json", "-o", image),
    ):
        run = run_imgscan(*args)
        assert run.code == 2 and run.stderr.count("\n") == 1 and "removed" not in run.stderr, run.stderr
    assert notes.read_text() == wrong.read_text() == OLD
    assert image.read_bytes() == HEALTHY.read_bytes()


# -- what is not an earlier report ----------------------------------------------------------------------------------


def test_a_report_made_read_only_is_kept(empty, tmp_path):
    """A report its owner made read-only is refused as -o up front (exit 2) and kept: run as a root that obeys file
    modes (as CI runs the tests, as root), since root may write any file and would replace it on success too."""
    kept = stale(tmp_path / "r.json")[0]
    kept.chmod(0o444)
    command = [*NO_DAC, sys.executable, "-m", "imgscan", "scan", str(empty), "-o", str(kept)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "removed" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert kept.read_text() == OLD


def test_a_pipe_and_a_link_to_one_are_untouched(empty, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "to-pipe.json"
    link.symlink_to(fifo)
    run = run_imgscan("scan", empty, "-f", "json", "-o", fifo, "-f", "json", "-o", link)
    assert run.code == 2 and run.stderr.count("\n") == 1, run.stderr
    assert fifo.is_fifo() and link.is_symlink()
    assert run_imgscan("scan", empty, "-o", "/dev/null").stderr.count("\n") == 1 and Path("/dev/null").is_char_device()


def test_a_link_to_an_earlier_report_is_removed_and_the_report_it_named_kept(empty, tmp_path):
    (tmp_path / "runs").mkdir()
    kept = stale(tmp_path / "runs" / "41.sarif")[0]
    link = tmp_path / "latest.sarif"
    link.symlink_to(kept)
    run = run_imgscan("scan", empty, "-o", link)
    assert run.code == 2 and run.stderr.endswith(removed(link))
    assert not os.path.lexists(link) and kept.read_text() == OLD


def test_a_path_through_a_linked_folder_and_dotdot_removes_the_report_a_run_would_replace(empty, tmp_path):
    """`-o lnk/../r.json` with lnk a link to deep/a/b: the system resolves lnk first, so a run writes deep/a/r.json;
    a failed run removes that one, never the unrelated ./r.json that the text of the path seems to name."""
    (tmp_path / "deep" / "a" / "b").mkdir(parents=True)
    (tmp_path / "lnk").symlink_to(tmp_path / "deep" / "a" / "b")
    (tmp_path / "r.json").write_text("the user's own file\n")
    earlier = stale(tmp_path / "deep" / "a" / "r.json")[0]
    run = run_imgscan("scan", empty, "-o", Path("lnk", "..", "r.json"), cwd=tmp_path)
    assert run.code == 2 and run.stderr.endswith(removed(Path("lnk", "..", "r.json")))
    assert not earlier.exists() and (tmp_path / "r.json").read_text() == "the user's own file\n"


def test_o_over_a_disk_image_is_refused_and_the_image_kept(tmp_path):
    """`-f json -o other.vhdx`, a disk image that is not this run's input: a successful run wrote its report over
    it. It is refused before the scan (exit 2) and the image is left whole; a report there is replaced as ever."""
    other = tmp_path / "other.vhdx"
    shutil.copyfile(HEALTHY, other)
    before = other.read_bytes()
    run = run_imgscan("scan", FINDINGS, "-f", "json", "-o", other)
    assert run.code == 2 and f"{other} is a disk image (vhdx)" in run.stderr and "Traceback" not in run.stderr
    assert other.read_bytes() == before
    report = stale(tmp_path / "r.json")[0]
    assert run_imgscan("scan", HEALTHY, "-o", report).code == 0 and json.loads(report.read_text())["imgscan"]


def test_o_dev_stdout_into_a_pipe_writes_the_report_there(tmp_path):
    """`-o /dev/stdout | ...`: stdout is a pipe, which /dev/stdout names though it resolves to no path."""
    command = [sys.executable, "-m", "imgscan", "scan", str(HEALTHY), "-f", "json", "-o", "/dev/stdout"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)  # stdout: a pipe
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["image"]["path"] == str(HEALTHY)


def test_a_hosts_image_named_by_o_is_never_removed(tmp_path):
    """A fleet's -o that turns out to be a host's image (known only once the host list is read) is refused, and a
    run refused for that, or for anything else before it is known, keeps it whatever -f said."""
    broken = tmp_path / "broken.vhdx"  # a host's image that is no image: only the refusal tells
    broken.write_text("not a disk\n")
    hosts = tmp_path / "hosts.csv"
    hosts.write_text(f"path,host\n{broken},PC-A\n")
    run = run_imgscan("fleet", hosts, "--db", tmp_path / "f.sqlite", "-f", "csv", "-o", broken)
    assert run.code == 2 and "is the image of a host" in run.stderr and run.stderr.count("\n") == 1
    assert broken.read_text() == "not a disk\n"
    golden = tmp_path / "golden.vhdx"  # a disk image as -o: refused by its header, before the host lists are read
    shutil.copyfile(HEALTHY, golden)
    (tmp_path / "a.csv").write_text(f"path,host\n{golden},PC-A\n")
    (tmp_path / "b.csv").write_text(f"path,host\n{HEALTHY},PC-A\n")
    args = ("fleet", tmp_path / "a.csv", tmp_path / "b.csv", "--db", tmp_path / "g.sqlite", "-f", "csv", "-o", golden)
    run = run_imgscan(*args)
    assert run.code == 2 and f"{golden} is a disk image (vhdx)" in run.stderr and run.stderr.count("\n") == 1, run.stderr
    assert golden.read_bytes() == HEALTHY.read_bytes()


# -- a run that writes its reports replaces them ----------------------------------------------------------------


@pytest.mark.parametrize(("image", "code"), [(HEALTHY, 0), (FINDINGS, 1)])
def test_a_run_that_passes_or_fails_the_gate_replaces_them(image, code, tmp_path):
    sarif, fixes = stale(tmp_path / "r.sarif", tmp_path / "fixes.reg")
    run = run_imgscan("scan", image, "--as-of", "2013-07-01", "-o", sarif, "--fix-script", fixes)
    assert run.code == code and "removed" not in run.stderr
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert fixes.read_text() != OLD and fixes.read_text().startswith("Windows Registry Editor")


@pytest.mark.parametrize("through", ["absolute", "relative", "linked folder"])
def test_a_fleet_with_an_unreadable_host_writes_its_summary_and_keeps_it(through, empty, tmp_path):
    """Exit 2 with a summary: the run's own report (an unreadable host is a row of it), not an earlier one; also
    when -o names it relative to the working directory, or through a link to its folder (a CI workspace)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    report = stale(tmp_path / "real" / "summary.json")[0]
    target = {"absolute": report, "relative": Path("real", "summary.json"), "linked folder": Path("link", "summary.json")}
    db = tmp_path / "f.sqlite"
    run = run_imgscan("fleet", empty, HEALTHY, "--db", db, "--as-of", "2013-07-01", "-o", target[through], cwd=tmp_path)
    assert run.code == 2 and "removed" not in run.stderr
    assert {row["scan"] for row in json.loads(report.read_text())} == {"unreadable", "scanned"}
    host = next(row["host"] for row in json.loads(report.read_text()) if row["scan"] == "unreadable")
    assert run.stderr == f"imgscan: error: 1 of 2 host(s) could not be read ({host}): their rows say why\n"


# -- in-process: a report that cannot be written, a bug, an interruption ---------------------------------------------


def _fail_writing(monkeypatch, name: str, failure: OSError) -> None:
    """Writing the report named `name` fails with `failure` (a full disk, say) as its temporary file is made."""
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        if str(kwargs.get("prefix", "")).startswith(f".{name}."):
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_a_report_that_cannot_be_written_leaves_none_of_the_run_and_no_earlier_one(tmp_path, monkeypatch, capsys):
    """The second of three reports cannot be written (a full disk): the first, already written, was left beside
    the earlier run's second and third. Now none of them is there."""
    json_, sarif, fixes = stale(tmp_path / "r.json", tmp_path / "r.sarif", tmp_path / "fixes.reg")
    _fail_writing(monkeypatch, "r.sarif", OSError(errno.ENOSPC, "No space left on device"))
    code = cli.main(["scan", str(HEALTHY), "-o", str(json_), "-o", str(sarif), "--fix-script", str(fixes), "--no-cache"])
    assert code == 2
    err = capsys.readouterr().err
    assert err == (f"imgscan: error: {sarif}: cannot write the report: No space left on device\n" + removed(json_, sarif, fixes))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["diff", "packages"])
def test_a_single_report_that_cannot_be_written_leaves_no_earlier_one(command, tmp_path, monkeypatch, capsys):
    report = stale(tmp_path / "r.json")[0]
    _fail_writing(monkeypatch, "r.json", OSError(errno.ENOSPC, "No space left on device"))
    images = [str(HEALTHY)] * (2 if command == "diff" else 1)
    assert cli.main([command, *images, "-o", str(report)]) == 2
    assert capsys.readouterr().err.endswith(
        f"imgscan: error: {report}: cannot write the report: No space left on device\n" + removed(report)
    )
    assert list(tmp_path.iterdir()) == []


def _broken_scan(monkeypatch, failure: BaseException) -> None:
    from imgscan import scan as scan_module

    def broken(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(scan_module, "scan_volume", broken)


@pytest.mark.parametrize("command", ["scan", "diff", "timeline"])
def test_an_internal_error_leaves_no_earlier_report(command, tmp_path, monkeypatch, capsys):
    report = stale(tmp_path / "r.json")[0]
    _broken_scan(monkeypatch, KeyError("summary"))  # what a bug looks like
    images = [str(HEALTHY)] * (2 if command == "diff" else 1)
    assert cli.main([command, *images, "-o", str(report)]) == 3
    error, said = capsys.readouterr().err.splitlines(keepends=True)
    assert error.startswith("imgscan: internal error (a bug in imgscan): KeyError: 'summary'")
    assert said == removed(report) and not report.exists()


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interruption_leaves_no_earlier_report(number, tmp_path, monkeypatch, capsys):
    report, fixes = stale(tmp_path / "r.sarif", tmp_path / "fixes.ps1")
    _broken_scan(monkeypatch, interrupt.Interrupted(number))
    assert cli.main(["scan", str(HEALTHY), "-o", str(report), "--fix-script", str(fixes)]) == 128 + number
    stopped, said = capsys.readouterr().err.splitlines(keepends=True)
    assert stopped.startswith(("imgscan: interrupted", "imgscan: terminated")) and "nothing was written" in stopped
    assert said == removed(report, fixes)
    assert list(tmp_path.iterdir()) == []
