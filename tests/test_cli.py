"""CLI behaviour beyond the scan results: logging, case-insensitive paths, the nothing-checked exit."""

from __future__ import annotations

import gc
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
    shutil.copytree(images["ws-acc-0417"]["dir"], tree)
    (tree / "Windows").rename(tree / "WINDOWS")
    (tree / "WINDOWS" / "System32" / "config").rename(tree / "WINDOWS" / "System32" / "Config")
    (tree / "Users" / "nfury" / "NTUSER.DAT").rename(tree / "Users" / "nfury" / "ntuser.dat")
    run = run_imgscan("scan", tree, "--format", "json")
    assert run.code == 1, run.stderr
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in rules_by_path(run.report)
    assert run.report["host"]["name"] == "WS-ACC-0417"


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


def test_no_full_collection_while_a_scan_is_cached_and_its_views_written(images, tmp_path, monkeypatch):
    """A scan's heap lives until its report is written: a full collection of it while the cache notes its
    reuse or a view is rendered walked all of it (8% of a cached rescan of a large image). Full collections
    are made as frequent as can be here; none may start while the CLI scans, renders or writes."""
    from imgscan.cli import scan as command

    inside: list[str] = []
    full: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2 and inside:
            full.append(inside[-1])

    def watched(name: str, function):
        def run(*args, **kwargs):
            inside.append(name)
            try:
                return function(*args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(command, name, run)

    for name in ("run_scan", "_view", "write"):
        watched(name, getattr(command, name))
    arguments = ["scan", str(images["healthy"]["vhdx"]), "--cache-dir", str(tmp_path / "c"), "-f", "json", "-f", "html"]
    arguments += ["-o", str(tmp_path / "out.json"), "-o", str(tmp_path / "out.html")]
    saved = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    gc.callbacks.append(note)
    try:
        code = cli.main(arguments)
        after = gc.get_threshold()
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*saved)
    assert full == [], f"full collections started in {full}"
    assert after == (1, 1, 1)  # and the process's own setting is back once the CLI returned
    assert code == 0 and (tmp_path / "out.html").stat().st_size > 1000
