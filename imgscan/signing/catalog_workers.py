"""Parsing and judging catalogs on every core, with results identical to one process.

A real image holds tens of thousands of catalogs, and parsing and verifying them is CPU work that
one Python process does on one core. The scan reads the files itself (the image stack is not shared
between processes) and hands their bytes, in batches, to worker processes that each hold a copy of
the image's `Judge` (trust stores and installed mitigations). Each catalog is judged by the same
code whatever the number of workers, and the scan assembles the records in its own order, so a
report is byte-identical with any `--jobs`.

Workers come from a `forkserver`: a fresh interpreter that has imported the parsing stack once and
forks each worker from itself, so it is safe whatever threads the scan runs (dissect, tqdm) and a
worker starts in milliseconds instead of re-importing everything as `spawn` would (half a second per
worker, one after the other). The server itself costs about half a second, so the automatic choice
uses workers only once many catalogs need judging (a verdict cache's hits do not count); an explicit
`--jobs N` does as soon as one does. Workers start once per scan, on a thread of their own while the
scan judges catalogs itself (a tenth of the phase on two cores went to waiting for them), and then get
catalogs in batches.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from multiprocessing import forkserver, resource_tracker
from threading import BrokenBarrierError
from typing import TYPE_CHECKING

from imgscan.interrupt import deferred

if TYPE_CHECKING:
    from multiprocessing.synchronize import Barrier

    from imgscan.signing.catalog import Catalog
    from imgscan.signing.validity import Judge, Verdict

# one parsed catalog: (catalog, primary verdict, why it is unreadable, every verdict when dual-signed)
Known = tuple["Catalog | None", "Verdict | None", "str | None", "tuple[Verdict, ...] | None"]
Task = tuple[str, bytes, bool, str]  # (path, bytes, whether to keep the member hashes, their SHA-256)

# Catalogs per message to a worker. Each message costs the scan's process about a millisecond (the pool's
# threads wake, pickle and send; the result comes back the same way), taken from the core that reads the
# image: 32 per message left --jobs 2 at 1.5x --jobs 1 on a 20,000-catalog image, 256 give 1.7x
# (bench/catalogs.py). A scan's batches are as large as leaves each worker SHARES of them, so that the
# last ones even out, within these bounds, and a batch is sent early once its catalogs hold BATCH_BYTES.
BATCH_MIN, BATCH_MAX = 32, 256
SHARES = 8
BATCH_BYTES = 8 << 20
AUTO_MINIMUM = 400  # with fewer catalogs the automatic choice stays in this process
STARTED_WAIT = 30.0  # seconds an interrupted scan waits for its workers to finish starting, at most

log = logging.getLogger(__name__)


def judge_one(judge: Judge, path: str, data: bytes, members: bool, sha256: str | None = None) -> Known:
    from imgscan.signing.catalog import CatalogError, parse_catalog

    try:
        parsed = parse_catalog(path, data, judge.cache, members=members, sha256=sha256)
    except CatalogError as exc:
        return (None, None, str(exc), None)
    verdicts = judge.judge_all(parsed)
    return (parsed, verdicts[0], None, tuple(verdicts) if parsed.nested else None)


def batch_size(catalogs: int, workers: int) -> int:
    """Catalogs per message when `catalogs` in all are judged on `workers` processes."""
    return max(BATCH_MIN, min(BATCH_MAX, catalogs // max(1, workers * SHARES)))


def workers_for(jobs: int | None, catalogs: int) -> int:
    """How many processes judge catalogs: `jobs` when given, else every core for a large image."""
    if jobs is not None:
        return max(1, jobs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if catalogs >= AUTO_MINIMUM else 1


_WORKER_JUDGE: Judge | None = None


def _start_worker(judge: Judge, everyone: Barrier) -> None:
    """Ctrl-C reaches every process of the terminal's group: the scan handles it (it stops sending work
    and shuts the pool down), so a worker ignores it instead of dying with a traceback on stderr.

    Each worker then waits for all the others to have come this far, which is after each has read its
    start-up message: so no worker runs a task while another is still starting, and the first no-op done
    (`Judging.started`) means every worker is up. Without it one worker could run every no-op while another
    was still reading its start-up message; a scan interrupted then shut the pool down, unlinking the
    semaphores that message names. (A FileNotFoundError traceback from a starting worker after a Ctrl-C, seen
    in CI runs under load, still happens now and then: this closes one way to it, not every one.)"""
    global _WORKER_JUDGE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_JUDGE = judge
    with suppress(BrokenBarrierError):  # a worker that never came: the pool breaks, and the scan says so
        everyone.wait(STARTED_WAIT)


def _judge_batch(tasks: list[Task]) -> list[Known]:
    assert _WORKER_JUDGE is not None, "worker started without a judge"
    return [judge_one(_WORKER_JUDGE, *task) for task in tasks]


class Judging:
    """Catalogs in, one result per catalog out, in the order they were added: judged in this process
    while there is no pool, else in batches on the pool with at most a few batches per worker in flight
    (bounded memory). A result already known (a verdict cache's) takes its place in the order.

    The pool starts lazily, once enough catalogs wait to be judged that `workers_for` gives them more
    than one process: a warm rescan whose cache misses only a handful of catalogs never pays the fork
    server's start-up. Until then the automatic choice holds the catalogs back (at most AUTO_MINIMUM);
    if they stay fewer, `finish` judges them here. While the workers start (the fork server imports the
    parsing stack, each worker unpickles the judge: a third of a second), this process judges what comes
    instead of waiting for them (`judged_here` counts them)."""

    def __init__(self, judge: Judge, jobs: int | None, expected: int = 0) -> None:
        self._judge = judge
        self._jobs = jobs
        self._expected = expected  # how many catalogs the scan has in all, at most
        self._pool: ProcessPoolExecutor | None = None
        self._window = 0
        self._size = BATCH_MIN
        self._bytes = 0  # of the catalogs in the batch not yet sent
        self._waiting = workers_for(jobs, sys.maxsize) > 1  # whether a pool may still start
        self._batch: list[tuple[int, Task]] = []
        self._flying: deque[tuple[list[int], Future[list[Known]]]] = deque()
        self._results: list[Known | None] = []
        self._starting: list[Future[int]] = []  # one no-op per worker, done once every worker is up
        self._starter: threading.Thread | None = None
        self.judged_here = 0  # catalogs judged in this process while a pool was meant to judge them

    def add(self, path: str, data: bytes, members: bool, sha256: str) -> int:
        """Queue one catalog (`sha256`: of `data`); returns the index of its result in `finish()`'s list."""
        index = len(self._results)
        if self._pool is None and not self._waiting:
            self._results.append(judge_one(self._judge, path, data, members, sha256))
            return index
        self._results.append(None)
        self._batch.append((index, (path, data, members, sha256)))
        self._bytes += len(data)
        if self._pool is None and (workers := workers_for(self._jobs, len(self._batch))) > 1:
            self._waiting = False
            self._pool = _open_pool(self._judge, workers)
            self._window = 3 * workers
            self._size = batch_size(self._expected, workers)
            if self._pool is not None:
                self._start_workers(workers)
        if self._pool is None:
            if not self._waiting:  # no pool after all: what was held back is judged here
                self._judge_here()
        elif not self.started():  # the workers are not up yet: judged here meanwhile
            self._judge_here()
        elif len(self._batch) >= self._size or self._bytes >= BATCH_BYTES:
            self._send()
        return index

    def _start_workers(self, workers: int) -> None:
        """Spawn the pool's workers on a thread: the first spawn waits for the fork server to import the
        parsing stack, which this process spends judging instead."""
        pool = self._pool
        assert pool is not None

        def spawn() -> None:
            # Ctrl-C and SIGTERM are the scan's: the kernel must not hand them to this thread while the main
            # thread blocks them (imgscan.hashing does the same)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:  # a submit spawns a worker while none is idle: one no-op each spawns them all
                self._starting = [pool.submit(os.getpid) for _ in range(workers)]
            except (RuntimeError, BrokenProcessPool):  # shut down meanwhile (the scan ended), or broken:
                self._starting = []  # the next submit in the scan's thread says so, as without this thread

        self._starter = threading.Thread(target=spawn, name="catalog workers", daemon=True)
        self._starter.start()

    def started(self) -> bool:
        """Whether the pool's workers are up (or failed to come up: then a submit raises, as it would have)."""
        if self._starter is None:
            return True
        if self._starter.is_alive() or not all(f.done() for f in self._starting):
            return False
        self._starter = None
        return True

    def wait_started(self, timeout: float | None = None) -> None:
        """Block until `started()`, or for at most about `timeout` seconds."""
        if self._starter is not None:
            self._starter.join(timeout)
            wait(self._starting, timeout)

    def add_known(self, known: Known) -> int:
        self._results.append(known)
        return len(self._results) - 1

    def _judge_here(self) -> None:
        for index, task in self._batch:
            self._results[index] = judge_one(self._judge, *task)
        self.judged_here += len(self._batch) if self._pool is not None else 0
        self._batch, self._bytes = [], 0

    def _send(self) -> None:
        assert self._pool is not None
        self._bytes = 0
        while self._batch:
            tasks, self._batch = self._batch[: self._size], self._batch[self._size :]
            with deferred():  # submit may start a worker: a Ctrl-C halfway would leave it a truncated start-up message
                future = self._pool.submit(_judge_batch, [task for _, task in tasks])
            self._flying.append(([index for index, _ in tasks], future))
            while len(self._flying) > self._window:
                self._land()

    def _land(self) -> None:
        indices, future = self._flying.popleft()
        for index, known in zip(indices, future.result(), strict=True):
            self._results[index] = known

    def finish(self) -> list[Known]:
        if self._pool is None or not self.started():
            self._judge_here()
        else:
            self._send()
            while self._flying:
                self._land()
        assert all(r is not None for r in self._results)
        return self._results  # type: ignore[return-value]  # every slot is filled above

    def close(self) -> None:
        """Every result is in by now (or the scan was interrupted): the pool is shut down and joined. Left to
        end on its own, its manager thread could close its wake-up pipe while Python's exit wrote to it (an
        `OSError: Bad file descriptor` traceback after an interrupted scan, once in a CI run); idle workers
        leave in milliseconds, and an interrupted one after the batch it holds."""
        if self._pool is not None:
            with deferred():  # a signal now is raised once the pool is shut down
                if self._starter is not None:
                    # workers still starting (few catalogs, or an interrupted scan): one shut down before it has
                    # read its start-up message would find the pool's semaphores gone and print a traceback
                    self.wait_started(STARTED_WAIT)
                self._pool.shutdown(wait=True, cancel_futures=True)


def _start_server() -> None:
    """Start the fork server with SIGINT blocked, which it inherits: a Ctrl-C while it imports its modules,
    before it ignores SIGINT itself, would print a traceback. Blocked, not ignored, so that this process
    still gets a Ctrl-C that comes meanwhile. multiprocessing's resource tracker starts first: it blocks
    signals for its own start and then unblocks them, which would undo this block. The block is this
    thread's only, and a signal the kernel hands another thread still runs imgscan's handler here: deferred
    keeps it from raising inside the server's start (tempfile's probe of TMPDIR, the socket's folder)."""
    resource_tracker.ensure_running()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with deferred():
            forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _open_pool(judge: Judge, workers: int) -> ProcessPoolExecutor | None:
    """A pool of `workers` processes forked from the fork server, each holding `judge`; None when the
    server cannot start (the same report then comes from this process, on one core)."""
    context = multiprocessing.get_context("forkserver")
    # the server imports these once and every worker inherits them: the scan's main module (else each
    # worker imports it again, the whole CLI), the parsing stack, and the bundled roots read (else each
    # worker reads the bundle again to unpickle its Judge); together 0.4 s of CPU per worker before
    context.set_forkserver_preload(
        [
            "__main__",
            "imgscan.signing.catalog_workers",
            "imgscan.signing.catalog",
            "imgscan.signing.validity",
            "imgscan.signing.worker_roots",
        ]
    )
    try:
        _start_server()
    except OSError as exc:  # e.g. a TMPDIR too long for the server's socket (an AF_UNIX path holds 107 bytes)
        log.info("catalog workers cannot start (%s): judging the catalogs in this process", exc)
        return None
    everyone = context.Barrier(workers)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(judge, everyone))


@contextmanager
def judging(judge: Judge, jobs: int | None, expected: int = 0) -> Iterator[Judging]:
    """Judging for one scan of at most `expected` catalogs, on `jobs` processes (None: the automatic choice),
    its pool shut down after."""
    work = Judging(judge, jobs, expected)
    try:
        yield work
    finally:
        work.close()
