"""The plugin model: built-in rules, third-party checks from --plugins DIR, crashing checks, packaging."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, rules_by_path, run_imgscan

EXTRA = """
from imgscan.artefacts import MACHINE_HIVES
from imgscan.check import Check, Finding, Rule, Severity

COMPUTER = Rule(id="site-computer-name", severity=Severity.LOW, title="Computer name recorded", summary="site check")

class ComputerName(Check):
    rules = (COMPUTER,)
    needs = (MACHINE_HIVES,)

    def run(self, artefacts):
        system = artefacts.get(MACHINE_HIVES).system
        name = system.value(system.control_set() + "\\\\Control\\\\ComputerName\\\\ComputerName", "ComputerName")
        yield Finding(rule=COMPUTER, message=name,
                      evidence=[{"path": "Windows\\\\System32\\\\config\\\\SYSTEM"}], remediation="none")
"""

CRASHING = """
from imgscan.check import Check, Rule, Severity

BOOM = Rule(id="site-boom", severity=Severity.HIGH, title="Always crashes", summary="test")

class Boom(Check):
    rules = (BOOM,)

    def run(self, artefacts):
        raise RuntimeError("kaboom")
"""

DUPLICATE = """
from imgscan.check import Check, Rule, Severity

class Shadow(Check):
    rules = (Rule(id="wintrust-weakened", severity=Severity.INFO, title="shadow", summary="test"),)

    def run(self, artefacts):
        return []
"""


def test_plugins_lists_builtin_rules():
    run = run_imgscan("plugins")
    assert run.code == 0
    lines = {line.split()[0]: line for line in run.stdout.splitlines()}
    assert "high" in lines["wintrust-offline-revocation"]
    assert "medium" in lines["wintrust-weakened"]
    assert "hive-unreadable" in lines
    # one column per field, however long a rule id (secureboot-boot-manager-untrusted-signer is 40 characters)
    severity_at = {line.index(line.split()[1], len(line.split()[0])) for line in run.stdout.splitlines()}
    assert len(severity_at) == 1


def test_third_party_check_runs(images, tmp_path):
    (tmp_path / "site.py").write_text(EXTRA)
    assert "site-computer-name" in run_imgscan("plugins", "--plugins", tmp_path).stdout
    run = run_imgscan("scan", images["healthy"]["vhdx"], "--plugins", tmp_path, "--format", "json", "--fail-on", "low")
    assert run.code == 1
    (finding,) = run.report["findings"]
    assert finding["rule"] == "site-computer-name" and finding["message"] == "WS-HEALTHY"


@pytest.mark.parametrize("image", ["ws-acc-0417", "healthy"])
def test_crashing_check_is_an_error_entry_not_a_traceback(images, tmp_path, image):
    """The report keeps every other finding, and the run exits 3: a check that crashed hides what it would have
    found, so the gate cannot pass (a healthy image with a crashing check passed it, exit 0)."""
    (tmp_path / "boom.py").write_text(CRASHING)
    run = run_imgscan("scan", images[image]["vhdx"], "--plugins", tmp_path, "--format", "json")
    assert "Traceback" not in run.stderr
    assert run.code == 3, run.stderr
    assert "check boom crashed (a bug), so its findings are missing and the gate cannot pass" in run.stderr
    report = run.report
    if image == "healthy":
        assert report["findings"] == []
        return
    assert {"path": "check:boom", "message": "check crashed: RuntimeError: kaboom"} in report["errors"]
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in rules_by_path(report)
    checks = {c["check"]: c["completed"] for c in report["inventory"]["checks"]}
    assert checks["boom"] is False
    assert checks["hive_health"] is checks["wintrust_state"] is True


def test_diff_with_a_crashing_check_cannot_pass(images, tmp_path):
    """diff of an image with itself adds nothing (exit 0), unless a check crashed on a side: exit 3."""
    (tmp_path / "boom.py").write_text(CRASHING)
    healthy = images["healthy"]["vhdx"]
    assert run_imgscan("diff", healthy, healthy).code == 0
    run = run_imgscan("diff", healthy, healthy, "--plugins", tmp_path)
    assert run.code == 3 and "check boom crashed" in run.stderr and "Traceback" not in run.stderr


def test_a_plugin_that_does_not_load_is_a_usage_error_before_any_scan(images, tmp_path):
    """A gate must not pass because a check it was given never ran: a --plugins file that fails to import or
    reuses a rule id stops every command with exit 2, before the image is even opened."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "broken.py").write_text("import does_not_exist\n")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "shadow.py").write_text(DUPLICATE)
    missing_image = tmp_path / "not-there.vhdx"
    for directory, problem in ((broken, "ModuleNotFoundError"), (shadow, "reuses rule id(s) wintrust-weakened")):
        for args in (("scan", missing_image), ("scan", images["healthy"]["vhdx"], "-f", "json"), ("plugins",), ("rules",)):
            run = run_imgscan(*args, "--plugins", directory)
            assert (run.code, run.stdout) == (2, ""), (args, run)
            (line,) = run.stderr.splitlines()
            assert line.startswith(f"imgscan: error: --plugins: {next(directory.glob('*.py'))}: ") and problem in line
            assert "skipped" not in line  # the run stops: nothing is skipped


def test_wheel_ships_plugins_inside_the_package(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("imgscan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    sources = [p.relative_to(REPO).as_posix() for p in (REPO / "imgscan").rglob("*.py")]
    sources += [f"imgscan/plugins/{p.name}" for p in (REPO / "plugins").glob("*.py")]
    missing = sorted(set(sources) - set(names))
    assert not missing, f"not in the wheel: {missing}"
    assert "imgscan/data/errorcodes.json" in names
    assert not [n for n in names if n.startswith(("plugins/", "sample_images/", "tests/"))]
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_version_and_module_entry_point():
    run = run_imgscan("--version")
    assert run.code == 0 and run.stdout.startswith("imgscan ")
    script = Path(sys.executable).parent / "imgscan"  # the console script of the environment running the tests
    console = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert console.stdout == run.stdout


def test_package_metadata_and_project_documents():
    from importlib.metadata import metadata

    meta = metadata("imgscan")
    assert meta["License-Expression"] == "AGPL-3.0-or-later"
    assert meta["Author"] == "The imgscan developers"
    assert "windows-update" in meta["Keywords"]
    assert "Topic :: Security" in meta.get_all("Classifier")
    for name in ("CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md", "LICENSE"):
        assert (REPO / name).stat().st_size > 500, name
