"""One-line errors and summary lines that said something untrue or unusable, each with the command that showed it:
a saved report edited by hand that `diff` took (or stopped on with an internal error), a report path in /proc
that "No such file or directory" described, "quote it" for a list of KBs in the ignore file, and a summary that
counted "finding(s) counted with their cause"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgscan.views.table import to_table
from tests.conftest import REPO, run_imgscan
from tests.golden import SAVED

WS_ACC_0417 = REPO / "sample_images" / "built" / "ws-acc-0417.vhdx"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of the workstation sample as `scan -f json -o` saves it."""
    path = tmp_path_factory.mktemp("saved") / "r.json"
    assert run_imgscan("scan", WS_ACC_0417, "--as-of", "2013-07-01", "-f", "json", "-o", path).code == 1
    return path


def _severity(report: dict) -> None:
    report["findings"][0]["severity"] = "bogus"


def _no_rule(report: dict) -> None:
    del report["findings"][1]["rule"]


def _evidence(report: dict) -> None:
    report["findings"][0]["evidence"] = "Users\\nfury\\NTUSER.DAT"


def _colour(report: dict) -> None:
    report["findings"][0]["evidence"][0]["colour"] = "red"


def _count(report: dict) -> None:
    report["summary"]["high"] = "1"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_severity, "findings[0].severity is \"bogus\": input should be 'info', 'low', 'medium', 'high' or 'critical'"),
        (_no_rule, "findings[1] has no rule"),
        (_evidence, 'findings[0].evidence is "Users\\\\nfury\\\\NTUSER.DAT": input should be a valid list'),
        (_colour, "findings[0].evidence[0] has a field imgscan does not write: colour"),
        (_count, 'summary.high is "1": input should be a valid integer'),
    ],
)
def test_diff_refuses_a_saved_report_imgscan_did_not_write_so(saved, tmp_path, edit, problem):
    """A severity imgscan has not was compared (or stopped diff with an internal error, exit 3), as was a finding
    without its rule: the file and the field are named, exit 2, on either side."""
    report = json.loads(saved.read_text(encoding="utf-8"))
    edit(report)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(report), encoding="utf-8")
    for sides in ((saved, edited), (edited, saved)):
        run = run_imgscan("diff", *sides)
        assert (run.code, run.stdout) == (2, "")
        assert run.stderr == (
            f"imgscan: error: {edited}: not a report as imgscan saves it: {problem} (save the scan again with --format json)\n"
        )


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
            "not an imgscan JSON report: not UTF-8 text (save one with --format json)",
        ),
        (
            lambda text: text[: text.index('"message"') + 20].encode(),
            "not an imgscan JSON report: not valid JSON (unterminated string starting at line 1, column",
        ),
    ],
    ids=["utf-16", "cut-short"],
)
def test_diff_says_what_is_wrong_with_a_saved_report_in_plain_words(saved, tmp_path, damage, problem):
    """A report re-saved as UTF-16 (as Windows PowerShell 5's `>` writes it) or cut short by a copy that stopped
    was refused in Python's words ("'utf-8' codec can't decode byte 0xff in position 0"): one line names the file
    and what is wrong with it, exit 2."""
    broken = tmp_path / "broken.json"
    broken.write_bytes(damage(json.dumps(json.loads(saved.read_text(encoding="utf-8")))))
    run = run_imgscan("diff", saved, broken)
    assert (run.code, run.stdout) == (2, "") and run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"imgscan: error: {broken}: {problem}") and "codec" not in run.stderr, run.stderr


def test_diff_refuses_a_new_finding_of_a_severity_imgscan_has_not(saved, tmp_path):
    """Only in the new report, a finding of severity "bogus" gated by its `gating_severity`: diff passed it (exit 0)."""
    report = json.loads(saved.read_text(encoding="utf-8"))
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(report | {"findings": report["findings"][:-1]}), encoding="utf-8")
    report["findings"][-1]["severity"] = "bogus"
    new.write_text(json.dumps(report), encoding="utf-8")
    run = run_imgscan("diff", old, new)
    assert (run.code, run.stdout) == (2, "")
    assert f'findings[{len(report["findings"]) - 1}].severity is "bogus"' in run.stderr and len(run.stderr.splitlines()) == 1


def test_diff_takes_a_saved_report_with_a_plugins_own_section(saved, tmp_path):
    report = json.loads(saved.read_text(encoding="utf-8"))
    report["inventory"]["dism_log"] = {"read": [], "failures": 0}  # plugins outside imgscan add their own sections
    with_section = tmp_path / "plugin.json"
    with_section.write_text(json.dumps(report), encoding="utf-8")
    run = run_imgscan("diff", saved, with_section)
    assert (run.code, run.stderr) == (0, "") and "new findings: 0" in run.stdout


def test_a_report_path_in_proc_says_what_is_wrong_with_it(tmp_path):
    """`-o /proc/r.json` said "cannot write in /proc: No such file or directory" of a folder that is there; and no
    other report of the run is written."""
    kept = tmp_path / "r.sarif"
    run = run_imgscan("scan", WS_ACC_0417, "-o", kept, "-o", "/proc/r.json")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        "imgscan: error: argument -o/--output: cannot create /proc/r.json: /proc takes no new files (the system says "
        "'No such file or directory'); see imgscan scan --help\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("  kb: [1, 2]\n  reason: r\n", "kb takes one KB number, not the list [1, 2] (write one entry for each KB number)"),
        (
            "  path: [a, b]\n  reason: r\n",
            "path takes one path glob, not the list ['a', 'b'] (write one entry for each path glob)",
        ),
        ("  reason: [JIRA-12]\n", "reason must be text, not ['JIRA-12'] (quote it)"),  # YAML read a list: quotes help
    ],
)
def test_a_list_in_an_ignore_entry_asks_for_an_entry_each_not_for_quotes(tmp_path, entry, problem):
    """`kb: [1, 2]` was told to "quote it", which makes one text naming no KB."""
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(f"- rule: catalog-expiry\n{entry}", encoding="utf-8")
    run = run_imgscan("scan", WS_ACC_0417, "--ignore", ignore)
    assert run.code == 2
    assert run.stderr == f"imgscan: error: {ignore}: entry 1 (catalog-expiry): {problem}\n"


def test_the_summary_says_in_words_why_it_counts_fewer_findings_than_it_lists():
    """'(2 more finding(s) counted with their cause)': what is counted, and with what, in words that read."""
    report = json.loads((SAVED / "ws-acc-0417-2013-07-01.json").read_text(encoding="utf-8"))
    consequences = [f for f in report["findings"] if f.get("caused_by")]
    assert len(consequences) == 2
    summary = to_table(report).splitlines()[-1]
    assert summary.endswith(" (2 more findings are not counted again: each follows from a cause counted here)")
    report["findings"].remove(consequences[0])
    summary = to_table(report).splitlines()[-1]
    assert summary.endswith(" (1 more finding is not counted again: it follows from a cause counted here)")


@pytest.mark.parametrize("name", ["hosts.csv", "hosts.yaml"])
def test_a_host_list_given_to_scan_is_named_as_one_with_the_command_that_takes_it(tmp_path, name):
    """`imgscan scan hosts.csv` said "truncated or not an image: 31 bytes, shorter than any image header": the file
    is whole, and it is a host list, which `fleet` takes."""
    listed = tmp_path / name
    listed.write_text("path,host\ngolden.vhdx,PC-0001\n" if name.endswith(".csv") else "- {path: golden.vhdx}\n")
    run = run_imgscan("scan", listed)
    assert (run.code, run.stdout) == (2, "")
    assert (
        run.stderr == f"imgscan: error: {listed}: a host list, not a disk image (imgscan fleet judges the hosts a list names)\n"
    )
