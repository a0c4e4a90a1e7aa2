"""The nightly CI case for bench/catalogs.py: a golden image rebuilt with 1% of its catalogs changed,
scanned again with the persistent verdict cache, against the read floor of the rebuilt image; and the
start-up of `imgscan --version` against a bare interpreter (the fixed cost of every CI scan).

CI runs `imgscan scan` as a new process each night, so both sides are whole processes timed from the
outside: the rescan is the command a CI job runs (report written to a file), the floor a process that
opens the image and reads every file through imgscan's volume object (`python3 bench/rescan.py floor
IMAGE LIST`). Each pays its interpreter start and imports; nothing one decoded earlier in this process
(as a fleet worker's previous capture) is there to reuse.

A changed catalog is the same catalog with bytes appended after its DER (parsers ignore them, as
Windows does): its SHA-256, hence its cache key, is new, so it is read, parsed, verified and judged like
any unseen catalog, which is the cost the rescan must carry.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AS_OF = "2013-07-01"


def changed_tree(root: Path, fraction: float) -> Path:
    """A copy of `root` (hard links) whose every 1/fraction-th catalog has new bytes."""
    tree = root.parent / f"{root.name}-changed"
    if (tree / ".complete").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    step = max(1, round(1 / fraction))
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.startswith(".complete"):
            continue
        target = tree / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.name == "Packages" and int(path.name.split("_")[1]) % step == 0:  # Package_00042_for_KB...
            target.write_bytes(path.read_bytes() + b"\x00" * 16 + b"rebuilt")
        else:
            os.link(path, target)
    (tree / ".complete").touch()
    return tree


def _wall(command: list[str]) -> float:
    """Seconds a whole process takes, start to exit; it must exit 0, or 1 (the gate saw findings)."""
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"{command[2:5]} exited {run.returncode}: {run.stderr.strip()[-500:]}")
    return time.perf_counter() - start


def rescan(original: Path, changed: Path, files: list[str], runs: int = 2) -> tuple[float, float, float, int]:
    """(seconds of `imgscan scan` of `changed` with a cache warmed by a scan of `original`, seconds of that
    cold scan of `original`, the read floor of `changed` in a process of its own, entries in the cache);
    the rescan and the floor are the best of `runs`, each rescan from the warmed cache as it was."""
    work = Path(tempfile.mkdtemp(prefix="imgscan-bench-rescan-"))
    try:
        warmed, cache = work / "warmed", work / "cache"

        def scan(image: Path, directory: Path) -> float:
            report = ["-q", "--as-of", AS_OF, "--cache-dir", str(directory), "-o", str(work / "report.json")]
            return _wall([sys.executable, "-m", "imgscan", "scan", str(image), *report])

        cold = scan(original, warmed)
        warm = []
        for _ in range(runs):
            shutil.rmtree(cache, ignore_errors=True)
            shutil.copytree(warmed, cache)
            warm.append(scan(changed, cache))
        listing = work / "files.txt"
        listing.write_text("\n".join(files))
        floor = min(_wall([sys.executable, __file__, "floor", str(changed), str(listing)]) for _ in range(runs))
        with sqlite3.connect(warmed / "verdicts.sqlite") as db:
            (entries,) = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return min(warm), cold, floor, entries
    finally:
        shutil.rmtree(work, ignore_errors=True)


def read_floor(image: Path, listing: Path) -> None:
    """Open `image` and read every file `listing` names, through imgscan's volume object."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from imgscan.image.disk import open_disk

    volume = open_disk(image, image.suffix.lstrip("."))[0]
    for path in listing.read_text().splitlines():
        with volume.open(path) as fh:
            fh.read()


def startup_ratio(runs: int = 5) -> tuple[float, float]:
    """(CPU seconds of `imgscan --version`, of `python -c pass`), best of `runs`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from startup import cpu_seconds

    bare = min(cpu_seconds([sys.executable, "-c", "pass"]) for _ in range(runs))
    imgscan = min(cpu_seconds([sys.executable, "-m", "imgscan", "--version"]) for _ in range(runs))
    return imgscan, bare


if __name__ == "__main__" and sys.argv[1:2] == ["floor"]:
    read_floor(Path(sys.argv[2]), Path(sys.argv[3]))
