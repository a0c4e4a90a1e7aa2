"""WIM vs VHDX: the same tree scanned from an LZX install.wim and from an NTFS VHDX.

    python3 bench/wim_vs_vhdx.py [--catalogs 3000] [--filler-mb 200] [--work DIR]

The tree is the ref-w7-2012q3 scenario plus CATALOGS extra signed catalogs in
winsxs\\Catalogs and FILLER-MB of incompressible files the checks never read
(a real install.wim is mostly such files). Both images are built once (cached
in DIR); each is then scanned end to end with `imgscan.scan.scan` three times
and the best time is kept. The figure is the ratio WIM time / VHDX time,
measured in the same run; the issue's bound is 2x.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgscan.context import ScanContext  # noqa: E402
from imgscan.loader import load_checks  # noqa: E402
from imgscan.scan import scan  # noqa: E402
from sample_images.build import _run, convert, ntfs_volume  # noqa: E402
from sample_images.catalog_writer import write_catalog  # noqa: E402
from sample_images.pki import make_pki, utc  # noqa: E402
from sample_images.scenario import load, write_tree  # noqa: E402


def build(work: Path, catalogs: int, filler_mb: int) -> tuple[Path, Path]:
    wim, vhdx = work / "tree.wim", work / "tree.vhdx"
    if wim.exists() and vhdx.exists():
        return wim, vhdx
    tree = write_tree(load("ref-w7-2012q3"), work / "tree")
    pki = make_pki()
    signer = pki.signer("Microsoft Windows", "2011-06-30T10:00:00", "2013-06-30T10:00:00")
    sxs = tree / "Windows" / "winsxs" / "Catalogs"
    sxs.mkdir(parents=True, exist_ok=True)
    for n in range(catalogs):
        data = write_catalog(
            [os.urandom(32)],
            utc("2012-07-15T08:00:00"),
            signer,
            [pki.code_pca, pki.stamp_pca],
            (pki.tsa_good, utc("2012-07-15T08:05:00")),
        )
        (sxs / f"{n:064x}.cat").write_bytes(data)
    rng = random.Random(7)
    filler = tree / "Windows" / "System32" / "DriverStore"
    filler.mkdir(parents=True)
    for n in range(filler_mb * 4):
        (filler / f"payload{n:05}.bin").write_bytes(rng.randbytes(256 * 1024))
    _run("wimlib-imagex", "capture", tree, wim, "bench", "--compress=LZX")
    size = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())
    volume = work / "tree.ntfs"
    ntfs_volume(tree, volume, size * 5 // 4 + (64 << 20), "Windows", 0, work)
    convert(volume, "vhdx", vhdx)
    volume.unlink()
    shutil.rmtree(tree)
    return wim, vhdx


def timed(image: Path) -> float:
    checks = load_checks()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        scan(image, ScanContext(date(2013, 7, 1)), checks)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalogs", type=int, default=3000)
    parser.add_argument("--filler-mb", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "imgscan-bench-wim")
    args = parser.parse_args()
    work = args.work / f"c{args.catalogs}-f{args.filler_mb}"
    work.mkdir(parents=True, exist_ok=True)
    wim, vhdx = build(work, args.catalogs, args.filler_mb)
    wim_time, vhdx_time = timed(wim), timed(vhdx)
    print(
        f"tree: ref-w7-2012q3 + {args.catalogs} catalogs + {args.filler_mb} MB never read; "
        f"WIM {wim.stat().st_size / 1e6:.0f} MB (LZX), VHDX {vhdx.stat().st_size / 1e6:.0f} MB"
    )
    print(
        f"scan (hash + open + checks), best of 3: WIM {wim_time:.2f} s, VHDX {vhdx_time:.2f} s, "
        f"ratio WIM/VHDX {wim_time / vhdx_time:.2f}x"
    )


if __name__ == "__main__":
    main()
