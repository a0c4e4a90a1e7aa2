"""CLI behaviour beyond the scan results: logging, case-insensitive paths, the nothing-checked exit."""

from __future__ import annotations

import shutil

from imgscan import cli, loader
from imgscan.check import Check, Rule, Severity
from imgscan.loader import LoadedChecks
from tests.conftest import rules_by_path, run_imgscan


def test_dissect_log_hidden_by_default_shown_with_v(images):
    quiet = run_imgscan("scan", images["healthy"]["raw"], "-o", "/dev/null")
    loud = run_imgscan("scan", images["healthy"]["raw"], "-o", "/dev/null", "-v")
    assert quiet.code == loud.code == 0
    assert quiet.stderr == ""
    assert "dissect." in loud.stderr


def test_paths_match_case_insensitively(images, tmp_path):
    tree = tmp_path / "vol"
    shutil.copytree(images["seed000"]["dir"], tree)
    (tree / "Windows").rename(tree / "WINDOWS")
    (tree / "WINDOWS" / "System32" / "config").rename(tree / "WINDOWS" / "System32" / "Config")
    (tree / "Users" / "nfury" / "NTUSER.DAT").rename(tree / "Users" / "nfury" / "ntuser.dat")
    run = run_imgscan("scan", tree, "--format", "json")
    assert run.code == 1, run.stderr
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in rules_by_path(run.report)
    assert run.report["host"]["name"] == "WS-SEED000"


class _Crash(Check):
    rules = (Rule(id="test-crash", severity=Severity.HIGH, title="crash", summary="crash"),)

    def run(self, artefacts):
        raise OSError("disk fell off")


def test_exit_2_when_no_check_could_run(images, monkeypatch, capsys):
    monkeypatch.setattr(loader, "load_checks", lambda dirs: LoadedChecks(checks=[_Crash()]))  # cli imports it per command
    code = cli.main(["scan", str(images["healthy"]["vhdx"]), "--format", "json"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no check could run" in err
    assert "check crashed: OSError: disk fell off" in err
