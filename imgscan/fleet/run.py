"""Scan a fleet on a local process pool or an existing Dask cluster, committing each image as it finishes.

`scan_one` is the unit of work on both engines: it never raises, so one bad
image is an error row and never the end of the fleet. A local worker that dies
(killed, out of memory) breaks the pool: the images that were in flight are
rerun one at a time, each in a pool of its own, so only the image that kills
its worker becomes an error row.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from tqdm import tqdm

from imgscan import __version__, interrupt
from imgscan.errors import ImgscanError
from imgscan.fleet.inputs import Target
from imgscan.fleet.store import Store
from imgscan.hashing import file_sha256, tree_sha256


@dataclass(frozen=True)
class FleetOptions:
    """The scan options every image of the fleet shares; their fingerprint is part of the resume key."""

    as_of: str
    horizon_days: int
    plugins: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def scan_one(target: Target, options: FleetOptions, cache_db: str | None = None) -> dict:
    """Scan one image; returns {"path", "host", "labels", "report" | "error", "verdict_cache"} and never
    raises. `cache_db`: the fleet database whose verdict cache this scan shares with the others."""
    from imgscan.loader import load_checks
    from imgscan.scan import Options, scan
    from imgscan.signing.verdict_cache import VerdictCache

    result: dict = {"path": target.path, "host": target.host, "labels": target.labels, "settings": target.settings()}
    cache = VerdictCache(Path(cache_db)) if cache_db else None
    try:
        checks = load_checks([Path(p) for p in options.plugins])
        report = scan(
            Path(target.path),
            date.fromisoformat(options.as_of),
            checks,
            Options(
                horizon_days=options.horizon_days,
                verdict_cache=cache,
                target_firmware=target.target_firmware,
                target_dbx=target.target_dbx,
            ),
        ).report
        result["report"] = report
    except ImgscanError as exc:
        result["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - one bad image must not end the fleet
        result["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if cache:
        result["verdict_cache"] = {"reused": cache.hits, "judged": cache.misses}
        cache.close()
    return result


def _sha256(path: Path) -> str:
    return tree_sha256(path) if path.is_dir() else file_sha256(path)


def pending(targets: list[Target], store: Store, options: FleetOptions, resume: bool) -> list[Target]:
    """The targets still to scan: with --resume, skip those whose row has the same image hash and the
    same host settings (target firmware, dbx)."""
    if not resume:
        return targets
    done = store.done(__version__, options.fingerprint())
    todo = []
    for target in targets:
        stored_sha, stored_settings = done.get(target.path, (None, None))
        if (
            stored_sha is None
            or stored_settings != target.settings()
            or not Path(target.path).exists()
            or _sha256(Path(target.path)) != stored_sha
        ):
            todo.append(target)
    return todo


def _bar(total: int) -> tqdm:
    return tqdm(total=total, desc="images", unit="img", file=sys.stderr, disable=not sys.stderr.isatty())


def _worker_init() -> None:
    """Ctrl-C is the parent's: it stops the fleet and tells each worker with SIGTERM. A worker that gets it
    mid-scan unwinds that scan (removing a WIM's temporary directory) and one that is idle exits quietly."""
    interrupt.install(idle_exit=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of scanning workers; when the fleet is interrupted, its workers stop their scans and are
    gone (their temporary files with them) before the interruption goes on."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
    try:
        yield pool
    except KeyboardInterrupt:
        # ProcessPoolExecutor has no public way to stop running calls before Python 3.14's terminate_workers()
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _isolated(target: Target, options: FleetOptions, cache_db: str) -> dict:
    """Scan one suspect in a pool of its own, so a crash is attributed to the image that causes it."""
    try:
        with _pool(1) as pool:
            return pool.submit(scan_one, target, options, cache_db).result()
    except BrokenProcessPool:
        return {
            "path": target.path,
            "host": target.host,
            "labels": target.labels,
            "error": "the worker process died while scanning this image",
        }


def run_local(targets: list[Target], options: FleetOptions, jobs: int, store: Store) -> None:
    """At most `jobs` images in flight, sharing the store's verdict cache; after a worker dies, those in
    flight are rerun one by one."""
    cache_db = str(store.path)
    queue = list(reversed(targets))
    failed = 0
    with _bar(len(targets)) as bar:

        def commit(result: dict) -> None:
            nonlocal failed
            store.record(result, __version__, options.fingerprint())
            failed += "error" in result
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)

        while queue:
            in_flight: dict[Future, Target] = {}
            try:
                with _pool(jobs) as pool:
                    while queue or in_flight:
                        while queue and len(in_flight) < jobs:
                            target = queue.pop()
                            in_flight[pool.submit(scan_one, target, options, cache_db)] = target
                        finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                        for future in finished:
                            result = future.result()  # raises BrokenProcessPool when a worker died
                            del in_flight[future]
                            commit(result)
            except BrokenProcessPool:
                for target in in_flight.values():
                    commit(_isolated(target, options, cache_db))


def run_dask(targets: list[Target], options: FleetOptions, scheduler: str, store: Store) -> None:
    """The same scans on an existing Dask cluster; workers must see the image paths. The verdict cache is
    a local file, so Dask workers (on other machines) judge every catalog themselves."""
    from dask.distributed import Client, as_completed

    with Client(scheduler, timeout="30s") as client, _bar(len(targets)) as bar:
        futures = client.map(scan_one, targets, options=options, pure=False)
        failed = 0
        for future in as_completed(futures):
            result = future.result()
            store.record(result, __version__, options.fingerprint())
            failed += "error" in result
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)
            future.release()
