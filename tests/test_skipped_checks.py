"""Issue 22: a check whose artefact the container cannot hold is "skipped" with the reason in the report's
inventory.checks, never "completed" with nothing to judge (which let a WIM pass a gate its VHDX fails)."""

from __future__ import annotations

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan

NO_PARTITIONS_IN_A_WIM = "a WIM has no partitions: the EFI system and recovery partitions are made when the image is deployed"
NO_BOOT_FILES = "the image has no UEFI boot files (no EFI system partition and no Windows\\Boot\\EFI\\bootmgfw.efi)"


@pytest.fixture(scope="module")
def winre_small(tmp_path_factory):
    """A Windows 10 22H2 reference image whose recovery partition is too small, as a VHDX and as a WIM."""
    return build(load("winre-small"), tmp_path_factory.mktemp("winre"), ("vhdx", "wim-lzx"))


def _scan(image, *args) -> dict:
    run = run_imgscan("scan", image, "-f", "json", *args)
    assert run.code in (0, 1), run.stderr
    return run.report


def _checks(report: dict) -> dict[str, dict]:
    return {entry["check"]: entry for entry in report["inventory"]["checks"]}


def test_winre_check_is_skipped_on_a_wim_not_completed(winre_small):
    disk = _scan(winre_small["vhdx"], "--as-of", "2024-02-01")
    assert "winre-partition-too-small" in {f["rule"] for f in disk["findings"]}
    assert _checks(disk)["winre_partition"] == {"check": "winre_partition", "completed": True}
    wim = _scan(winre_small["wim-lzx"], "--as-of", "2024-02-01")
    assert wim["host"]["os"] == disk["host"]["os"]  # the same Windows, which the check applies to
    assert "winre-partition-too-small" not in {f["rule"] for f in wim["findings"]}
    assert _checks(wim)["winre_partition"] == {"check": "winre_partition", "completed": False, "skipped": NO_PARTITIONS_IN_A_WIM}


def test_a_directory_has_no_partitions_either(images):
    report = _scan(images["ws-acc-0417"]["dir"])
    skipped = _checks(report)["winre_partition"]
    assert skipped["completed"] is False
    assert skipped["skipped"] == "an extracted directory has no partitions: scan the disk image it came from"


def test_boot_file_checks_are_skipped_on_a_disk_without_uefi_boot_files(images, winre_small):
    """The sample disks are BIOS disks: partitions, but no EFI system partition and no bcdboot source."""
    bios = _scan(images["healthy"]["vhdx"])
    assert bios["inventory"]["partitions"] and not bios["inventory"]["boot_files"]
    for check in ("boot_signature", "secureboot_ca", "secureboot_revoked"):
        assert _checks(bios)[check] == {"check": check, "completed": False, "skipped": NO_BOOT_FILES}
    uefi = _scan(winre_small["vhdx"])
    assert uefi["inventory"]["boot_files"]
    assert _checks(uefi)["boot_signature"]["completed"] is True and _checks(uefi)["secureboot_ca"]["completed"] is True
