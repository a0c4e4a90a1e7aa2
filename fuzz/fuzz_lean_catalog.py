"""The lean catalog reader (`imgscan.signing.lean_catalog.read`: DER byte ranges, no asn1crypto objects)
against the asn1crypto reader it stands in for (`imgscan.signing.catalog.parse_catalog_asn1`).

Input: a .cat file's bytes.

Contract (lean_catalog's docstring):
- `read` returns a Catalog or None ("not mine"); nothing else;
- differential: whenever it returns a Catalog, the asn1crypto reader reads the same bytes without error
  as an equal Catalog (same facts, the same certificate objects from the shared cache, the same member
  hashes), so a catalog gets the same verdict whichever reader judged it;
- memory and time bounded by the catalog's size (1 GB, 10 s per input at most).

Byte mutations mostly break the outer DER lengths, so few inputs reach the lean reader's later steps;
fuzz_lean_tree.py mutates the catalog's TLV tree instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "asn1crypto"):
    from imgscan.signing import catalog, certs, lean_catalog

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=300)


def check(data: bytes) -> None:
    cache = certs.CertCache()
    for members in (False, True):
        lean = lean_catalog.read("fuzzed.cat", data, cache, members)
        if lean is None:
            continue
        assert isinstance(lean, catalog.Catalog)
        try:
            reference = catalog.parse_catalog_asn1("fuzzed.cat", data, cache, members=members)
        except catalog.CatalogError as exc:
            raise AssertionError(f"the lean reader read a catalog asn1crypto refuses: {exc}") from None
        assert lean == reference, f"lean reader read {lean!r}, asn1crypto {reference!r}"


def dual_signed() -> list[bytes]:
    """Dual-signed catalogs (the sample scenarios have none), with and without timestamps of both
    eras, so that nested signatures are read too."""
    from sample_images.catalog_writer import Signature, write_catalog
    from sample_images.pki import make_pki, utc

    pki = make_pki()
    old = pki.signer("Dual Vendor (SHA-1)", "2015-01-01T00:00:00", "2017-01-01T00:00:00")
    new = pki.signer("Dual Vendor (SHA-2)", "2015-01-01T00:00:00", "2019-01-01T00:00:00")
    stamp = (pki.tsa_good, utc("2016-01-01T00:00:00"))
    when = utc("2016-01-01T00:00:00")
    return [
        write_catalog([b"a"], when, old, [pki.code_pca, pki.stamp_pca], None, nested=[Signature(new, [pki.code_pca])]),
        write_catalog([b"a", b"b"], when, old, [pki.code_pca], stamp, digest="sha1", nested=[Signature(new, [], stamp)]),
        write_catalog([b"c"], when, new, [pki.code_pca, pki.stamp_pca], stamp, legacy_timestamp=True),
    ]


def seeds() -> Iterator[bytes]:
    """The catalog harness' seeds (sample scenarios' and real catalogs) and dual-signed ones."""
    from fuzz.fuzz_catalog import seeds as catalog_seeds

    yield from catalog_seeds()
    yield from dual_signed()


if __name__ == "__main__":
    fuzz(check, LIMITS)
