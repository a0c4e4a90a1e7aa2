"""A VMDK descriptor is evidence too: the extents it names are read only inside its own folder. A forged
descriptor naming `../x`, an absolute path or a link out of the folder is refused in one line (exit 2),
and the file it names is never opened (its forged header would otherwise be judged and named)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from imgscan.image.headers import implausible
from tests.conftest import run_imgscan

FORGED = b"KDMV" + struct.pack("<II", 1, 3) + struct.pack("<QQQQ", 1 << 40, 128, 0, 0) + struct.pack("<IQQQ", 512, 0, 0, 0)


def _descriptor(folder: Path, extent: str) -> Path:
    path = folder / "disk.vmdk"
    path.write_bytes(
        b'# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicSparse"\n\n'
        + f'RW 2097152 SPARSE "{extent}"\n'.encode()
    )
    return path


def _forged_extent(path: Path) -> Path:
    path.write_bytes(FORGED.ljust(4096, b"\0"))  # claims a 1 TiB capacity in 4 KiB
    return path


def test_an_extent_beside_the_descriptor_is_judged(tmp_path):
    _forged_extent(tmp_path / "disk-s001.vmdk")
    assert "extent disk-s001.vmdk" in (implausible(_descriptor(tmp_path, "disk-s001.vmdk"), "vmdk") or "")


@pytest.mark.parametrize("how", ["parent", "absolute", "link"])
def test_an_extent_outside_the_descriptors_folder_is_refused_unread(tmp_path, how):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    outside = _forged_extent(tmp_path / "outside.vmdk")
    name = {"parent": "../outside.vmdk", "absolute": str(outside), "link": "inside.vmdk"}[how]
    if how == "link":
        (evidence / "inside.vmdk").symlink_to(outside)
    descriptor = _descriptor(evidence, name)
    assert implausible(descriptor, "vmdk") == f"extent {name!r} lies outside the descriptor's folder"
    run = run_imgscan("scan", descriptor)
    assert run.code == 2, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert "disk.vmdk" in line and "lies outside the descriptor's folder" in line and "Traceback" not in run.stderr
