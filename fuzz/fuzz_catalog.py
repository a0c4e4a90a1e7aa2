"""The catalog reader (`imgscan.signing.catalog.parse_catalog`: the PKCS#7 envelope and CTL declared for
asn1crypto, signer and timestamp verification, nested signatures, member hashes) and the verdict on
what it read (`imgscan.signing.validity.Judge.judge`).

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
    from imgscan.signing import catalog, certs, trust_store, validity

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=200)


@functools.cache
def _store() -> Any:
    return trust_store.build_store(certs.CertCache(), None)


def _facts(read: catalog.Catalog) -> tuple[object, ...]:
    """What a catalog was read as, certificates by thumbprint."""
    stamp = read.timestamp
    return (
        read.signed,
        read.digest_algorithm,
        read.signer.thumbprint if read.signer else None,
        tuple(c.thumbprint for c in read.certificates),
        read.signing_time,
        (stamp.kind, stamp.time, stamp.problem) if stamp else None,
        read.this_update,
        read.member_count,
        read.problem,
        tuple(_facts(n) for n in read.nested),
        read.notes,
    )


def check(data: bytes) -> None:
    cache = certs.CertCache()
    try:
        read = catalog.parse_catalog("fuzzed.cat", data, cache, members=True)
    except catalog.CatalogError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(read, catalog.Catalog) and isinstance(read.members, frozenset)
    again = catalog.parse_catalog("fuzzed.cat", data, certs.CertCache())
    assert _facts(again) == _facts(read), "members=True read another catalog"
    validity.Judge(_store(), cache, None).judge(read)


def seeds() -> Iterator[bytes]:
    """The sample scenarios' catalogs (signed by the sample PKI) and the real ones that fit."""
    from fuzz.sources import real_files, sample_files

    yield from sample_files(".cat")
    yield from (real for real in real_files("catalogs", ".cat") if len(real) <= LIMITS.max_len)


if __name__ == "__main__":
    _store()  # parsing the bundled roots takes seconds under instrumentation: not inside the first input's time
    fuzz(check, LIMITS)
