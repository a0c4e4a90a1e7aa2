"""Issue 26, bad input: a VM export missing its disk, a damaged, encrypted or hostile archive, a
collection without Windows files: one line naming the file and what to do, exit 2, no traceback, and
nothing written next to the evidence (the loaders read archives in place: no temporary folder at all)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from sample_images.containers import ova, ovf_descriptor, tar_of_tree, vmx_descriptor
from tests.conftest import run_imgscan


def _windows_tree(root: Path) -> Path:
    """A few files where a collection keeps them (content does not matter: the archive is refused first)."""
    config = root / "Windows" / "System32" / "config"
    config.mkdir(parents=True)
    (config / "SOFTWARE").write_bytes(b"regf" + bytes(4092))
    return root


def _refused(path: Path, *needles: str) -> None:
    before = sorted(p.name for p in path.parent.iterdir())
    run = run_imgscan("scan", path)
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"imgscan: error: {path}: "), run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert sorted(p.name for p in path.parent.iterdir()) == before  # nothing written next to the evidence


def test_a_vmx_naming_a_missing_disk(tmp_path):
    vmx = tmp_path / "golden.vmx"
    vmx.write_text(vmx_descriptor("golden-disk1.vmdk", "golden"))
    _refused(vmx, "names the disk 'golden-disk1.vmdk', which is not next to it", f"copy golden-disk1.vmdk into {tmp_path}")


def test_an_ovf_whose_disk_is_absent(tmp_path):
    descriptor = tmp_path / "golden.ovf"
    descriptor.write_bytes(ovf_descriptor("golden-disk1.vmdk", "golden"))
    _refused(descriptor, "OVF descriptor names the disk 'golden-disk1.vmdk'", "copy golden-disk1.vmdk into")


def test_an_ova_without_its_disk(tmp_path):
    appliance = tmp_path / "golden.ova"
    with tarfile.open(appliance, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("golden.ovf")
        data = ovf_descriptor("golden-disk1.vmdk", "golden")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _refused(appliance, "names the disk 'golden-disk1.vmdk', which is not inside the OVA", "re-export the appliance")


def test_an_ova_whose_disk_is_not_a_disk(tmp_path):
    fake = tmp_path / "golden-disk1.vmdk"
    fake.write_bytes(b"not a disk" * 100)
    appliance = tmp_path / "golden.ova"
    ova(fake, appliance)
    fake.unlink()
    _refused(appliance, "cannot read the disk 'golden-disk1.vmdk' the OVA names")


def test_a_truncated_tar(tmp_path):
    whole = tmp_path / "whole.tar"
    tar_of_tree(_windows_tree(tmp_path / "tree"), whole)
    cut = tmp_path / "evidence" / "collection.tar"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: 512 * 8 + 100])  # ends inside SOFTWARE's data
    _refused(cut, "truncated or damaged tar archive", "re-copy the archive")


@pytest.mark.parametrize("cut_bytes", [1, 4, 8, 12])
def test_a_tar_gz_cut_in_its_trailer(tmp_path, cut_bytes):
    """Cut by a few bytes, a .tar.gz still lists every member (the gzip trailer holds only the checksum and
    the size): it was scanned as whole. gzip -t, the independent reader, calls it damaged; so does imgscan."""
    whole = tmp_path / "whole.tar"
    tar_of_tree(_windows_tree(tmp_path / "tree"), whole)
    subprocess.run(["gzip", "-k", "-n", whole], check=True)
    data = (tmp_path / "whole.tar.gz").read_bytes()
    cut = tmp_path / "evidence" / "collection.tar.gz"
    cut.parent.mkdir()
    cut.write_bytes(data[:-cut_bytes])
    assert subprocess.run(["gzip", "-t", cut], capture_output=True, check=False).returncode != 0
    assert subprocess.run(["gzip", "-t", tmp_path / "whole.tar.gz"], check=False).returncode == 0
    _refused(cut, "truncated or damaged tar archive", "re-copy the archive")


def test_a_zip_with_a_path_traversal_name(tmp_path):
    slip = tmp_path / "collection.zip"
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("Windows/System32/config/SOFTWARE", b"regf")
        archive.writestr("../../etc/cron.d/evil", b"* * * * * root sh\n")
    _refused(slip, "member '../../etc/cron.d/evil' is named outside the archive", "collect the files again")


def test_a_tar_with_an_absolute_name(tmp_path):
    tree = _windows_tree(tmp_path / "tree")
    hostile = tmp_path / "evidence" / "collection.tar"
    hostile.parent.mkdir()
    tar_of_tree(tree, hostile, prefix="/")
    _refused(hostile, "member '/Windows' is named outside the archive")


def test_a_password_protected_zip(tmp_path):
    tree = _windows_tree(tmp_path / "tree")
    locked = tmp_path / "evidence" / "collection.zip"
    locked.parent.mkdir()
    subprocess.run(["zip", "-q", "-r", "-P", "infected", locked, "Windows"], cwd=tree, check=True)
    _refused(locked, "password-protected zip", "extract it with its password")


def test_a_collection_without_windows_files(tmp_path):
    tree = tmp_path / "tree"
    (tree / "Users" / "nfury").mkdir(parents=True)
    (tree / "Users" / "nfury" / "notes.txt").write_text("no hives here\n")
    collection = tmp_path / "evidence" / "collection.tar"
    collection.parent.mkdir()
    tar_of_tree(tree, collection)
    _refused(collection, "no Windows files in this tar archive", "collect the registry hives")


@pytest.mark.parametrize("damage", ["cut", "zeroed"])
def test_a_damaged_zip(tmp_path, damage):
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as archive:
        archive.writestr("Windows/System32/config/SOFTWARE", b"regf" + bytes(4092))
    data = whole.read_bytes()
    broken = tmp_path / "evidence" / "collection.zip"
    broken.parent.mkdir()
    broken.write_bytes(data[: len(data) // 2] if damage == "cut" else data[:200] + bytes(len(data) - 200))
    _refused(broken, "truncated or damaged zip archive", "re-copy the archive")
