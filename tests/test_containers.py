"""Issue 26: VM exports and triage collections give the findings of the disk or files they came from.

Each container is built by sample_images.containers around the ws-acc-0417 sample's VMDK or file tree,
checked by an independent reader (tar, unzip, qemu-img; the other hypervisors' in tests/test_vm_configs.py),
and scanned; its findings must equal those of
the plain disk (VM exports) or of the plain directory of the same files (collections), with the input's
own SHA-256 in the report and the dissect.target loader that read it named.
"""

from __future__ import annotations

import subprocess
import tarfile

import jsonschema
import pytest

from imgscan.report import schema
from sample_images.build import build
from sample_images.containers import CONTAINER_FORMATS, build_containers
from sample_images.scenario import load
from tests.conftest import run_imgscan, sha256

AS_OF = ("--as-of", "2013-07-01")
# format in the report, the loader dissect used, and the plain input whose findings it must give
EXPECTED = {
    "ova": ("ova", "ova", "vmdk"),
    "ovf": ("ovf", "ovf", "vmdk"),
    "vmx": ("vmx", "vmx", "vmdk"),
    "vbox": ("vbox", "vbox", "vmdk"),
    "libvirt": ("libvirt", "libvirt", "vmdk"),
    "proxmox": ("proxmox", "proxmox", "vmdk"),
    "xva": ("xva", "xva", "vmdk"),
    "hyperv-xml": ("hyperv-xml", "hyperv", "vmdk"),
    "tar": ("tar", "generic", "dir"),
    "tar-gz": ("tar", "generic", "dir"),
    "tar-acquire": ("tar", "acquire", "dir"),
    "zip": ("zip", "generic", "dir"),
    "zip-velociraptor": ("zip", "velociraptor", "dir"),
    "kape-vhdx": ("kape-vhdx", "kape", "dir"),
}
COLLECTION_HAS_NO_PARTITIONS = "a triage collection holds files, not the disk's partitions: scan the disk image"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("containers")
    return build(load("ws-acc-0417"), out / "plain", ("vmdk", "dir")) | build_containers(load("ws-acc-0417"), out)


def _scan(path) -> dict:
    run = run_imgscan("scan", path, "-f", "json", *AS_OF)
    assert run.code in (0, 1), run.stderr
    return run.report


@pytest.fixture(scope="module")
def plain(samples):
    return {fmt: _scan(samples[fmt]) for fmt in ("vmdk", "dir")}


@pytest.mark.parametrize("fmt", CONTAINER_FORMATS)
def test_a_container_gives_the_findings_of_what_it_holds(samples, plain, fmt):
    report = _scan(samples[fmt])
    fmt_name, loader, origin = EXPECTED[fmt]
    assert report["image"]["sha256"] == sha256(samples[fmt])
    assert (report["image"]["format"], report["image"]["loader"]) == (fmt_name, loader)
    assert report["findings"], "the sample has findings: an empty list would hide a volume not read"
    assert report["findings"] == plain[origin]["findings"]
    assert report["host"] == plain[origin]["host"]
    assert report["errors"] == plain[origin]["errors"]
    jsonschema.validate(report, schema())  # `image.loader` is part of the report's contract


@pytest.mark.parametrize("fmt", ["ovf", "vmx"])
def test_a_descriptor_lists_the_disk_it_named_with_its_hash(samples, fmt):
    image = _scan(samples[fmt])["image"]
    disk = samples[fmt].parent / samples["vmdk"].name
    assert image["parents"] == [{"path": str(disk), "sha256": sha256(disk), "format": "vmdk"}]


def test_a_vm_export_has_the_disks_partitions_a_collection_says_why_not(samples, plain):
    ova = _scan(samples["ova"])["inventory"]
    assert ova["partitions"] and ova["partitions"] == plain["vmdk"]["inventory"]["partitions"]
    assert ova["checks"] == plain["vmdk"]["inventory"]["checks"]  # the partition checks ran as on the disk
    collection = {c["check"]: c for c in _scan(samples["zip"])["inventory"]["checks"]}
    assert collection["winre_partition"] == {
        "check": "winre_partition",
        "completed": False,
        "skipped": COLLECTION_HAS_NO_PARTITIONS,
    }


def test_the_table_header_names_the_loader(samples):
    run = run_imgscan("scan", samples["tar-acquire"], *AS_OF)
    header = run.stdout.splitlines()[0]
    assert header.startswith("imgscan ") and "(tar via acquire, collection, sha256 " in header


def test_independent_readers_accept_the_samples(samples, tmp_path):
    """tar, unzip and qemu-img read what sample_images wrote, so the tests do not rest on imgscan's reading."""
    ova_members = subprocess.run(["tar", "-tf", samples["ova"]], capture_output=True, text=True, check=True).stdout.split()
    assert ova_members[0].endswith(".ovf") and ova_members[1].endswith(".vmdk")  # DSP0243: descriptor first
    subprocess.run(["tar", "-xf", samples["ova"], "-C", tmp_path], check=True)
    info = subprocess.run(["qemu-img", "info", tmp_path / ova_members[1]], capture_output=True, text=True, check=True).stdout
    assert "file format: vmdk" in info and "streamOptimized" in info
    folder_disk = samples["ovf"].parent / samples["vmdk"].name  # the VMDK the OVA was converted from
    same = subprocess.run(["qemu-img", "compare", tmp_path / ova_members[1], folder_disk], capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr  # the OVA's disk holds the same sectors
    for fmt, prefix in (("tar", ""), ("tar-acquire", "fs/C:/")):
        names = subprocess.run(["tar", "-tf", samples[fmt]], capture_output=True, text=True, check=True).stdout.split()
        assert f"{prefix}Windows/System32/config/SOFTWARE" in names
    for fmt, prefix in (("zip", ""), ("zip-velociraptor", "uploads/auto/C%3A/")):
        subprocess.run(["unzip", "-tq", samples[fmt]], check=True, capture_output=True)
        listing = subprocess.run(["unzip", "-Z1", samples[fmt]], capture_output=True, text=True, check=True).stdout.split()
        assert f"{prefix}Windows/System32/config/SOFTWARE" in listing
    kape = subprocess.run(["qemu-img", "info", samples["kape-vhdx"]], capture_output=True, text=True, check=True).stdout
    assert "file format: vhdx" in kape
    with tarfile.open(samples["tar"]) as tar:  # the tar holds exactly the tree's files
        assert {m.name for m in tar.getmembers() if m.isfile()} == {
            p.relative_to(samples["dir"]).as_posix() for p in samples["dir"].rglob("*") if p.is_file()
        }


def test_the_same_container_gives_byte_identical_reports(samples):
    first = run_imgscan("scan", samples["zip-velociraptor"], "-f", "json", *AS_OF)
    again = run_imgscan("scan", samples["zip-velociraptor"], "-f", "json", *AS_OF)
    assert first.stdout == again.stdout
