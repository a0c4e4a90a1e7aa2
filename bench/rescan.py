"""The nightly CI case for bench/catalogs.py: a golden image rebuilt with 1% of its catalogs changed,
scanned again with the persistent verdict cache, against the read floor of the rebuilt image; and the
start-up of `imgscan --version` against a bare interpreter (the fixed cost of every CI scan).

A changed catalog is the same catalog with bytes appended after its DER (parsers ignore them, as
Windows does): its SHA-256, hence its cache key, is new, so it is read, parsed, verified and judged like
any unseen catalog, which is the cost the rescan must carry.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path


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


def rescan(original: Path, changed: Path, timed: Callable[[Callable[[], object]], float]) -> tuple[float, float, int]:
    """(seconds of the scan of `changed` with a cache warmed by a scan of `original`, seconds of the cold
    scan of `original` that warmed it, entries in the cache)."""
    from imgscan.cli.cache import scan_cache
    from imgscan.collector import young_collections_only
    from imgscan.context import ScanContext
    from imgscan.kinds import LoadSettings
    from imgscan.loader import load_checks
    from imgscan.scan import Options, scan

    directory = Path(tempfile.mkdtemp(prefix="imgscan-bench-cache-"))
    try:

        def one(image: Path) -> None:  # as `imgscan scan` runs it (imgscan/cli/scan.py)
            with young_collections_only(), scan_cache(directory, image, quiet=True) as cache:
                settings = LoadSettings(jobs=None, verdict_cache=cache)
                scan(image, ScanContext(date(2013, 7, 1)), load_checks(None), Options(load=settings))

        cold = timed(lambda: one(original))
        warm = timed(lambda: one(changed))
        with sqlite3.connect(directory / "verdicts.sqlite") as db:
            (entries,) = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return warm, cold, entries
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def startup_ratio(runs: int = 5) -> tuple[float, float]:
    """(CPU seconds of `imgscan --version`, of `python -c pass`), best of `runs`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from startup import cpu_seconds

    bare = min(cpu_seconds([sys.executable, "-c", "pass"]) for _ in range(runs))
    imgscan = min(cpu_seconds([sys.executable, "-m", "imgscan", "--version"]) for _ in range(runs))
    return imgscan, bare
