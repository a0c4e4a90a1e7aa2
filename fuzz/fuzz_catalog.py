"""The catalog reader (`imgscan.catalog.parse_catalog`: the PKCS#7 envelope and CTL declared for
asn1crypto, signer and timestamp verification, nested signatures, member hashes) and the verdict on
what it read (`imgscan.validity.Judge.judge`).

Input: a .cat file's bytes.

Contract (parse_catalog's docstring):
- parse_catalog returns a Catalog or raises CatalogError (one line); nothing else;
- the Catalog's verdict can always be given (Judge.judge never raises on a parsed catalog);
- members=True reads the same catalog as members=False, plus its member hashes;
- memory and time bounded by the catalog's size (1 GB, 10 s per input at most).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "asn1crypto"):
    from imgscan.catalog import Catalog, CatalogError, parse_catalog  # moves to imgscan.signing (DESIGN-23)
    from imgscan.certs import CertCache
    from imgscan.trust_store import build_store
    from imgscan.validity import Judge

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=200)


@functools.cache
def _store() -> Any:
    return build_store(CertCache(), None)


def _facts(catalog: Catalog) -> tuple[object, ...]:
    """What a catalog was read as, certificates by thumbprint."""
    stamp = catalog.timestamp
    return (
        catalog.signed,
        catalog.digest_algorithm,
        catalog.signer.thumbprint if catalog.signer else None,
        tuple(c.thumbprint for c in catalog.certificates),
        catalog.signing_time,
        (stamp.kind, stamp.time, stamp.problem) if stamp else None,
        catalog.this_update,
        catalog.member_count,
        catalog.problem,
        tuple(_facts(n) for n in catalog.nested),
        catalog.notes,
    )


def check(data: bytes) -> None:
    cache = CertCache()
    try:
        catalog = parse_catalog("fuzzed.cat", data, cache, members=True)
    except CatalogError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(catalog, Catalog) and isinstance(catalog.members, frozenset)
    assert _facts(parse_catalog("fuzzed.cat", data, CertCache())) == _facts(catalog), "members=True read another catalog"
    Judge(_store(), cache, None).judge(catalog)


def seeds() -> Iterator[bytes]:
    """The sample scenarios' catalogs (signed by the sample PKI) and the real ones that fit."""
    from fuzz.sources import real_files, sample_files

    yield from sample_files(".cat")
    yield from (real for real in real_files("catalogs", ".cat") if len(real) <= LIMITS.max_len)


if __name__ == "__main__":
    fuzz(check, LIMITS)
