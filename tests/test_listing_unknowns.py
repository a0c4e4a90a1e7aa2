"""`imgscan packages` and `imgscan catalogs` on an image whose SOFTWARE hive cannot be read: the installed
updates, the servicing stack, the package states and the catalog verdicts that rest on the image's own root
stores are said to be unknown, with the hive and what is wrong with it, never stated as an empty list, no
servicing stack or "not registered"; the listing exits 2."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from imgscan.report import CatalogsListing, PackagesListing
from imgscan.report.contract import mismatch
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan

DAY = "2021-07-05"
HIVE = r"Windows\System32\config\SOFTWARE"


@pytest.fixture(scope="module")
def healthy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(load("healthy"), tmp_path_factory.mktemp("healthy"), ("dir",))["dir"]


@pytest.fixture(scope="module")
def truncated(healthy_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The healthy image as an extracted folder, its SOFTWARE hive cut to 10,000 bytes."""
    image = tmp_path_factory.mktemp("cut") / "image"
    shutil.copytree(healthy_dir, image, symlinks=True)
    os.truncate(image / "Windows" / "System32" / "config" / "SOFTWARE", 10000)
    return image


@pytest.fixture(scope="module")
def deleted(healthy_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = tmp_path_factory.mktemp("deleted") / "image"
    shutil.copytree(healthy_dir, image, symlinks=True)
    (image / "Windows" / "System32" / "config" / "SOFTWARE").unlink()
    return image


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("imgscan: error:")]


def test_packages_table_says_updates_and_servicing_stack_are_unknown(truncated):
    run = run_imgscan("packages", truncated, "--as-of", DAY)
    assert run.code == 2, run.stderr
    assert "wmic qfe as of 2021-07-05: unknown" in run.stdout
    assert "Servicing stack: unknown" in run.stdout
    assert f"Unknown: {HIVE}: truncated" in run.stdout
    for claim in ("No instances available", "no servicing stack update installed", "not registered", "untrusted", "never valid"):
        assert claim not in run.stdout, claim
    assert "state unknown" in run.stdout


def test_packages_error_is_one_line_naming_the_hive(truncated):
    run = run_imgscan("packages", truncated, "--as-of", DAY)
    errors = error_lines(run.stderr)
    assert len(errors) == 1 and f"{HIVE}: truncated" in errors[0] and "unknown" in errors[0], run.stderr
    assert "warning" not in run.stderr  # the hive is said once, as the error


def test_packages_json_says_what_is_unknown_and_keeps_its_shape(truncated):
    run = run_imgscan("packages", truncated, "--as-of", DAY, "-f", "json")
    assert run.code == 2, run.stderr
    listing = run.report
    assert mismatch(listing, PackagesListing) is None
    [unknown] = listing["unknown"]
    assert unknown["path"] == HIVE and unknown["problem"].startswith("truncated")
    assert {"qfe", "wmic_qfe", "ssu_level", "packages[].state_name", "packages[].catalog_status_as_of"} <= set(unknown["fields"])
    assert listing["packages"] and all(p["state_name"] == "state unknown" for p in listing["packages"])
    assert all(p["catalog_status_as_of"] == "unknown" and p["catalog_fails_from"] is None for p in listing["packages"])
    assert all(p["cat"] in unknown["catalogs"] for p in listing["packages"])


def test_packages_without_software_at_all_says_it_is_missing(deleted):
    run = run_imgscan("packages", deleted, "--as-of", DAY, "-f", "json")
    assert run.code == 2, run.stderr
    assert [(u["path"], u["problem"]) for u in run.report["unknown"]] == [(HIVE, "missing")]
    assert f"{HIVE}: missing" in error_lines(run.stderr)[0]


def test_catalogs_verdicts_resting_on_the_unread_root_stores_are_unknown(truncated):
    run = run_imgscan("catalogs", truncated, "--as-of", DAY, "-f", "json")
    assert run.code == 2, run.stderr
    listing = run.report
    assert mismatch(listing, CatalogsListing) is None
    [unknown] = listing["unknown"]
    assert unknown["fields"] == ["catalogs[].status_as_of"] and unknown["catalogs"]
    guessed = {c["path"] for c in listing["catalogs"] if c.get("cause") == "untrusted-root"}
    assert guessed == set(unknown["catalogs"])
    assert all(c["status_as_of"] == "unknown" for c in listing["catalogs"] if c["path"] in guessed)
    table = run_imgscan("catalogs", truncated, "--as-of", DAY).stdout
    assert "Unknown: " in table and "root and Disallowed stores" in table and "untrusted" not in table


def test_scan_report_does_not_call_the_packages_unregistered(truncated):
    run = run_imgscan("scan", truncated, "--as-of", DAY, "-f", "json")
    packages = run.report["inventory"]["packages"]
    assert packages and {p["state_name"] for p in packages} == {"state unknown"}


def test_a_readable_software_hive_changes_nothing(healthy_dir):
    run = run_imgscan("packages", healthy_dir, "--as-of", DAY, "-f", "json")
    assert run.code == 0, run.stderr
    assert "unknown" not in run.report and run.report["ssu_level"]
    table = run_imgscan("packages", healthy_dir, "--as-of", DAY)
    assert table.code == 0 and "Unknown:" not in table.stdout and "Servicing stack: KB" in table.stdout


def test_help_says_an_unreadable_software_hive_exits_2():
    for command in ("packages", "catalogs"):
        text = " ".join(run_imgscan(command, "--help").stdout.split())
        assert "a SOFTWARE hive that could not be read" in text, command
    assert "SOFTWARE" not in run_imgscan("timeline", "--help").stdout
