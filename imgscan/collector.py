"""Python's cyclic garbage collector during a scan: young passes only.

A scan builds a large heap that lives until its report is written (a record per catalog, file and package,
hive values, log entries). CPython runs a full collection each time the long-lived heap grows by a quarter,
and every full pass walks all of it: on a 20,000-catalog image four such passes were a fifth of the scan's
CPU (bench/catalogs.py), while nearly all of the heap is freed by reference counting when the scan ends.
During a scan only the young generations are collected (where cycles that become garbage mostly are);
the threshold of the oldest is put back when the last scan in the process ends, so a process that runs
imgscan among other work (a Dask worker) keeps its own settings.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_NEVER = 2**31 - 1  # full collections after this many young ones: never, within a scan
_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def young_collections_only() -> Iterator[None]:
    """No automatic full collection while any scan of this process runs (nested and concurrent scans
    count as one)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(_saved[0], _saved[1], _NEVER)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
