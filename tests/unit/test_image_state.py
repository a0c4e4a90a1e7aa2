"""image-not-generalized, in-process: each Windows Setup state and what it means for deployment."""

from __future__ import annotations

from datetime import date

import pytest

from sample_images.scenario import load, volume_files
from tests.unit.memory import memory_scan


@pytest.mark.parametrize(
    ("state", "severity"),
    [
        ("IMAGE_STATE_UNDEPLOYABLE", "high"),
        ("IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT", "medium"),
        ("IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT", "medium"),
        ("IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE", "medium"),
        ("IMAGE_STATE_COMPLETE", "info"),
        ("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE", None),
    ],
)
def test_each_setup_state(state, severity):
    scenario = load("healthy")
    scenario.image_state = state
    report = memory_scan(scenario, date(2013, 7, 1)).report
    found = [f for f in report["findings"] if f["rule"] == "image-not-generalized"]
    assert [f["severity"] for f in found] == ([severity] if severity else [])
    if found:
        assert found[0]["evidence"][0]["path"].startswith("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State")
    assert report["inventory"]["setup_state"] == [
        {"path": "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State\\ImageState", "image_state": state}
    ]


def test_state_ini_alone_is_read():
    scenario = load("healthy")
    scenario.image_state = "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"
    files = dict(volume_files(scenario))
    scenario.image_state = None  # the SOFTWARE value gone, State.ini kept
    files["Windows/System32/config/SOFTWARE"] = volume_files(scenario)["Windows/System32/config/SOFTWARE"]
    report = memory_scan(scenario, date(2013, 7, 1), files).report
    (found,) = [f for f in report["findings"] if f["rule"] == "image-not-generalized"]
    assert found["severity"] == "medium" and found["evidence"][0]["path"] == "Windows\\Setup\\State\\State.ini"


def test_no_setup_state_skips_the_check_and_says_why():
    report = memory_scan(load("healthy"), date(2013, 7, 1)).report
    entry = next(c for c in report["inventory"]["checks"] if c["check"] == "image_state")
    assert entry == {"check": "image_state", "completed": False, "skipped": "the image records no Windows Setup image state"}
