"""Differencing VHD with its parent next to it: written by sample_images, read by libvhdi and imgscan."""

from __future__ import annotations

import shutil

import pytest
import pyvhdi

from sample_images.build import build_differencing
from sample_images.scenario import load
from tests.conftest import rules_by_path, run_imgscan, sha256


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    return build_differencing(load("healthy"), load("ws-acc-0417"), tmp_path_factory.mktemp("diff"))


def test_child_reads_as_the_target_disk_through_libvhdi(chain):
    parent, child, expected = chain
    parent_handle, child_handle = pyvhdi.file(), pyvhdi.file()
    parent_handle.open(str(parent))
    child_handle.open(str(child))
    assert child_handle.get_disk_type() == 4
    child_handle.set_parent(parent_handle)
    assert child_handle.read_buffer(child_handle.get_media_size()) == expected.read_bytes()


def test_scan_follows_the_parent(chain):
    parent, child, _ = chain
    hashes = (sha256(parent), sha256(child))
    run = run_imgscan("scan", child, "--format", "json")
    assert run.code == 1, run.stderr
    report = run.report
    assert report["image"]["format"] == "vhd-differencing"
    assert report["image"]["parents"] == [{"path": str(parent), "sha256": hashes[0], "format": "vhd-dynamic"}]
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in rules_by_path(report)
    assert (sha256(parent), sha256(child)) == hashes


def test_parent_scanned_alone_is_healthy(chain):
    assert run_imgscan("scan", chain[0], "--format", "json").code == 0


def test_missing_parent_is_a_one_line_error(chain, tmp_path):
    lonely = tmp_path / chain[1].name
    shutil.copyfile(chain[1], lonely)
    run = run_imgscan("scan", lonely)
    assert run.code == 2
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "parent 'healthy-parent.vhd'" in run.stderr and "not next to it" in run.stderr
