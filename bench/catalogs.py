"""Catalog phase benchmark: a Windows 7-scale catalog tree, scanned through imgscan's own image stack.

    python3 bench/catalogs.py [--count 20000] [--work DIR]

Builds (once, cached in DIR) a tree of COUNT distinct signed catalogs with a
realistic size mix (most with a handful of members, a long tail up to a few
hundred), signed by three shared signer certificates, most timestamped the
Windows 7 way (Authenticode countersignature), some not at all. Then, in one
process and on one core, it measures:

- the read floor: reading every catalog's bytes through the same volume
  object imgscan uses, for two stacks: the extracted directory, and the same
  tree in an NTFS volume inside a VHDX read by dissect.target (a real scan);
- the catalog phase: `read_catalogs` (read, hash, parse, verify, judge) on
  each stack;
- peak Python memory of the phase at COUNT/4 and COUNT catalogs, to show
  whether memory grows with the count.

Figures are printed as catalogs per second and as ratios to the read floor
measured in the same run, never as absolute pass/fail thresholds.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dissect.target.filesystems.dir import DirectoryFilesystem  # noqa: E402

from imgscan.catalog_inventory import catalog_paths, read_catalogs  # noqa: E402
from imgscan.certs import CertCache  # noqa: E402
from imgscan.image.disk import open_disk  # noqa: E402
from imgscan.image.volume import FilesystemVolume, WindowsVolume  # noqa: E402
from imgscan.trust_store import build_store  # noqa: E402
from imgscan.validity import Judge  # noqa: E402
from sample_images.build import convert, ntfs_volume  # noqa: E402
from sample_images.catalog_writer import write_catalog  # noqa: E402
from sample_images.pki import make_pki, utc  # noqa: E402

PACKAGES = "Windows/servicing/Packages"


def member_count(rng: random.Random) -> int:
    """Most catalogs list a few files; a long tail lists hundreds (servicing stacks, language packs)."""
    return min(1 + int(rng.expovariate(1 / 12)), 600)


def build_tree(root: Path, count: int) -> None:
    marker = root / f".complete-{count}"
    if marker.exists():
        return
    rng = random.Random(2012)
    pki = make_pki()
    signers = [
        pki.signer("Microsoft Windows", "2009-12-07T21:57:40", "2011-03-07T21:57:40"),
        pki.signer("Microsoft Windows", "2011-06-30T10:00:00", "2013-06-30T10:00:00"),
        pki.signer("Microsoft Windows", "2012-09-01T00:00:00", "2014-03-01T00:00:00"),
    ]
    (root / PACKAGES).mkdir(parents=True, exist_ok=True)
    (root / "Windows/System32/config").mkdir(parents=True, exist_ok=True)
    (root / "root.der").write_bytes(pki.root.der)
    for n in range(count):
        signer = signers[n % 3]
        signed = utc(f"2010-{1 + n % 12:02d}-15T08:00:00") if n % 3 == 0 else utc(f"2012-{1 + n % 12:02d}-15T08:00:00")
        members = [os.urandom(32) for _ in range(member_count(rng))]
        stamp = None if n % 10 == 9 else (pki.tsa_good, signed)
        data = write_catalog(members, signed, signer, [pki.code_pca, pki.stamp_pca], stamp)
        (root / PACKAGES / f"Package_{n}_for_KB{2500000 + n // 4}~31bf3856ad364e35~amd64~~6.1.1.{n % 9}.cat").write_bytes(data)
        if n % 1000 == 999:
            print(f"  built {n + 1}/{count}", file=sys.stderr)
    marker.touch()


def build_vhdx(root: Path) -> Path:
    """The tree in an NTFS volume (mkntfs + wimlib apply) converted to VHDX, built once."""
    vhdx = root.with_suffix(".vhdx")
    if not vhdx.exists():
        size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        volume = root.with_suffix(".ntfs")
        work = Path(tempfile.mkdtemp(prefix="imgscan-bench-"))
        ntfs_volume(root, volume, max(64 << 20, size * 3 // 2 + (64 << 20)), "Windows", 0, work)
        convert(volume, "vhdx", vhdx)
        volume.unlink()
        work.rmdir()
    return vhdx


def judge_for(root: Path, cache: CertCache) -> Judge:
    store = build_store(cache, None)
    store.add((root / "root.der").read_bytes(), "bench root")
    return Judge(store, cache, None)


def read_floor(volume: WindowsVolume, paths: list[str]) -> float:
    start = time.perf_counter()
    total = 0
    for path in paths:
        with volume.open(path) as fh:
            total += len(fh.read())
    return time.perf_counter() - start


def catalog_phase(root: Path, volume: WindowsVolume) -> tuple[float, int]:
    cache = CertCache()
    judge = judge_for(root, cache)
    start = time.perf_counter()
    records = read_catalogs(volume, judge)
    elapsed = time.perf_counter() - start
    assert all(r.verdict for r in records.records), "a bench catalog failed to parse"
    return elapsed, len(records.records)


def peak_memory(root: Path, limit: int) -> int:
    """Peak traced memory of the catalog phase over the first `limit` catalogs."""
    subset = root.parent / f"{root.name}-first{limit}"
    if not subset.exists():
        (subset / PACKAGES).mkdir(parents=True)
        (subset / "Windows/System32/config").mkdir(parents=True)
        (subset / "root.der").write_bytes((root / "root.der").read_bytes())
        for name in sorted(os.listdir(root / PACKAGES))[:limit]:
            os.link(root / PACKAGES / name, subset / PACKAGES / name)
    volume = FilesystemVolume(DirectoryFilesystem(subset))
    cache = CertCache()
    judge = judge_for(subset, cache)
    tracemalloc.start()
    read_catalogs(volume, judge)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "imgscan-bench-catalogs")
    args = parser.parse_args()
    root = args.work / f"tree-{args.count}"
    build_tree(root, args.count)
    stacks = {
        "directory": lambda: FilesystemVolume(DirectoryFilesystem(root)),
        "NTFS in VHDX (dissect)": lambda: open_disk(build_vhdx(root), "vhdx")[0],
    }
    paths = catalog_paths(stacks["directory"]())
    size = sum((root / PACKAGES / p.rsplit("\\", 1)[-1]).stat().st_size for p in paths)
    print(f"catalogs: {len(paths)} distinct, {size / 1e6:.1f} MB, mean {size / len(paths) / 1e3:.1f} KB")
    for name, make in stacks.items():
        read_floor(make(), paths)  # warm the page cache: both timings then read from memory
        floor = min(read_floor(make(), paths) for _ in range(3))
        phase, n = min((catalog_phase(root, make()) for _ in range(2)), key=lambda r: r[0])
        print(
            f"[{name}] read floor {floor:.2f} s = {n / floor:,.0f} catalogs/s; catalog phase (read+hash+parse+"
            f"verify+judge) {phase:.2f} s = {n / phase:,.0f} catalogs/s on one core; ratio {phase / floor:.2f}x"
        )
    small, large = peak_memory(root, args.count // 4), peak_memory(root, args.count)
    print(
        f"peak traced memory: {small / 1e6:.1f} MB at {args.count // 4} catalogs, {large / 1e6:.1f} MB at {args.count}"
        f"  ({(large - small) / (args.count * 3 / 4):,.0f} bytes per additional catalog: the inventory record)"
    )


if __name__ == "__main__":
    main()
