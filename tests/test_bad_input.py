"""Issue 2, "bad input": one-line errors, the right exit code, no traceback without --debug."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, rules_by_path, run_imgscan, sha256


def assert_one_line_error(run, *needles: str) -> None:
    assert run.code == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("imgscan: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_nonexistent_path(tmp_path):
    missing = tmp_path / "golden.vhdx"
    assert_one_line_error(run_imgscan("scan", missing), str(missing), "no such file")


def test_directory_without_windows(tmp_path):
    (tmp_path / "data" / "stuff").mkdir(parents=True)
    assert_one_line_error(run_imgscan("scan", tmp_path / "data"), "no Windows volume")


def test_text_file(tmp_path):
    text = tmp_path / "notes.vhdx"
    text.write_text("this is not a disk image\n" * 100)
    assert_one_line_error(run_imgscan("scan", text), str(text), "not a disk image")


READABLE = (
    "imgscan reads VHD, VHDX, VMDK, QCOW2, VDI, E01, raw MBR/GPT disk or NTFS volume, WIM/ESD/SWM, an extracted Windows directory"
)


@pytest.mark.parametrize("name", ["install.wim", "golden.vhdx", "disk.img"])
def test_empty_file_says_so_and_lists_what_imgscan_reads(tmp_path, name):
    empty = tmp_path / name
    empty.write_bytes(b"")
    assert_one_line_error(run_imgscan("scan", empty), f"{empty}: empty file (0 bytes)", READABLE)
    assert_one_line_error(run_imgscan("images", empty), f"{empty}: empty file (0 bytes)")


def test_a_file_shorter_than_any_header_is_truncated(images, tmp_path):
    cut = tmp_path / "golden.vmdk"
    cut.write_bytes(images["ws-acc-0417"]["vmdk"].read_bytes()[:100][::-1])  # 100 bytes, no header left
    needle = f"{cut}: truncated or not an image: 100 bytes, shorter than any image header"  # cut short, or never one
    assert_one_line_error(run_imgscan("scan", cut), needle, READABLE)


def test_a_windows_disk_with_a_damaged_file_system_is_not_called_a_kape_collection(tmp_path):
    """Two MB overwritten inside the NTFS volume of a Windows disk: the scan said "no Windows files in this KAPE
    collection" (a VHDX without a Windows volume was taken for KAPE's container whatever its layout)."""
    import random

    damaged = tmp_path / "z10.vhdx"
    data = bytearray((REPO / "sample_images" / "built" / "ref-w7-2012q3.vhdx").read_bytes())
    data[10 << 20 : 12 << 20] = random.Random(10).randbytes(2 << 20)
    damaged.write_bytes(bytes(data))
    run = run_imgscan("scan", damaged)
    assert_one_line_error(run, f"{damaged}: no Windows volume", "its file system is damaged: re-copy or re-capture it")
    assert "KAPE" not in run.stderr


def test_truncated_vhdx(images, tmp_path):
    data = images["ws-acc-0417"]["vhdx"].read_bytes()
    cut = tmp_path / "cut.vhdx"
    cut.write_bytes(data[: len(data) // 5])
    assert_one_line_error(run_imgscan("scan", cut), str(cut), "truncated")


def test_truncated_raw_disk(images, tmp_path):
    cut = tmp_path / "cut.raw"
    cut.write_bytes(images["ws-acc-0417"]["raw"].read_bytes()[:600_000])
    assert_one_line_error(run_imgscan("scan", cut), "truncated", "partition")


@pytest.mark.parametrize(
    ("fmt", "cut_at", "needle"),
    [
        ("vhdx", 0.75, "truncated or forged: its block allocation table places data up to byte "),
        ("vhdx", -368, "truncated or forged: its block allocation table places data up to byte "),  # the last block's end
        ("vmdk", 0.9, "truncated or forged: its grain tables place data up to byte "),
        ("raw", 0.9, "truncated: partition 2 ends at byte "),
        ("gpt", 0.9, "truncated: partition 2 ends at byte "),
        ("qcow2", 0.6, "truncated or forged: its L2 tables place a cluster at byte "),
        ("vdi", 0.9, "truncated or forged: its block map places data up to byte "),
        ("vhd-fixed", 0.9, "truncated: the VHD footer at the end of the file is missing"),  # was: no filesystem found
        ("e01", 0.9, "truncated or incomplete: ws-acc-0417.E01 is cut short: its sectors section ends past its "),
    ],
)
def test_a_copy_cut_short_is_refused_not_scanned(images, tmp_path, fmt, cut_at, needle):
    """A copy cut short still opens (its first files read): before, some were scanned as if whole, with
    false findings for what the cut took (a manifest without its catalog) and silence about the rest."""
    data = images["ws-acc-0417"][fmt].read_bytes()
    keep = len(data) + cut_at if cut_at < 0 else int(len(data) * cut_at)
    cut = tmp_path / images["ws-acc-0417"][fmt].name
    cut.write_bytes(data[:keep])
    # these say how far the data goes and where the file ends
    sized = fmt in ("vhdx", "vmdk", "qcow2", "vdi", "raw", "gpt", "e01")
    assert_one_line_error(run_imgscan("scan", cut), f"{cut}: {needle}", f"{keep}" if sized else "")


def test_a_bare_ntfs_volume_cut_short_is_refused(images, tmp_path):
    """A volume image (no partition table) cut short: its NTFS boot sector says how long it is. The
    volume is carved out of the raw disk where sfdisk, not imgscan, says its partition lies."""
    disk = images["ws-acc-0417"]["raw"]
    table = json.loads(subprocess.run(["sfdisk", "--json", disk], capture_output=True, check=True, text=True).stdout)
    start, sectors = max((p["start"], p["size"]) for p in table["partitiontable"]["partitions"])
    volume = disk.read_bytes()[start * 512 : (start + sectors) * 512]
    whole, cut = tmp_path / "volume.raw", tmp_path / "cut-volume.raw"
    whole.write_bytes(volume)
    cut.write_bytes(volume[: len(volume) * 2 // 3])
    assert run_imgscan("scan", whole, "--as-of", "2013-07-01").code == 1  # the whole volume scans, with its findings
    assert_one_line_error(
        run_imgscan("scan", cut), f"{cut}: truncated: its NTFS volume spans ", f"the image holds {len(volume) * 2 // 3}"
    )


def test_debug_shows_the_traceback_and_keeps_the_line_and_the_exit_code(tmp_path):
    """--debug adds the traceback; a CI job run with it must still see exit 2 (bad input), not 1 (findings)."""
    text = tmp_path / "notes.txt"
    text.write_text("plain text\n" * 100)
    plain, debug = run_imgscan("scan", text), run_imgscan("scan", text, "--debug")
    assert (plain.code, debug.code) == (2, 2)
    assert "Traceback" in debug.stderr and "Traceback" not in plain.stderr
    assert debug.stderr.rstrip().splitlines()[-1] == plain.stderr.rstrip()


def test_usage_errors_exit_2(images):
    assert run_imgscan("scan", images["healthy"]["vhdx"], "--as-of", "yesterday").code == 2
    assert run_imgscan("scan", images["healthy"]["vhdx"], "--fail-on", "severe").code == 2
    assert run_imgscan("frobnicate").code == 2


def test_garbage_software_hive_is_a_finding_and_profiles_still_checked(variant):
    image = variant("ws-acc-0417", lambda s: setattr(s, "software_damage", "garbage"))
    before = sha256(image)
    run = run_imgscan("scan", image, "--format", "json")
    assert "Traceback" not in run.stderr
    assert run.code == 1
    report = run.report
    assert {e["path"] for e in report["errors"]} == {r"Windows\System32\config\SOFTWARE"}
    assert "not a registry hive" in report["errors"][0]["message"]
    found = rules_by_path(report)
    assert ("hive-unreadable", r"Windows\System32\config\SOFTWARE") in found
    # without ProfileList the profiles are still found under Users\ and checked
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in found
    unreadable = next(f for f in report["findings"] if f["rule"] == "hive-unreadable")
    assert unreadable["severity"] == "high"
    assert report["host"]["os"] is None
    assert "imgscan: warning: Windows\\System32\\config\\SOFTWARE" in run.stderr
    assert sha256(image) == before


def test_profile_hive_cut_in_half(variant):
    def cut(s):
        s.profiles[1].damage = "truncate"  # pcoulson

    run = run_imgscan("scan", variant("ws-acc-0417", cut), "--format", "json")
    assert run.code == 1
    assert "Traceback" not in run.stderr
    report = run.report
    assert report["errors"] == [{"path": r"Users\pcoulson\NTUSER.DAT", "message": report["errors"][0]["message"]}]
    assert "truncated" in report["errors"][0]["message"]
    found = rules_by_path(report)
    assert ("hive-unreadable", r"Users\pcoulson\NTUSER.DAT") in found
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in found
    bad = next(f for f in report["findings"] if f["rule"] == "hive-unreadable")
    assert bad["severity"] == "medium"


def test_dirty_hive_read_as_is_and_reported(variant):
    def dirty(s):
        s.profiles[0].dirty = True

    report = run_imgscan("scan", variant("ws-acc-0417", dirty), "--format", "json").report
    hives = {h["path"]: h for h in report["inventory"]["hives"]}
    assert hives[r"Users\nfury\NTUSER.DAT"]["dirty"] is True
    assert hives[r"Users\pcoulson\NTUSER.DAT"]["dirty"] is False
    found = rules_by_path(report)
    assert ("hive-dirty", r"Users\nfury\NTUSER.DAT") in found
    assert ("wintrust-offline-revocation", r"Users\nfury\NTUSER.DAT") in found


@pytest.mark.parametrize("fmt", ["vhdx", "raw"])
def test_image_is_never_written(images, fmt, tmp_path):
    image: Path = images["ws-acc-0417"][fmt]
    before = (sha256(image), image.stat().st_mtime_ns, sorted(p.name for p in image.parent.iterdir()))
    run_imgscan("scan", image, "--format", "json", "-o", tmp_path / "out.json")
    after = (sha256(image), image.stat().st_mtime_ns, sorted(p.name for p in image.parent.iterdir()))
    assert before == after


def _patched(source: Path, out: Path, offset: int, fmt: str, value: int) -> Path:
    import struct

    data = bytearray(source.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    out.write_bytes(data)
    return out


@pytest.mark.parametrize(
    ("container", "offset", "fmt", "value", "needle"),
    [
        ("vmdk", 12, "<Q", 1 << 52, "grain directory of 274877906944 bytes"),  # capacity: 2 EiB of sectors
        ("vmdk", 44, "<I", 0xFFFFFFFF, "grain table of 17179869180 bytes"),  # entries per grain table
        ("vhdx", 192 * 1024 + 8, "<I", 0x7FFFFFFF, "region table at 196608 claims 2147483647 entries"),
    ],
)
def test_a_header_claiming_more_than_the_file_holds_is_refused_before_anything_is_reserved(
    images, tmp_path, container, offset, fmt, value, needle
):
    """Under a 4 GB address-space limit (a container, a CI runner) the scan used to end in MemoryError:
    dissect sized its grain directory from the header. Now one line says the header is truncated or forged."""
    import resource
    import subprocess
    import sys

    forged = _patched(images["ws-acc-0417"][container], tmp_path / f"forged.{container}", offset, fmt, value)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "imgscan", "scan", str(forged)], preexec_fn=limit, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"imgscan: error: {forged}: truncated or forged: ") and needle in line


QEMU_JUDGES = {
    "vhdx": ["qemu-img", "info", "-f", "vhdx"],
    "vmdk": ["qemu-img", "check", "-f", "vmdk"],
    "qcow2": ["qemu-img", "check", "-f", "qcow2"],
}


@pytest.mark.parametrize(("fmt", "refuses"), QEMU_JUDGES.items())
def test_cut_copies_qemu_refuses_are_refused_too(images, tmp_path, fmt, refuses):
    """qemu-img, an independent reader of these formats, as the judge: every cut it calls damaged imgscan
    refuses as well, and the whole file both accept. (qemu reads a VHDX block cut near its end as zeros:
    imgscan refuses those cuts too, see above.)"""
    data = images["ws-acc-0417"][fmt].read_bytes()
    judged = 0
    for keep in [len(data), *range(len(data) // 8, len(data), len(data) // 8)]:
        cut = tmp_path / f"cut-{keep}.{fmt}"
        cut.write_bytes(data[:keep])
        qemu_refuses = subprocess.run([*refuses, cut], capture_output=True, check=False).returncode != 0
        run = run_imgscan("scan", cut, "--as-of", "2013-07-01", "-o", "/dev/null")
        assert (keep == len(data)) == (run.code == 1), (keep, run.stderr)
        assert not (qemu_refuses and keep == len(data)), "qemu-img refuses the whole image"
        if qemu_refuses:
            assert_one_line_error(run, str(cut), "truncated")
            judged += 1
    assert judged >= 3  # qemu found enough of the cuts damaged for the comparison to mean something


def test_a_parallels_disk_says_how_to_convert_it(images, tmp_path):
    """A Parallels disk is named, with qemu-img's conversion, which is then run here as the line says and
    scanned."""
    disk = tmp_path / "golden.parallels"
    subprocess.run(["qemu-img", "convert", "-O", "parallels", images["ws-acc-0417"]["raw"], disk], check=True)
    run = run_imgscan("scan", disk)
    advice = "qemu-img convert -O vhdx golden.parallels golden.vhdx"
    assert_one_line_error(run, f"{disk}: a Parallels disk, which imgscan does not open on its own: ", f"({advice}) and scan that")
    subprocess.run(advice.split(), cwd=tmp_path, check=True)
    assert run_imgscan("scan", tmp_path / "golden.vhdx", "--as-of", "2013-07-01", "-o", "/dev/null").code == 1


def test_a_qcow2_overlay_reads_through_its_backing_file_and_names_it(images, tmp_path):
    """A QCOW2 overlay (a libvirt snapshot or linked clone) is read through its backing file, looked up next
    to it whether recorded by name or by the absolute path of the machine that made it; the report names the
    backing file with its SHA-256, as the evidence it also read. Without it: one line, exit 2."""
    base = tmp_path / "base.qcow2"
    shutil.copyfile(images["ws-acc-0417"]["qcow2"], base)
    info = subprocess.run(["qemu-img", "info", "--output", "json", base], capture_output=True, check=True, text=True)
    size = str(json.loads(info.stdout)["virtual-size"])
    for name, recorded in (("child.qcow2", "base.qcow2"), ("absolute.qcow2", "/var/lib/libvirt/images/base.qcow2")):
        overlay = ["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", recorded, "-F", "qcow2", tmp_path / name, size]
        subprocess.run(overlay, check=True)
        run = run_imgscan("scan", tmp_path / name, "--as-of", "2013-07-01", "-f", "json")
        assert run.code == 1, run.stderr
        assert run.report["image"]["parents"] == [{"path": str(base), "sha256": sha256(base), "format": "qcow2"}]
        assert rules_by_path(run.report) == rules_by_path(run_imgscan("scan", base, "--as-of", "2013-07-01", "-f", "json").report)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copyfile(tmp_path / "child.qcow2", alone / "child.qcow2")
    assert_one_line_error(
        run_imgscan("scan", alone / "child.qcow2"),
        "needs its parent 'base.qcow2', which is not next to it",
        f"copy base.qcow2 into {alone}",
    )


def test_qcow2_options_qemu_img_offers_read_or_refused_in_a_line(images, tmp_path):
    """`-o extended_l2=on` made the scan spin for ever with its memory growing (dissect.hypervisor loops on
    subclusters): a CI job hung until its timeout. It is refused in one line with the conversion that reads.
    `-o data_file=...`: the disk's clusters are in a raw file beside it, which is read (and named as evidence
    with its SHA-256); missing, one line that says so, not "is the file complete?"."""
    source = images["ws-acc-0417"]["vhdx"]
    expected = rules_by_path(run_imgscan("scan", source, "--as-of", "2013-07-01", "-f", "json").report)
    l2 = tmp_path / "l2.qcow2"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", "-o", "extended_l2=on", source, l2], check=True)
    assert_one_line_error(run_imgscan("scan", l2), "extended L2 entries", "qemu-img convert -O qcow2 l2.qcow2 plain.qcow2")
    plain = tmp_path / "plain.qcow2"  # the advice works
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", l2, plain], check=True)
    assert rules_by_path(run_imgscan("scan", plain, "--as-of", "2013-07-01", "-f", "json").report) == expected
    external = tmp_path / "ext.qcow2"
    options = "data_file=ext.raw,data_file_raw=on"
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", "-o", options, source, external], cwd=tmp_path, check=True)
    run = run_imgscan("scan", external, "--as-of", "2013-07-01", "-f", "json")
    assert run.code == 1 and rules_by_path(run.report) == expected
    data = tmp_path / "ext.raw"
    assert run.report["image"]["parents"] == [{"path": str(data), "sha256": sha256(data), "format": "raw-mbr"}]
    data.rename(tmp_path / "elsewhere.raw")
    assert_one_line_error(run_imgscan("scan", external), "its data lives in the external file 'ext.raw', not found next to it")


def test_a_differencing_vdi_is_refused_with_the_way_to_a_whole_disk(images, tmp_path):
    """A VirtualBox snapshot (type 4 in the header, VirtualBox's VDICore.h) holds only its changed blocks:
    read alone, the rest would read as zeros."""
    data = bytearray(images["ws-acc-0417"]["vdi"].read_bytes())
    assert data[76:80] == (1).to_bytes(4, "little")  # a normal, dynamically growing base image, as qemu-img wrote it
    data[76:80] = (4).to_bytes(4, "little")
    snapshot = tmp_path / "{6a1d4f3e-0000-4000-8000-000000000002}.vdi"
    snapshot.write_bytes(data)
    assert_one_line_error(
        run_imgscan("scan", snapshot),
        "a differencing VirtualBox disk (a snapshot)",
        f"VBoxManage clonemedium disk {snapshot.name} whole.vdi",
    )


def test_a_symbolic_link_loop_is_a_bad_input_not_a_crash(tmp_path):
    """`ln -s b a; ln -s a b; imgscan scan a -o r.json` printed a traceback and exited 1 (CI: "findings"); without
    -o it was an internal error. Python's Path.resolve raises RuntimeError on a loop."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for extra in ((), ("-o", str(tmp_path / "r.json")), ("--cache-dir", str(tmp_path / "cache"))):
        assert_one_line_error(run_imgscan("scan", tmp_path / "a", *extra), str(tmp_path / "a"), "symbolic link to nothing")
    assert not (tmp_path / "r.json").exists()


def test_a_symbolic_link_to_an_extracted_volume_scans_as_the_volume(images, tmp_path):
    """A CI artifact path that is a link to the extracted folder was 'directory holds no Windows volume'."""
    folder = images["ws-acc-0417"]["dir"]
    link = tmp_path / "artifact"
    link.symlink_to(folder)
    through, direct = (run_imgscan("scan", p, "--as-of", "2013-07-01", "-f", "json") for p in (link, folder))
    assert through.code == direct.code == 1
    assert through.report["image"] == direct.report["image"] | {"path": str(link)}
    assert through.report["findings"] == direct.report["findings"]


def test_an_image_in_several_files_names_each_and_is_refused_when_one_is_missing_or_cut(images, tmp_path):
    """A flat VMDK's extent and an E01's later segments were read but not hashed (two different disks gave one
    SHA-256), and a set copied incompletely was scanned: a flat extent cut short gave false findings, an E01
    without its last segment passed silently. Each other file is now in `parents` with its SHA-256 (as
    sha256sum gives it), and an incomplete set is one line, exit 2; ewfverify agrees on the E01 cases."""
    raw = images["ws-acc-0417"]["raw"]
    expected = rules_by_path(run_imgscan("scan", raw, "--as-of", "2013-07-01", "-f", "json").report)
    flat = tmp_path / "flat"
    flat.mkdir()
    subprocess.run(["qemu-img", "convert", "-O", "vmdk", "-o", "subformat=monolithicFlat", raw, flat / "g.vmdk"], check=True)
    run = run_imgscan("scan", flat / "g.vmdk", "--as-of", "2013-07-01", "-f", "json")
    extent = flat / "g-flat.vmdk"
    assert run.code == 1 and rules_by_path(run.report) == expected
    assert run.report["image"]["parents"] == [{"path": str(extent), "sha256": sha256(extent), "format": "raw-mbr"}]
    extent.write_bytes(extent.read_bytes()[: 10 << 20])
    assert_one_line_error(
        run_imgscan("scan", flat / "g.vmdk"), "extent g-flat.vmdk holds 10485760 bytes, the descriptor gives it"
    )

    ewf = tmp_path / "ewf"
    ewf.mkdir()
    acquire = ["ewfacquire", "-u", "-q", "-t", ewf / "ref", "-f", "encase6", "-c", "none", "-S", "8M", raw]
    subprocess.run(acquire, check=True, capture_output=True)
    segments = sorted(ewf.glob("ref.E0*"))
    assert [s.name for s in segments] == ["ref.E01", "ref.E02", "ref.E03"]
    run = run_imgscan("scan", segments[0], "--as-of", "2013-07-01", "-f", "json")
    assert run.code == 1 and rules_by_path(run.report) == expected
    assert run.report["image"]["parents"] == [{"path": str(s), "sha256": sha256(s), "format": "e01"} for s in segments[1:]]
    whole = {s.name: s.read_bytes() for s in segments}
    for damage, said in (
        (lambda: segments[2].unlink(), "ref.E02 says another segment follows it, which is missing"),
        (lambda: segments[1].write_bytes(whole["ref.E02"][:4_000_000]), "ref.E02 is cut short"),
        (lambda: segments[1].unlink(), "segment 2 is missing (ref.E03 is segment 3)"),
    ):
        for segment in segments:
            segment.write_bytes(whole[segment.name])
        damage()
        assert subprocess.run(["ewfverify", "-q", segments[0]], capture_output=True).returncode != 0
        assert_one_line_error(run_imgscan("scan", segments[0]), "truncated or incomplete: " + said)
