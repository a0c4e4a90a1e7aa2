"""Issue 14: `--jobs N` judges catalogs on N processes, and the report is byte-identical to `--jobs 1`."""

from __future__ import annotations

import hashlib

import pytest

from imgscan.signing.catalog_workers import AUTO_MINIMUM, BATCH_BYTES, BATCH_MAX, BATCH_MIN, batch_size, judging, workers_for
from tests.conftest import REPO, run_imgscan
from tests.realdata import needs_realdata

SAMPLES = sorted((REPO / "sample_images" / "built").glob("*.vhdx"))


def test_every_bundled_sample_is_covered():
    assert {p.stem for p in SAMPLES} >= {"ws-acc-0417", "ref-w7-2012q3", "healthy"}


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("as_of", ["2013-07-01", "2026-12-01"])
def test_report_is_the_same_with_two_processes(image, as_of, tmp_path):
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.json"
        run = run_imgscan("scan", image, "--as-of", as_of, "--jobs", jobs, "-f", "json", "-o", out)
        assert run.code in (0, 1), run.stderr
        reports.append(out.read_bytes())
    assert reports[0] == reports[1]
    if image.stem != "ws-acc-0417":  # the one sample without servicing packages
        assert b'"cause": "' in reports[0]  # catalogs were judged, by the workers in the second run


def test_automatic_choice_uses_processes_only_for_many_catalogs():
    assert workers_for(None, AUTO_MINIMUM - 1) == 1
    assert workers_for(None, AUTO_MINIMUM) >= 1
    assert workers_for(3, 1) == 3  # an explicit number is obeyed, even for one catalog


def test_batches_grow_with_the_image_but_leave_every_worker_several():
    """Each message costs the reading process about a millisecond: a 20,000-catalog image goes in batches of
    BATCH_MAX, a small one in batches that still leave each of two workers eight, never below BATCH_MIN."""
    assert batch_size(20_000, 2) == BATCH_MAX
    assert batch_size(1_000, 2) == 62
    assert batch_size(AUTO_MINIMUM, 2) == BATCH_MIN


def test_a_batch_is_sent_once_its_catalogs_hold_enough_bytes():
    """However many catalogs a batch may hold, large ones go to a worker as soon as they add up to
    BATCH_BYTES: the bytes waiting in the scan's process stay bounded."""
    from imgscan.signing.certs import CertCache
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge

    certs = CertCache()
    large = b"\x30\x84" + b"\x00" * (BATCH_BYTES // 4)  # not a catalog: each is judged unreadable
    digest = hashlib.sha256(large).hexdigest()
    with judging(Judge(build_store(certs, None), certs, None), 2, expected=100_000) as work:
        work.add("Windows\\servicing\\Packages\\first.cat", large, True, digest)  # opens the pool
        work.wait_started()
        for n in range(6):
            work.add(f"Windows\\servicing\\Packages\\big{n}.cat", large, True, digest)
        assert len(work._flying) >= 1 and work._bytes < BATCH_BYTES  # sent before the batch's 256 catalogs
        results = work.finish()
    assert len(results) == 7 and all(r[0] is None and r[2] for r in results)


def test_catalogs_that_come_while_the_workers_start_are_judged_here_and_in_order(monkeypatch):
    """Issue 28: the first spawn waits for the fork server to import the parsing stack (a third of a second,
    a tenth of a 20,000-catalog phase on two cores): the scan judges what comes meanwhile itself instead of
    waiting. Counted, not timed: with the workers' start held back, catalogs are judged here; once they are
    up, catalogs go to them; the results keep the order they were added in."""
    import threading

    from imgscan.signing import catalog_workers
    from imgscan.signing.certs import CertCache
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge

    held = threading.Event()  # the spawns wait for it, as for a fork server still importing
    real_open = catalog_workers._open_pool

    def slow_to_start(judge, workers):
        pool = real_open(judge, workers)
        submit = pool.submit
        pool.submit = lambda *args, **kwargs: held.wait() and submit(*args, **kwargs)
        return pool

    monkeypatch.setattr(catalog_workers, "_open_pool", slow_to_start)
    certs = CertCache()
    judge = Judge(build_store(certs, None), certs, None)
    damaged = [b"\x30\x82\x01" + bytes([n]) * 8 for n in range(2 * BATCH_MIN)]  # each unreadable, each its own reason
    with judging(judge, 2, expected=len(damaged)) as work:
        for n in range(3):
            work.add(f"Windows\\servicing\\Packages\\{n}.cat", damaged[n], True, hashlib.sha256(damaged[n]).hexdigest())
        assert not work.started() and work.judged_here == 3 and not work._flying  # none waited for the workers
        held.set()
        work.wait_started()
        for n, data in enumerate(damaged[3:], 3):
            work.add(f"Windows\\servicing\\Packages\\{n}.cat", data, True, hashlib.sha256(data).hexdigest())
        assert work.judged_here == 3 and len(work._flying) >= 1  # the rest went to the workers
        pooled = work.finish()
    with judging(judge, 1, expected=len(damaged)) as alone:
        for n, data in enumerate(damaged):
            alone.add(f"Windows\\servicing\\Packages\\{n}.cat", data, True, hashlib.sha256(data).hexdigest())
        assert alone.judged_here == 0
        assert pooled == alone.finish()


@pytest.mark.parametrize("bad", ["0", "-2", "many"])
def test_a_bad_number_of_jobs_is_a_usage_error(bad):
    run = run_imgscan("scan", SAMPLES[0], "--jobs", bad)
    assert run.code == 2 and "--jobs" in run.stderr and "Traceback" not in run.stderr


@needs_realdata
def test_real_and_damaged_catalogs_judged_alike_in_workers(tmp_path):
    """Real catalogs (legacy and RFC 3161 timestamps, dual-signed, unsigned), a truncated one and a
    byte copy under winsxs: every record the same from a worker process as from this one."""
    from dissect.target.filesystems.dir import DirectoryFilesystem

    from imgscan.artefacts.catalog_set import read_catalogs
    from imgscan.image.volume import FilesystemVolume
    from imgscan.signing.certs import CertCache
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge

    real = sorted((REPO.parent / "shared" / "realdata" / "catalogs").glob("*.cat"))
    assert len(real) >= 10
    packages = tmp_path / "Windows" / "servicing" / "Packages"
    packages.mkdir(parents=True)
    (tmp_path / "Windows" / "winsxs" / "Catalogs").mkdir(parents=True)
    for path in real:
        (packages / path.name).write_bytes(path.read_bytes())
    (packages / "truncated.cat").write_bytes(real[0].read_bytes()[:700])
    (tmp_path / "Windows" / "winsxs" / "Catalogs" / "copy.cat").write_bytes(real[-1].read_bytes())

    def records(jobs: int) -> list[dict]:
        cache = CertCache()
        judge = Judge(build_store(cache, None), cache, None)
        found = read_catalogs(FilesystemVolume(DirectoryFilesystem(tmp_path)), judge, jobs)
        return [r.as_dict() | {"member_hashes": sorted(r.members) if r.members else None} for r in found.records]

    alone, pooled = records(1), records(2)
    assert len(alone) == len(real) + 2 and any("problem" in r for r in alone)
    assert {r.get("status") for r in alone} >= {"valid", "untrusted"}
    assert pooled == alone


@needs_realdata
def test_a_warm_rescan_with_the_automatic_choice_starts_no_workers(tmp_path, monkeypatch):
    """Issue 28: many catalogs, a verdict cache that misses only a few (a nightly rebuild): the automatic
    --jobs judges those few in this process, so no pool is started (counted, not timed), while the cold
    scan that warmed the cache did start one. Both give the records one process gives without a cache."""
    from dissect.target.filesystems.dir import DirectoryFilesystem

    from imgscan.artefacts.catalog_set import read_catalogs
    from imgscan.fleet.database import SQLite
    from imgscan.image.volume import FilesystemVolume
    from imgscan.signing import catalog_workers
    from imgscan.signing.certs import CertCache
    from imgscan.signing.scan_cache import RECENCY, ScanCache
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge
    from imgscan.signing.verdict_cache import SCHEMA

    real = [p.read_bytes() for p in sorted((REPO.parent / "shared" / "realdata" / "catalogs").glob("*.cat"))]
    real = [data for data in real if len(data) < 100_000]  # a large one would only slow the test down
    packages = tmp_path / "image" / "Windows" / "servicing" / "Packages"
    packages.mkdir(parents=True)
    count = 0
    while count < AUTO_MINIMUM + 20:  # distinct contents: bytes after the DER change the SHA-256, not the parse
        (packages / f"Package_{count:04}.cat").write_bytes(real[count % len(real)] + b"\x00" * 16 + str(count).encode())
        count += 1
    started: list[int] = []
    opened = catalog_workers._open_pool
    monkeypatch.setattr(catalog_workers, "_open_pool", lambda judge, workers: started.append(workers) or opened(judge, workers))
    monkeypatch.setattr(catalog_workers.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)  # two cores anywhere
    db = SQLite(tmp_path / "cache.sqlite")
    db.create(SCHEMA + ";" + RECENCY)
    cache = ScanCache(db)

    def records(jobs: int | None, verdicts: ScanCache | None) -> list[dict]:
        certs = CertCache()
        judge = Judge(build_store(certs, None), certs, None)
        found = read_catalogs(FilesystemVolume(DirectoryFilesystem(tmp_path / "image")), judge, jobs, verdicts)
        return [r.as_dict() | {"member_hashes": sorted(r.members) if r.members else None} for r in found.records]

    cold = records(None, cache)
    assert started == [2] and cache.misses == count
    for n in range(0, count, 100):  # the rebuild: a handful of catalogs changed
        (packages / f"Package_{n:04}.cat").write_bytes(real[n % len(real)] + b"rebuilt")
    cache.hits = cache.misses = 0
    warm = records(None, cache)
    assert started == [2], "the warm rescan started a pool for a handful of catalogs"
    assert (cache.hits, cache.misses) == (count - 5, 5)
    assert warm == records(1, None)
    assert [r["sha256"] for r in warm] != [r["sha256"] for r in cold]
    assert {r.get("status") for r in warm} >= {"valid", "untrusted"}
