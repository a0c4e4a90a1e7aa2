"""Issue 26: the VMs of VirtualBox, libvirt, Proxmox, XenServer and Hyper-V, and .tar.gz collections.

The samples (sample_images.vm_configs, around the ws-acc-0417 VMDK) are checked here by readers that are not
imgscan: xmllint, libvirt's own schema (virt-xml-validate), tar, sha1sum and qemu-img, which compares each
VM's disk with the VMDK it came from sector by sector. tests/test_containers.py checks that each gives the
VMDK's findings. Veeam .vbk and Proxmox .vma files are the real ones of dissect.archive's sdist
(tests/registry_vm_files.toml): no Windows VM among them, so imgscan must open their disk and say so.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

import pytest

from imgscan.errors import UnreadableImage
from imgscan.image.sniff import read_header
from imgscan.image.vm_disks import named_disks, proxmox_disks
from imgscan.image.xva import XvaDisk
from sample_images.build import build
from sample_images.containers import build_containers
from sample_images.scenario import load
from sample_images.vm_configs import XVA_BLOCK, hyperv_xml, libvirt_domain, proxmox_conf, vbox_settings
from tests.conftest import run_imgscan, sha256

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
REAL = tomllib.loads((REPO / "tests" / "registry_vm_files.toml").read_text(encoding="utf-8"))["file"]
REAL_DIR = Path(sys.prefix) / "share" / "imgscan-tests" / "vm"
AS_OF = ("--as-of", "2013-07-01")
FORMATS = ("vbox", "libvirt", "proxmox", "xva", "hyperv-xml", "tar-gz")


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("vms")
    return build(load("ws-acc-0417"), out / "plain", ("vmdk", "dir")) | build_containers(load("ws-acc-0417"), out, FORMATS)


@pytest.fixture(scope="module")
def reference(samples):
    """The Proxmox VM's raw disk, qemu-img's plain copy of the VMDK all the VMs' disks were made from (in
    their own build: a sample's GUIDs differ from build to build, so the plain VMDK is no reference).
    Each other VM's disk must hold its sectors; tests/test_containers.py checks that it holds Windows."""
    conf = samples["proxmox"]
    drive = next(line for line in conf.read_text().splitlines() if line.startswith("scsi0: "))
    raw = conf.parent / drive.split(":", 2)[2].split(",")[0]  # scsi0: local-lvm:<volume>,size=...
    assert "file format: raw" in _run("qemu-img", "info", str(raw)).stdout
    return raw


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=True)


def _xpath(expr: str, xml: Path) -> str:
    return _run("xmllint", "--xpath", expr, str(xml)).stdout.strip()


def _same_disk(a: Path, b: Path) -> None:
    same = subprocess.run(["qemu-img", "compare", str(a), str(b)], capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr


def test_the_vbox_names_its_vdi_by_the_uuid_in_the_vdi(samples, reference):
    vbox = samples["vbox"]
    _run("xmllint", "--noout", str(vbox))
    xpath = "string(//*[local-name()='HardDisk']/@{})"
    location, uuid = _xpath(xpath.format("location"), vbox), _xpath(xpath.format("uuid"), vbox)
    assert _xpath("string(//*[local-name()='AttachedDevice']/*[local-name()='Image']/@uuid)", vbox) == uuid
    vdi = vbox.parent / location
    assert "file format: vdi" in _run("qemu-img", "info", str(vdi)).stdout
    # VirtualBox finds a disk by the UUID its header holds (VDIHEADER1PLUS.uuidCreate, at byte 0x188)
    assert uuid.strip("{}") == str(UUID(bytes_le=vdi.read_bytes()[0x188:0x198]))
    _same_disk(vdi, reference)


def test_the_libvirt_domain_is_valid_for_libvirt(samples, reference):
    domain = samples["libvirt"]
    valid = subprocess.run(["virt-xml-validate", str(domain), "domain"], capture_output=True, text=True)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    source = _xpath("string(//disk[@device='disk']/source/@file)", domain)
    assert source.startswith("/var/lib/libvirt/images/")  # the path on the host, not beside the XML
    disk = domain.parent / Path(source).name
    assert "file format: qcow2" in _run("qemu-img", "info", str(disk)).stdout
    _same_disk(disk, reference)


def test_the_xva_is_blocks_with_their_sha1_as_xenserver_writes_them(samples, reference, tmp_path):
    xva = samples["xva"]
    names = _run("tar", "-tf", str(xva)).stdout.split()
    assert names[0] == "ova.xml"
    subprocess.run(["tar", "-xf", str(xva), "-C", str(tmp_path)], check=True)
    _run("xmllint", "--noout", str(tmp_path / "ova.xml"))
    ref = _xpath("string(//member[name='VDI']/value)", tmp_path / "ova.xml")
    size = int(_xpath("string(//member[name='virtual_size']/value)", tmp_path / "ova.xml"))
    blocks = sorted(p for p in (tmp_path / ref).iterdir() if p.suffix != ".checksum")
    assert len(blocks) < size // XVA_BLOCK  # all-zero blocks are left out
    raw = tmp_path / "disk.raw"
    with raw.open("wb") as disk:
        disk.truncate(size)
        for block in blocks:
            digest = _run("sha1sum", str(block)).stdout.split()[0]
            assert (block.parent / f"{block.name}.checksum").read_text() == digest
            disk.seek(int(block.name) * XVA_BLOCK)
            disk.write(block.read_bytes())
    _same_disk(raw, reference)


def test_the_hyperv_vm_folder_is_as_hyperv_exports_it(samples, reference):
    config = samples["hyperv-xml"]
    _run("xmllint", "--noout", str(config))
    assert _xpath("string(/configuration/manifest/*[1]/name)", config) == "Microsoft Emulated IDE Controller"
    pathname = _xpath("string(//drive0/pathname)", config)
    assert pathname.startswith("D:\\Hyper-V\\")  # the path on the Hyper-V host
    assert config.parent.name == "Virtual Machines"
    vhdx = config.parent.parent / "Virtual Hard Disks" / pathname.rpartition("\\")[2]
    assert "file format: vhdx" in _run("qemu-img", "info", str(vhdx)).stdout
    _same_disk(vhdx, reference)


def test_a_utf16_hyperv_configuration_reads_as_the_utf8_one(samples, tmp_path):
    """Windows writes XML in UTF-16 too; the same configuration must give the same findings."""
    config = samples["hyperv-xml"]
    text = config.read_text(encoding="utf-8").replace("encoding='utf-8'", 'encoding="UTF-16"')
    utf16 = config.parent / "UTF16.xml"
    utf16.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    try:
        assert _run("file", "-b", str(utf16)).stdout.startswith("XML 1.0 document, Unicode text, UTF-16, little-endian")
        wide = run_imgscan("scan", utf16, "-f", "json", *AS_OF).report
        assert wide["findings"] and wide["findings"] == run_imgscan("scan", config, "-f", "json", *AS_OF).report["findings"]
    finally:
        utf16.unlink()


def test_the_tar_gz_is_a_gzip_of_the_trees_files(samples):
    subprocess.run(["gzip", "-t", str(samples["tar-gz"])], check=True)
    names = _run("tar", "-tzf", str(samples["tar-gz"])).stdout.split()
    assert "Windows/System32/config/SOFTWARE" in names


@pytest.mark.parametrize("fmt", ["vbox", "libvirt", "proxmox", "hyperv-xml"])
def test_a_configuration_lists_the_disk_it_named_with_its_hash(samples, fmt):
    run = run_imgscan("scan", samples[fmt], "-f", "json", *AS_OF)
    (parent,) = run.report["image"]["parents"]
    disk = Path(parent["path"])
    folder = samples[fmt].parent.parent / "Virtual Hard Disks" if fmt == "hyperv-xml" else samples[fmt].parent
    assert disk.parent == folder and parent["sha256"] == sha256(disk)


def test_the_table_header_names_the_loader_of_a_tar_gz(samples):
    header = run_imgscan("scan", samples["tar-gz"], *AS_OF).stdout.splitlines()[0]
    assert "(tar via generic, collection, sha256 " in header, header


def test_the_same_xva_gives_byte_identical_reports(samples):
    first = run_imgscan("scan", samples["xva"], "-f", "json", *AS_OF)
    assert first.stdout == run_imgscan("scan", samples["xva"], "-f", "json", *AS_OF).stdout


# --- real backups written by Veeam and Proxmox (none holds Windows) ------------------------------------


@pytest.mark.parametrize("entry", REAL, ids=[e["name"] for e in REAL])
def test_a_real_backup_opens_and_its_disk_is_read(entry, tmp_path):
    path = REAL_DIR / entry["name"]
    assert sha256(path) == entry["sha256"], "run scripts/setup.sh --test to fetch it"
    line = _refused(path, tmp_path)
    # the disk inside was mapped and its filesystems probed: the count is what dissect.archive's tests say
    assert f"none of its {entry['filesystems']} filesystem(s) holds Windows" in line, line


# --- bad input: one line, exit 2, nothing written next to the input or in the temporary folder ----------


def _refused(path: Path, tmp_path: Path, *needles: str) -> str:
    before = sorted(p.name for p in path.parent.iterdir())
    temp = tmp_path / "imgscan-temp"
    temp.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "imgscan", "scan", str(path)],
        capture_output=True,
        text=True,
        env=os.environ | {"TMPDIR": str(temp)},
        timeout=300,
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"imgscan: error: {path}: "), run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert sorted(p.name for p in path.parent.iterdir()) == before
    assert not any(temp.iterdir())
    return lines[0]


def test_a_vbox_whose_vdi_is_absent(tmp_path):
    vbox = tmp_path / "vm" / "golden.vbox"
    vbox.parent.mkdir()
    vbox.write_bytes(vbox_settings("golden.vdi", "6a1d4f3e-0000-4000-8000-000000000001", "golden"))
    _refused(vbox, tmp_path, "VirtualBox VM file names the disk 'golden.vdi', which is not next to it", "copy golden.vdi into")


def test_a_libvirt_domain_whose_qcow2_is_absent(tmp_path):
    domain = tmp_path / "vm" / "golden.xml"
    domain.parent.mkdir()
    domain.write_bytes(libvirt_domain("/var/lib/libvirt/images/golden.qcow2", "golden"))
    missing = "names the disk '/var/lib/libvirt/images/golden.qcow2', which is not next to it"
    _refused(domain, tmp_path, missing, "copy golden.qcow2 into")


def test_a_proxmox_configuration_whose_volume_is_absent(tmp_path):
    conf = tmp_path / "vm" / "100.conf"
    conf.parent.mkdir()
    conf.write_text(proxmox_conf("vm-100-disk-0", 64 << 20, "golden"))
    _refused(conf, tmp_path, "Proxmox VM configuration names the disk 'local-lvm:vm-100-disk-0'", "copy vm-100-disk-0 into")


def test_a_vbox_whose_vdi_is_not_a_disk(tmp_path):
    vbox = tmp_path / "vm" / "golden.vbox"
    vbox.parent.mkdir()
    vbox.write_bytes(vbox_settings("golden.vdi", "6a1d4f3e-0000-4000-8000-000000000001", "golden"))
    (vbox.parent / "golden.vdi").write_bytes(b"not a disk" * 100)
    _refused(vbox, tmp_path, "cannot read the disk 'golden.vdi' the VirtualBox VM file names")


def test_a_virtualbox_file_that_is_no_vm(tmp_path):
    """VirtualBox's global settings (VirtualBox.xml) have the same root element but no Machine."""
    settings = tmp_path / "vm" / "VirtualBox.xml"
    settings.parent.mkdir()
    settings.write_text(
        '<?xml version="1.0"?>\n<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">\n<Global/>\n</VirtualBox>\n'
    )
    _refused(settings, tmp_path, "not a readable VirtualBox VM file", "no Machine element")


def test_a_truncated_xva(samples, tmp_path):
    cut = tmp_path / "evidence" / "golden.xva"
    cut.parent.mkdir()
    cut.write_bytes(samples["xva"].read_bytes()[: 3 * XVA_BLOCK // 2])
    _refused(cut, tmp_path, "truncated or damaged tar archive", "re-copy the archive")


def test_a_truncated_tar_gz(samples, tmp_path):
    cut = tmp_path / "evidence" / "collection.tar.gz"
    cut.parent.mkdir()
    data = samples["tar-gz"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _refused(cut, tmp_path, "truncated or damaged tar archive")


def test_a_truncated_vbk(tmp_path):
    whole = REAL_DIR / "test13.vbk"
    cut = tmp_path / "evidence" / "backup.vbk"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: 64 * 1024])
    _refused(cut, tmp_path, "Veeam backup")


def test_a_hyperv_configuration_whose_vhdx_is_absent(tmp_path):
    config = tmp_path / "golden" / "Virtual Machines" / "2F8171EF.xml"
    config.parent.mkdir(parents=True)
    pathname = "D:\\Hyper-V\\golden\\Virtual Hard Disks\\golden.vhdx"
    config.write_bytes(hyperv_xml(pathname, "golden"))
    _refused(config, tmp_path, f"Hyper-V VM configuration names the disk {pathname!r}", "copy golden.vhdx into")


def test_a_truncated_vma(tmp_path):
    """dissect's VMA reader stops at the last whole extent header: a backup cut short would lose blocks."""
    cut = tmp_path / "evidence" / "vzdump-qemu-100.vma"
    cut.parent.mkdir()
    cut.write_bytes((REAL_DIR / "test.vma").read_bytes()[:100_000])
    _refused(cut, tmp_path, "truncated Proxmox backup (VMA): its extents end at byte 538112, the file at 100000")


@pytest.mark.parametrize(("compressor", "suffix", "command"), [("zstd", ".zst", "zstd -d"), ("gzip", ".gz", "gunzip")])
def test_a_compressed_vma_says_to_decompress_it(tmp_path, compressor, suffix, command):
    """vzdump compresses its backups by default (.vma.zst); the configuration inside shows through zstd's
    literals, which must not make the backup pass for a Proxmox configuration."""
    packed = tmp_path / "evidence" / f"vzdump-qemu-100.vma{suffix}"
    packed.parent.mkdir()
    with packed.open("wb") as out:
        subprocess.run([compressor, "-c", str(REAL_DIR / "test.vma")], stdout=out, check=True)
    assert b"memory: " in packed.read_bytes()[:4096] or compressor == "gzip"
    _refused(packed, tmp_path, f"compressed file: decompress it first ({command} {packed.name})")


def test_a_damaged_vmcx(tmp_path):
    """A file with the Hyper-V storage header's signature and nothing valid after it."""
    vmcx = tmp_path / "vm" / "6F1E3C2A-0000-4000-8000-000000000001.vmcx"
    vmcx.parent.mkdir()
    vmcx.write_bytes((0x01282014).to_bytes(4, "little") + hashlib.sha256(b"x").digest() * 256)
    _refused(vmcx, tmp_path, "not a readable Hyper-V VM configuration")


# --- sniffing: each kind from its content, whatever its name -------------------------------------------


def _tar_head(first: str) -> bytes:
    with tarfile.open(fileobj=(buffer := io.BytesIO()), mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(first)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"<x/>"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        (lambda: vbox_settings("a.vdi", "6a1d4f3e-0000-4000-8000-000000000001", "vm"), "vbox"),
        (lambda: libvirt_domain("/var/lib/libvirt/images/a.qcow2", "vm"), "libvirt"),
        (lambda: b"<?xml version='1.0'?>\n<!-- virsh edit -->\n<domain type='kvm' id='3'><name>a</name></domain>", "libvirt"),
        (lambda: proxmox_conf("vm-100-disk-0", 1 << 30, "vm").encode(), "proxmox"),
        (lambda: hyperv_xml("C:\\vm.vhdx", "vm"), "hyperv-xml"),
        (lambda: b"\xff\xfe" + hyperv_xml("C:\\vm.vhdx", "vm").decode().encode("utf-16-le"), "hyperv-xml"),
        (lambda: _tar_head("ova.xml"), "xva"),
        (lambda: gzip.compress(_tar_head("Windows/System32/config/SOFTWARE"), mtime=0), "tar"),
        (lambda: (0x01282014).to_bytes(4, "little") + bytes(8188), "vmcx"),
        (lambda: (REAL_DIR / "test9.vbk").read_bytes()[:8192], "vbk"),
        (lambda: (REAL_DIR / "test.vma").read_bytes()[:8192], "vma"),
        # look-alikes that are none of them
        (lambda: b"<?xml version='1.0'?>\n<domains><domain type='x'/></domains>\n" + bytes(512), "unknown"),
        (lambda: b"memory: 4096\ncores: 2\nname: notes\n" + b" " * 512, "unknown"),
        (
            lambda: (
                b'<?xml version="1.0"?>\n<configuration>\n<appSettings><add key="a"/></appSettings>\n</configuration>\n'
                + bytes(512)
            ),
            "unknown",
        ),
        (lambda: gzip.compress(b"\x00" * 4096, mtime=0) + bytes(512), "unknown"),
    ],
    ids=[
        *("vbox", "libvirt", "libvirt-comment", "proxmox", "hyperv-xml", "hyperv-xml-utf16", "xva", "tar-gz", "vmcx"),
        *("vbk", "vma", "xml", "yaml", "app.config", "gzip"),
    ],
)
def test_sniffing_names_each_kind_from_its_content(tmp_path, content, fmt):
    path = tmp_path / ("6F1E3C2A.vmcx" if fmt == "vmcx" else "input.bin")  # no telling extension but a .vmcx's
    path.write_bytes(content())
    assert read_header(path).format == fmt


# --- Hyper-V: no real .vmcx is available (see tests/registry_vm_files.toml); the disk lookup on the
# dictionary dissect's HyperVFile.as_dict() gives, shaped as dissect's HyperVLoader.map reads it ----------


def _hyperv_loader(config: Path, pathname: str) -> SimpleNamespace:
    ide = "_83f8638b-8dca-4152-9eda-2ca8b33039b4_"  # Microsoft Emulated IDE Controller
    drive = {"pathname": pathname, "type": "VHD"}
    empty = {"pathname": "", "type": "VHD"}  # a drive slot without a disk
    dvd = {"pathname": "C:\\iso\\setup.iso", "type": "ISO"}
    configuration = {
        ide: {"controller0": {"drive0": drive, "drive1": empty}, "controller1": {"drive0": dvd}},
        "manifest": {"vdev001": {"device": ide.strip("_"), "instance": ide.strip("_")}},
    }
    vmcx = SimpleNamespace(as_dict=lambda: {"configuration": configuration})
    return SimpleNamespace(vmcx=vmcx, base_path=config.parent, path=config)


def test_a_hyperv_vm_finds_its_vhdx_in_virtual_hard_disks(tmp_path):
    """Hyper-V's layout: <VM>/Virtual Machines/<id>.vmcx, <VM>/Virtual Hard Disks/<disk>.vhdx; the
    configuration names the disk by its path on the Hyper-V host."""
    config = tmp_path / "golden" / "Virtual Machines" / "6F1E3C2A.vmcx"
    config.parent.mkdir(parents=True)
    vhdx = tmp_path / "golden" / "Virtual Hard Disks" / "golden.vhdx"
    vhdx.parent.mkdir()
    vhdx.write_bytes(b"vhdxfile")
    pathname = "D:\\Hyper-V\\golden\\Virtual Hard Disks\\golden.vhdx"
    assert named_disks(config, "vmcx", _hyperv_loader(config, pathname), "Hyper-V VM configuration") == [(pathname, vhdx)]


def test_a_hyperv_vm_whose_vhdx_is_absent(tmp_path):
    config = tmp_path / "golden" / "Virtual Machines" / "6F1E3C2A.vmcx"
    config.parent.mkdir(parents=True)
    pathname = "D:\\Hyper-V\\golden\\Virtual Hard Disks\\golden.vhdx"
    with pytest.raises(UnreadableImage) as refused:
        named_disks(config, "vmcx", _hyperv_loader(config, pathname), "Hyper-V VM configuration")
    assert f"names the disk {pathname!r}, which is not next to it" in refused.value.problem
    assert refused.value.advice == f"copy golden.vhdx into {config.parent}"


def test_an_xva_disk_keeps_its_last_block_and_only_its_own_blocks(tmp_path):
    """The blocks of Ref:2 are Ref:2/<n>, not Ref:20/<n>; the last one (the end of the disk, where a recovery
    partition or the NTFS backup boot sector lives) is read like the others; a block left out is zeros.
    dissect.archive 1.8's XVAStream reads this disk as blocks 7, 1, 0."""
    first, last, other = (bytes([n]) * XVA_BLOCK for n in (1, 3, 7))
    path = tmp_path / "vm.xva"
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (("Ref:20/00000001", other), ("Ref:2/00000000", first), ("Ref:2/00000002", last)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as tar:
        disk = XvaDisk(tar, "Ref:2", 3 * XVA_BLOCK)
        assert disk.read() == first + bytes(XVA_BLOCK) + last
        disk.seek(XVA_BLOCK * 5 // 2)
        assert disk.read(16) == last[:16]


def test_a_hyperv_runtime_state_file_is_no_input(tmp_path):
    """A .vmrs has the .vmcx's storage format but names no disk: not taken for a VM (nor listed by fleet)."""
    vmrs = tmp_path / "vm" / "6F1E3C2A-0000-4000-8000-000000000001.vmrs"
    vmrs.parent.mkdir()
    vmrs.write_bytes((0x01282014).to_bytes(4, "little") + bytes(8188))
    assert read_header(vmrs).format == "unknown"
    _refused(vmrs, tmp_path, "not a disk image")


def test_a_vbox_running_on_a_snapshot_is_refused(tmp_path):
    """VirtualBox nests a snapshot's differencing VDI under its base in the media registry and attaches the
    child; dissect would read the child alone (its unwritten blocks as zeros), so imgscan refuses."""
    vbox = tmp_path / "vm" / "golden.vbox"
    vbox.parent.mkdir()
    base, child = "6a1d4f3e-0000-4000-8000-000000000001", "6a1d4f3e-0000-4000-8000-000000000002"
    settings = vbox_settings("golden.vdi", base, "golden").decode()
    nested = f'<HardDisk uuid="{{{child}}}" location="Snapshots/{{{child}}}.vdi" format="VDI" />'
    settings = settings.replace('type="Normal" />', f'type="Normal">{nested}</HardDisk>')
    settings = settings.replace(f'<Image uuid="{{{base}}}" />', f'<Image uuid="{{{child}}}" />')
    assert nested in settings and f'<Image uuid="{{{child}}}" />' in settings
    vbox.write_text(settings)
    _refused(vbox, tmp_path, "the VM runs on a snapshot", "VBoxManage clonemedium")


def test_a_proxmox_directory_storage_disk_is_found_in_its_vmid_folder_or_beside(tmp_path):
    """`local:100/vm-100-disk-0.qcow2` lives in images/100/ on the host; copied off it, it is found in a
    `100` folder beside the configuration or beside it; the [snapshot] section's drives are not the VM's."""
    conf = tmp_path / "100.conf"
    conf.write_text(
        "#comment without a colon\nmemory: 4096\nscsi0: local:100/vm-100-disk-0.qcow2,size=32G\n"
        "ide2: local:iso/setup.iso,media=cdrom\n\n[old]\nscsi1: local:100/vm-100-disk-1.qcow2\n"
    )
    loader = SimpleNamespace(path=conf, base_path=tmp_path)
    (disk,) = proxmox_disks(loader, tmp_path)
    assert disk.name == "local:100/vm-100-disk-0.qcow2" and disk.found() is None
    (tmp_path / "vm-100-disk-0.qcow2").write_bytes(b"QFI\xfb")
    assert disk.found() == tmp_path / "vm-100-disk-0.qcow2"
    (tmp_path / "100").mkdir()
    (tmp_path / "100" / "vm-100-disk-0.qcow2").write_bytes(b"QFI\xfb")
    assert disk.found() == tmp_path / "100" / "vm-100-disk-0.qcow2"  # dissect's own place comes first


def test_a_libvirt_disk_on_a_qcow2_backing_file(samples, tmp_path):
    """An external snapshot: the domain's qcow2 is an overlay of a base image. Read through the base, it
    gives the base's findings; without the base it is one line naming the missing file."""
    folder = tmp_path / "vm"
    folder.mkdir()
    base = folder / "base.qcow2"
    base.write_bytes(samples["libvirt"].with_suffix(".qcow2").read_bytes())
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "golden.qcow2"], cwd=folder, check=True
    )
    assert "backing file: base.qcow2" in _run("qemu-img", "info", str(folder / "golden.qcow2")).stdout
    domain = folder / "golden.xml"
    domain.write_bytes(libvirt_domain("/var/lib/libvirt/images/golden.qcow2", "golden"))
    overlay = run_imgscan("scan", domain, "-f", "json", *AS_OF).report
    assert (
        overlay["findings"]
        and overlay["findings"] == run_imgscan("scan", samples["libvirt"], "-f", "json", *AS_OF).report["findings"]
    )
    base.unlink()
    _refused(
        domain, tmp_path, "cannot read the disk '/var/lib/libvirt/images/golden.qcow2'", "backing-file", "base.qcow2' not found"
    )
