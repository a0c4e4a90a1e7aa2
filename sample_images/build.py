"""Build sample images from scenarios: tree → NTFS volume → partitioned disk → container formats.

The NTFS volume is made with mkntfs and filled with wimlib's NTFS apply (no
mounting, no root-only loop devices); partition tables are written by sfdisk
into the disk file; qemu-img converts the raw disk to VHDX, VHD and VMDK;
ewfacquire writes E01. The Windows partition always comes second, after a
small "System Reserved" (MBR) or recovery (GPT) NTFS partition without
Windows, so imgscan has to find the right one.

    python -m sample_images.build OUTDIR [SCENARIO ...] [--formats vhdx,vhd,...]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from sample_images import uefi
from sample_images.scenario import BootSpec, Scenario, load, write_tree
from sample_images.vhd_diff import build_child

MIB = 1024 * 1024
DISK_SIZE = 16 * MIB
RESERVED_START, RESERVED_SIZE = 1 * MIB, 2 * MIB
WINDOWS_START = 4 * MIB
WINDOWS_SIZE = DISK_SIZE - WINDOWS_START - MIB  # leave room for the backup GPT
DISK_FORMATS = ("raw", "gpt", "vhdx", "vhd", "vhd-fixed", "vmdk", "qcow2", "vdi", "e01")
WIM_FORMATS = ("wim-lzx", "wim-xpress", "wim-lzms", "esd", "swm", "wim-multi")
FORMATS = (*DISK_FORMATS, "dir")
TOOLS = ("mkntfs", "wimlib-imagex", "sfdisk", "qemu-img", "ewfacquire", "gcab", "mkfs.fat", "mcopy", "sbattach", "sbsign")


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def ntfs_volume(tree: Path, out: Path, size: int, label: str, start: int, work: Path) -> None:
    """An NTFS volume image of `size` bytes holding `tree` (empty when `tree` is None)."""
    with out.open("wb") as fh:
        fh.truncate(size)
    _run("mkntfs", "-F", "-Q", "-q", "-s", "512", "-p", str(start // 512), "-L", label, out)
    wim = work / f"{label}.wim"
    _run("wimlib-imagex", "capture", tree, wim, "--compress=none", "--no-acls")
    _run("wimlib-imagex", "apply", wim, "1", out)
    wim.unlink()


def raw_disk(tree: Path, out: Path, work: Path, label: str = "dos") -> None:
    """A raw disk with a System Reserved/recovery partition and the Windows partition."""
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    reserved, windows = work / "reserved.img", work / "windows.img"
    ntfs_volume(empty, reserved, RESERVED_SIZE, "SystemReserved", RESERVED_START, work)
    ntfs_volume(tree, windows, WINDOWS_SIZE, "Windows", WINDOWS_START, work)
    with out.open("wb") as fh:
        fh.truncate(DISK_SIZE)
    kind = "7" if label == "dos" else "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    table = (
        f"label: {label}\n"
        f"start={RESERVED_START // 512}, size={RESERVED_SIZE // 512}, type={kind}\n"
        f"start={WINDOWS_START // 512}, size={WINDOWS_SIZE // 512}, type={kind}\n"
    )
    subprocess.run(["sfdisk", "-q", str(out)], input=table.encode(), check=True, stdout=subprocess.DEVNULL)
    with out.open("r+b") as fh:
        for offset, part in ((RESERVED_START, reserved), (WINDOWS_START, windows)):
            fh.seek(offset)
            fh.write(part.read_bytes())


def uefi_disk(tree: Path, boot: BootSpec, out: Path, work: Path) -> None:
    """A GPT disk as Windows Setup lays it out: EFI system partition (FAT, made by mkfs.fat and filled
    with mtools, no mounting), Windows, and a recovery partition of `boot.recovery_mb` holding WinRE."""
    esp = work / "esp.img"
    with esp.open("wb") as fh:
        fh.truncate(uefi.ESP_SIZE)
    _run("mkfs.fat", "-n", "SYSTEM", esp)
    staged = work / "esp"
    for rel, data in uefi.esp_files(boot).items():
        (staged / rel).parent.mkdir(parents=True, exist_ok=True)
        (staged / rel).write_bytes(data)
    _run("mcopy", "-s", "-i", esp, staged / "EFI", "::/")
    windows = work / "windows.img"
    ntfs_volume(tree, windows, uefi.WINDOWS_SIZE, "Windows", uefi.WINDOWS_START, work)
    parts = [(uefi.ESP_START, esp, uefi.ESP_SIZE, uefi.ESP_TYPE, "EFI system partition")]
    parts.append((uefi.WINDOWS_START, windows, uefi.WINDOWS_SIZE, uefi.BASIC_DATA_TYPE, "Basic data partition"))
    if boot.recovery_mb:
        recovery_tree = work / "recovery"
        (recovery_tree / "Recovery" / "WindowsRE").mkdir(parents=True, exist_ok=True)
        (recovery_tree / "Recovery" / "WindowsRE" / "Winre.wim").write_bytes(b"WinRE image stand-in\0" * 4096)
        recovery = work / "recovery.img"
        size = boot.recovery_mb * MIB
        ntfs_volume(recovery_tree, recovery, size, "Recovery", uefi.RECOVERY_START, work)
        parts.append((uefi.RECOVERY_START, recovery, size, uefi.RECOVERY_TYPE, "Recovery"))
    end = parts[-1][0] + parts[-1][2]
    with out.open("wb") as fh:
        fh.truncate(end + MIB)  # room for the backup GPT
    table = "label: gpt\n" + "".join(
        f'start={start // 512}, size={size // 512}, type={kind}, name="{name}"\n' for start, _, size, kind, name in parts
    )
    subprocess.run(["sfdisk", "-q", str(out)], input=table.encode(), check=True, stdout=subprocess.DEVNULL)
    with out.open("r+b") as fh:
        for start, image, _, _, _ in parts:
            fh.seek(start)
            with image.open("rb") as source:
                shutil.copyfileobj(source, fh)


def convert(raw: Path, fmt: str, out: Path) -> None:
    if fmt == "vhdx":
        _run("qemu-img", "convert", "-O", "vhdx", "-o", "subformat=dynamic,block_size=1M,log_size=1M", raw, out)
    elif fmt == "vhd":
        _run("qemu-img", "convert", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", raw, out)
    elif fmt == "vhd-fixed":
        _run("qemu-img", "convert", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, out)
    elif fmt in ("vmdk", "qcow2", "vdi"):
        _run("qemu-img", "convert", "-O", fmt, raw, out)
    elif fmt == "e01":
        target = out.with_suffix("")
        _run(
            "ewfacquire",
            "-u",
            "-q",
            "-t",
            target,
            "-f",
            "encase6",
            "-c",
            "deflate:fast",
            "-C",
            "imgscan",
            "-D",
            "sample",
            "-e",
            "imgscan",
            "-E",
            "1",
            "-N",
            "sample image",
            "-m",
            "fixed",
            "-M",
            "physical",
            raw,
        )
    else:
        raise ValueError(f"unknown format {fmt}")


SUFFIX = {
    "raw": ".raw",
    "gpt": ".gpt.raw",
    "vhdx": ".vhdx",
    "vhd": ".vhd",
    "vhd-fixed": ".fixed.vhd",
    "vmdk": ".vmdk",
    "qcow2": ".qcow2",
    "vdi": ".vdi",
    "e01": ".E01",
    "wim-lzx": ".lzx.wim",
    "wim-xpress": ".xpress.wim",
    "wim-lzms": ".lzms.wim",
    "esd": ".esd",
    "swm": ".swm",
    "wim-multi": ".multi.wim",
}
WIM_COMPRESSION = {
    "wim-lzx": ["--compress=LZX"],
    "wim-xpress": ["--compress=XPRESS"],
    "wim-lzms": ["--compress=LZMS"],
    "esd": ["--solid"],
    "swm": ["--compress=LZX"],
    "wim-multi": ["--compress=LZX"],
}
SPLIT_FILLER = 3 * MIB  # incompressible payload so the split WIM really has several 1 MiB parts


def wim(tree: Path, s: Scenario, fmt: str, out: Path, work: Path) -> None:
    """Capture `tree` as the scenario's image the way DISM/ImageX would, in `fmt`'s compression."""
    name, description = f"{s.product_name} ({s.name})", s.description
    if fmt == "swm":
        whole = work / "whole.wim"
        filler = tree / "Windows" / "System32" / "filler.bin"
        filler.write_bytes(random.Random(s.name).randbytes(SPLIT_FILLER))
        _run("wimlib-imagex", "capture", tree, whole, name, description, *WIM_COMPRESSION[fmt])
        filler.unlink()
        _run("wimlib-imagex", "split", whole, out, "1")
        return
    _run("wimlib-imagex", "capture", tree, out, name, description, *WIM_COMPRESSION[fmt])
    if fmt == "wim-multi":
        empty = work / "winpe"
        (empty / "sources").mkdir(parents=True, exist_ok=True)
        _run("wimlib-imagex", "append", empty, out, "Microsoft Windows PE (x64)", "boot image without Windows")


def build(s: Scenario, out_dir: Path, formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """Build `s` in each of `formats` into `out_dir`; returns {format: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="imgscan-sample-") as tmp:
        work = Path(tmp)
        tree = write_tree(s, work / "tree")
        if "dir" in formats:
            target = out_dir / f"{s.name}.dir"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(tree, target)
            built["dir"] = target
        for fmt in (f for f in formats if f in WIM_FORMATS):
            built[fmt] = out_dir / f"{s.name}{SUFFIX[fmt]}"
            wim(tree, s, fmt, built[fmt], work)
        disk_formats = [f for f in formats if f in DISK_FORMATS]
        if not disk_formats:
            return built
        mbr = work / "disk.raw"
        if s.boot:  # a UEFI disk: every disk format is GPT with an ESP and a recovery partition
            uefi_disk(tree, s.boot, mbr, work)
        else:
            raw_disk(tree, mbr, work)
        for fmt in disk_formats:
            out = out_dir / f"{s.name}{SUFFIX[fmt]}"
            if fmt == "raw":
                shutil.copyfile(mbr, out)
            elif fmt == "gpt":
                shutil.copyfile(mbr, out) if s.boot else raw_disk(tree, out, work, label="gpt")
            else:
                convert(mbr, fmt, out)
            built[fmt] = out
    return built


def build_differencing(parent: Scenario, child: Scenario, out_dir: Path) -> tuple[Path, Path, Path]:
    """A dynamic VHD of `parent` and a differencing child that reads as `child`.

    Returns (parent.vhd, child.vhd, the child's raw disk for comparison).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imgscan-sample-") as tmp:
        work = Path(tmp)
        parent_raw, child_raw = work / "parent.raw", out_dir / f"{child.name}.diff-expected.raw"
        raw_disk(write_tree(parent, work / "ptree"), parent_raw, work)
        raw_disk(write_tree(child, work / "ctree"), child_raw, work)
        parent_vhd = out_dir / f"{parent.name}-parent.vhd"
        convert(parent_raw, "vhd", parent_vhd)
        child_vhd = out_dir / f"{child.name}-child.vhd"
        build_child(parent_vhd, parent_raw.read_bytes(), child_raw.read_bytes(), child_vhd)
    return parent_vhd, child_vhd, child_raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("scenarios", nargs="*", default=["ws-acc-0417", "healthy"])
    parser.add_argument("--formats", default="vhdx", help=f"comma-separated, from {','.join(FORMATS + WIM_FORMATS)}")
    args = parser.parse_args()
    if missing := missing_tools():
        parser.error(f"missing tools: {', '.join(missing)} (run scripts/setup.sh --test)")
    for name in args.scenarios:
        for fmt, path in build(load(name), args.out_dir, tuple(args.formats.split(","))).items():
            print(f"{fmt:10} {path}")


if __name__ == "__main__":
    main()
