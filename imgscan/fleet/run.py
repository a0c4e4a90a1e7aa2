"""Scan a fleet on a local process pool or an existing Dask cluster, committing the hosts of each image as they finish.

The unit of work is an image with the hosts built from it (work.scan_image: read once, each host judged);
it never raises, so one bad image is an error row per host and never the end of the fleet. A local worker
that dies (killed, out of memory) breaks the pool: the images that were in flight are rerun one at a time,
each in a pool of its own, so only the image that kills its worker becomes error rows.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgscan import interrupt
from imgscan.fleet.host import FleetHost
from imgscan.fleet.store import Store
from imgscan.fleet.work import FleetOptions, error_results, scan_image
from imgscan.hashing import file_sha256, tree_sha256

Commit = Callable[[list[dict[str, Any]]], None]


def by_image(hosts: list[FleetHost]) -> list[list[FleetHost]]:
    """The hosts grouped by the image they share, in the order their images first appear."""
    groups: dict[tuple[str, int | None, str | None], list[FleetHost]] = {}
    for host in hosts:
        groups.setdefault(host.image, []).append(host)
    return list(groups.values())


@dataclass
class ResumePlan:
    """What a run still has to do: the hosts to judge, how each got there, and the hosts it keeps."""

    todo: list[FleetHost] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # host key: new | rescanned | retried
    reused: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        values = list(self.origin.values())
        counted = {origin: values.count(origin) for origin in ("rescanned", "retried", "new")}
        return {"reused": len(self.reused)} | counted


def plan(hosts: list[FleetHost], store: Store, run_id: int, resume: bool) -> ResumePlan:
    """Every host is new in a new run; a resumed run keeps the hosts it holds with the same image (SHA-256,
    computed once per image) and settings, judges again those whose image or settings changed, and tries
    again those it could not read (their SHA-256 is recorded as evidence, but a tool installed since may
    read them): a capture copied in full since, or one still bad."""
    done = store.done(run_id) if resume else {}
    out = ResumePlan()
    for group in by_image(hosts):
        digest: str | None = None
        for host in group:
            if host.key not in done:
                out.origin[host.key] = "new"
                out.todo.append(host)
                continue
            stored_sha, stored_settings, read = done[host.key]
            if not read:
                out.origin[host.key] = "retried"
                out.todo.append(host)
                continue
            if digest is None and stored_settings == host.settings():
                digest = _sha256(Path(host.path)) if Path(host.path).exists() else ""
            if stored_sha and stored_settings == host.settings() and stored_sha == digest:
                out.reused.append(host.key)
            else:
                out.origin[host.key] = "rescanned"
                out.todo.append(host)
    return out


def _sha256(path: Path) -> str:
    return tree_sha256(path) if path.is_dir() else file_sha256(path)


def _worker_init() -> None:
    """Ctrl-C is the parent's: it stops the fleet and tells each worker with SIGTERM. A worker that gets it
    mid-scan unwinds that scan (removing a WIM's temporary directory) and one that is idle exits quietly; one
    sending its results finishes the message first (`whole_results`)."""
    interrupt.install(idle_exit=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    whole_results()


def whole_results() -> None:
    """Make the pool worker send each result whole despite SIGTERM (interrupt.whole_or_exit). The worker loop
    of concurrent.futures calls its module's `_sendback_result` for every result; that private function is
    wrapped here, in the worker only (Python 3.9 to 3.14 have it; without it the worker runs as before). A
    worker ended halfway through a large result left the parent's pool reading the rest for ever: the fleet
    hung on Ctrl-C about once in twenty runs."""
    from concurrent.futures import process

    send = getattr(process, "_sendback_result", None)
    if send is None or getattr(send, "whole", False):
        return

    def sendback(*args: Any, **kwargs: Any) -> None:
        with interrupt.whole_or_exit():
            send(*args, **kwargs)

    sendback.whole = True  # type: ignore[attr-defined]
    process._sendback_result = sendback


def _scan_in_worker(hosts: list[FleetHost], options: FleetOptions, cache_db: str) -> list[dict[str, Any]]:
    """`scan_image` in a pool worker. A worker that a signal has reached takes no further image and ends as
    soon as the scan the signal stopped has unwound (its temporary files are gone): the parent is unwinding
    and reads no more results, and a finished image's results (bigger than a pipe's buffer) would block the
    worker for ever, with the parent joining it. Going back to the pool's queue would be no better: the signal
    handler ignores every later signal, so when the pool, broken by a worker that ended, terminates the
    others and joins them, a worker waiting there never ends (the fleet hung on Ctrl-C about once in twenty)."""
    if (stopped := interrupt.received()) is not None:
        os._exit(stopped.exit_code)
    try:
        return scan_image(hosts, options, cache_db)
    finally:
        if (stopped := interrupt.received()) is not None:
            os._exit(stopped.exit_code)


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


def _isolated(hosts: list[FleetHost], options: FleetOptions, cache_db: str) -> list[dict[str, Any]]:
    """Scan one suspect image in a pool of its own, so a crash is attributed to the image that causes it."""
    try:
        with _pool(1) as pool:
            return pool.submit(_scan_in_worker, hosts, options, cache_db).result()
    except BrokenProcessPool:
        return error_results(hosts, "the worker process died while scanning this image")


def run_local(groups: list[list[FleetHost]], options: FleetOptions, jobs: int, cache_db: str, commit: Commit) -> None:
    """`jobs` images in flight and one more waiting for the first worker that is free, so that no worker
    idles while the parent commits the image it finished (an image's hosts are committed together); they
    share the store's verdict cache. After a worker dies, those in flight are rerun one by one."""
    queue = list(reversed(groups))
    while queue:
        in_flight: dict[Future[list[dict[str, Any]]], list[FleetHost]] = {}
        try:
            with _pool(jobs) as pool:
                while queue or in_flight:
                    while queue and len(in_flight) < jobs + 1:
                        group = queue.pop()
                        in_flight[pool.submit(_scan_in_worker, group, options, cache_db)] = group
                    finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        results = future.result()  # raises BrokenProcessPool when a worker died
                        del in_flight[future]
                        commit(results)
        except BrokenProcessPool:
            for group in in_flight.values():
                commit(_isolated(group, options, cache_db))


def run_dask(groups: list[list[FleetHost]], options: FleetOptions, scheduler: str, store: Store, commit: Commit) -> None:
    """The same scans on an existing Dask cluster, whose workers must see the image paths and the store (a
    PostgreSQL URL, or a SQLite file on a shared path). The catalogs are judged first, each distinct one
    once across the cluster (cluster.judge_once); the scans then take every verdict from the store."""
    from dask.distributed import Client, as_completed

    from imgscan.fleet.cluster import judge_once, scan

    with Client(scheduler, timeout="30s") as client:  # type: ignore[no-untyped-call, unused-ignore]  # distributed is untyped
        judged = judge_once(client, groups, store)
        futures = client.map(scan, groups, options=options, cache_db=store.location, pure=False)
        for future in as_completed(futures):  # type: ignore[no-untyped-call, unused-ignore]
            results = future.result().rows
            first = next((r for r in results if r.get("verdict_cache")), None)
            if first and (here := judged.get((first["path"], first["index"], first["image_name"]), 0)):
                # what the cluster judged for this image before its scan counts as judged by the host whose
                # judgement read the catalogs first, not as reused
                counts = first["verdict_cache"]
                first["verdict_cache"] = {"reused": counts["reused"] - here, "judged": counts["judged"] + here}
            commit(results)
            future.release()
