"""The catalog workers start cheaply: forked from a server that has already read the bundled roots, so the
Judge each worker receives refers to the worker's own bundle, inherited, instead of carrying (and having
the worker parse) hundreds of roots; a worker parses only the roots its chains reach."""

from __future__ import annotations

from imgscan.signing import catalog_workers
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store, bundled
from imgscan.signing.validity import Judge


def _inherited() -> tuple[int, bool, int]:
    """In a worker: (whether the bundle was read before this worker received its judge, whether the judge's
    bundle is that very object, how many roots it has parsed)."""
    read_before = bundled.cache_info().currsize
    judge = catalog_workers._WORKER_JUDGE
    assert judge is not None
    return read_before, judge.store.bundled is bundled(), len(bundled()._parsed)


def test_a_worker_inherits_the_bundled_roots_read_and_parses_none_unasked() -> None:
    cache = CertCache()
    pool = catalog_workers._open_pool(Judge(build_store(cache, None), cache, None), 1)
    assert pool is not None
    try:
        assert pool.submit(_inherited).result(timeout=120) == (1, True, 0)
    finally:
        pool.shutdown()
