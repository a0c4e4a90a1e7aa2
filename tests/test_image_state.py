"""image-not-generalized on a built disk image, with the Setup state checked by an independent reader."""

from __future__ import annotations

import subprocess

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan


def test_audit_mode_image_is_reported_and_hivex_reads_the_same_state(tmp_path):
    images = build(load("audit-mode"), tmp_path, ("vhdx", "dir"))
    software = images["dir"] / "Windows" / "System32" / "config" / "SOFTWARE"
    state = subprocess.run(
        ["hivexget", str(software), r"Microsoft\Windows\CurrentVersion\Setup\State", "ImageState"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert state == "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"
    report = run_imgscan("scan", images["vhdx"], "--as-of", "2013-07-01", "--format", "json").report
    (found,) = [f for f in report["findings"] if f["rule"] == "image-not-generalized"]
    assert found["severity"] == "medium" and state in found["message"]
    healthy = run_imgscan("scan", build(load("healthy"), tmp_path / "h", ("dir",))["dir"], "--format", "json").report
    assert not [f for f in healthy["findings"] if f["rule"] == "image-not-generalized"]
