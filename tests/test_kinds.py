"""Kinds are objects a plugin can add: a test plugin outside the package (tests/plugins/dism_log.py) adds a kind
and a check that reads it, through the CLI; a check naming a kind no module registers fails when the plugins
load; and a scan reads only the kinds its checks need (counted, not timed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from imgscan import cli
from imgscan.artefacts import Artefacts
from imgscan.loader import load_checks
from sample_images.scenario import load, write_tree
from tests.conftest import REPO, run_imgscan

PLUGINS = REPO / "tests" / "plugins"
DISM_LINES = (
    "2013-06-20 10:00:00, Info                  DISM   DISM Provider Store: PID=1 Getting the collection of providers\n"
    "2013-06-20 10:00:05, Error                 DISM   DISM Package Manager: PID=1 Failed finding the package. "
    "- CDISMPackageManager::OpenPackageByPath (hr:0x800f081f)\n"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(load("healthy"), tmp_path / "healthy")


def test_a_plugin_kind_and_its_check_run_through_the_cli(tree: Path):
    (tree / "Windows" / "Logs" / "DISM").mkdir(parents=True)
    (tree / "Windows" / "Logs" / "DISM" / "dism.log").write_text(DISM_LINES)
    run = run_imgscan("scan", tree, "--plugins", PLUGINS, "--as-of", "2013-07-01", "-f", "json", "--fail-on", "medium")
    assert run.code == 1, run.stderr  # the DISM failure is a medium finding
    (finding,) = [f for f in run.report["findings"] if f["rule"] == "site-dism-log-error"]
    assert finding["hresult"] == "0x800F081F"
    assert finding["evidence"][0]["path"] == r"Windows\Logs\DISM\dism.log" and finding["evidence"][0]["line"] == 2
    assert run.report["inventory"]["dism_log"] == {"read": [r"Windows\Logs\DISM\dism.log"], "failures": 1}
    checks = {c["check"]: c for c in run.report["inventory"]["checks"]}
    assert checks["dism_log"]["completed"] is True


def test_a_plugin_kind_absent_from_the_image_skips_its_check_saying_why(tree: Path):
    run = run_imgscan("scan", tree, "--plugins", PLUGINS, "--as-of", "2013-07-01", "-f", "json", "--fail-on", "medium")
    assert run.code == 0, run.stderr
    checks = {c["check"]: c for c in run.report["inventory"]["checks"]}
    assert checks["dism_log"] == {"check": "dism_log", "completed": False, "skipped": "the image has no DISM log"}
    assert run.report["inventory"]["dism_log"] == {"read": [], "failures": 0}


def test_the_wim_extraction_paths_include_a_plugin_kinds(monkeypatch, tmp_path: Path):
    import imgscan.scan as scan_module

    asked: list[tuple[str, ...]] = []

    def opened(path, selection, wanted):
        asked.append(wanted)
        raise KeyboardInterrupt  # what was asked for is all this test needs

    monkeypatch.setattr(scan_module, "open_image", opened)
    with pytest.raises(KeyboardInterrupt):
        scan_module.scan(tmp_path / "golden.wim", None, load_checks([PLUGINS]))  # type: ignore[arg-type]
    (wanted,) = asked
    assert "/Windows/Logs/DISM/dism.log" in wanted and "/Windows/servicing/Packages/*.mum" in wanted


GHOST = """
from imgscan.check import Check, Rule, Severity
from imgscan.kinds import Kind

class Ghost(Check):
    rules = (Rule(id="site-ghost", severity=Severity.LOW, title="t", summary="t"),)
    needs = (Kind("ghost_kind", (), lambda art: None),)  # defined here, registered by no module

    def run(self, artefacts):
        return []
"""
BY_STRING = """
from imgscan.check import Check, Rule, Severity

class Old(Check):
    rules = (Rule(id="site-old", severity=Severity.LOW, title="t", summary="t"),)
    needs = ("logs",)

    def run(self, artefacts):
        return []
"""


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (GHOST, "check Ghost needs kind(s) no module registers: ghost_kind; skipped"),
        (BY_STRING, "check Old names kinds by string ('logs'): name the Kind objects"),
    ],
)
def test_a_check_naming_an_unregistered_kind_fails_when_the_plugins_load(tmp_path: Path, source: str, problem: str):
    (tmp_path / "site.py").write_text(source)
    loaded = load_checks([tmp_path])
    (error,) = loaded.errors
    assert error["path"] == str(tmp_path / "site.py") and error["message"].startswith(problem)
    assert not [c for c in loaded.checks if c.name == "site"]
    run = run_imgscan("plugins", "--plugins", tmp_path)
    assert (run.code, run.stdout) == (2, "") and len(run.stderr.splitlines()) == 1
    assert problem.removesuffix("; skipped") in run.stderr and "skipped" not in run.stderr  # the run stops: none is


def _kinds_read(monkeypatch, argv: list[str], capsys) -> set[str]:
    read: set[str] = set()
    real = Artefacts.get

    def spy(self, kind):
        read.add(kind.name)
        return real(self, kind)

    monkeypatch.setattr(Artefacts, "get", spy)
    assert cli.main(argv) in (0, 1)
    capsys.readouterr()
    return read


def test_a_packages_listing_reads_no_user_hive_log_or_boot_file(monkeypatch, capsys):
    image = str(REPO / "sample_images" / "built" / "ws-acc-0417.vhdx")
    listing = _kinds_read(monkeypatch, ["packages", image, "--as-of", "2013-07-01", "-f", "json"], capsys)
    assert listing == {"machine_hives", "packages", "signature_judge", "catalogs"}
    scan = _kinds_read(monkeypatch, ["scan", image, "--as-of", "2013-07-01", "-f", "json"], capsys)
    assert scan == {k.name for k in load_checks().kinds.kinds}  # a scan runs every check: it reads every kind


def test_an_entry_point_module_adds_its_kind_and_check(tmp_path: Path):
    """A package that names its module in the `imgscan.plugins` entry-point group, found on sys.path."""
    info = tmp_path / "site_dism-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: site-dism\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[imgscan.plugins]\ndism = dism_log\n")
    env_path = f"{tmp_path}:{PLUGINS}"
    import subprocess

    run = subprocess.run(
        [sys.executable, "-m", "imgscan", "plugins"], capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": ""}
    )
    assert run.returncode == 0, run.stderr
    assert "site-dism-log-error" in run.stdout
    listed = json.loads(
        subprocess.run(
            [sys.executable, "-c", "import json; from imgscan.loader import load_checks; "
             "print(json.dumps([k.name for k in load_checks().kinds.kinds]))"],
            capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": ""}, check=True,
        ).stdout
    )  # fmt: skip
    assert listed[-1] == "dism_logs"
