"""The lean catalog reader (imgscan/signing/lean_catalog.py) against the asn1crypto reader it stands in for:
on every real catalog (../shared/realdata/catalogs and the PyPI packages' driver catalogs) and every sample
scenario's catalog, both give the same judged record, byte for byte in the verdict cache's JSON form; a
catalog in another shape is left to asn1crypto, whose result (or one-line error) then stands.

Each reader gets its own certificate cache and judge, so nothing one computes is reused by the other.
The fuzz harness fuzz/fuzz_lean_catalog.py holds them to the same contract on mutated catalogs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fuzz.fuzz_lean_catalog import dual_signed
from fuzz.sources import real_files, sample_files
from imgscan.signing import lean_catalog, verdict_codec
from imgscan.signing.catalog import Catalog, CatalogError, parse_catalog, parse_catalog_asn1
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from tests.realdata import REGISTRY, files, registry_file

Reader = Callable[[str, bytes, CertCache, bool], "Catalog | None"]


def _asn1(path: str, data: bytes, cache: CertCache, members: bool) -> Catalog:
    return parse_catalog_asn1(path, data, cache, members=members)


def _record(reader: Reader, data: bytes) -> bytes | None:
    """The verdict cache's entry for `data` read by `reader` and judged by a judge of its own; None when
    the reader leaves the catalog to another."""
    cache = CertCache()
    judge = Judge(build_store(cache, None), cache, None)
    catalog = reader("x.cat", data, cache, True)
    if catalog is None:
        return None
    verdicts = judge.judge_all(catalog)
    entry, _ = verdict_codec.encode((catalog, verdicts[0], None, tuple(verdicts) if catalog.nested else None))
    return entry


def _assert_same(data: bytes) -> None:
    lean = _record(lean_catalog.read, data)
    assert lean is not None, "the lean reader left a catalog of the plain shape to asn1crypto"
    assert lean == _record(_asn1, data)


@pytest.mark.parametrize("path", files("catalogs", ".cat"))
def test_a_real_catalog_reads_the_same_through_both_readers(path: Path) -> None:
    _assert_same(path.read_bytes())


@pytest.mark.parametrize("entry", REGISTRY, ids=[e["name"] for e in REGISTRY])
def test_a_pypi_driver_catalog_reads_the_same_through_both_readers(entry: dict[str, str]) -> None:
    _assert_same(registry_file(entry).read_bytes())


SAMPLES = [*sample_files(".cat"), *dual_signed()]


@pytest.mark.parametrize("number", range(len(SAMPLES)))
def test_a_sample_catalog_reads_the_same_through_both_readers(number: int) -> None:
    _assert_same(SAMPLES[number])


@pytest.mark.realdata  # needs_realdata, spelled so that mypy sees the decorator's type
def test_the_catalogs_compared_cover_every_kind_of_timestamp_and_nested_signatures() -> None:
    """The differential means something only if the catalogs compared take every branch of the reader."""
    every = [*SAMPLES, *real_files("catalogs", ".cat"), *(registry_file(e).read_bytes() for e in REGISTRY)]
    read = [lean_catalog.read("x.cat", data, CertCache(), False) for data in every]
    kinds = {c.timestamp.kind if c.timestamp else None for c in read if c}
    assert kinds == {None, "authenticode", "rfc3161"}
    assert any(c and c.nested for c in read), "no dual-signed catalog"
    assert any(c and not c.signed for c in read), "no catalog without a signer"


def _indefinite(data: bytes) -> bytes:
    """`data`'s outer SEQUENCE re-encoded with BER's indefinite length (asn1crypto reads it)."""
    assert data[0] == 0x30 and data[1] & 0x80
    size = data[1] & 0x7F
    end = 2 + size + int.from_bytes(data[2 : 2 + size], "big")
    return b"\x30\x80" + data[2 + size : end] + b"\x00\x00"


def test_a_catalog_of_another_shape_is_read_by_asn1crypto() -> None:
    original = SAMPLES[0]
    ber = _indefinite(original)
    assert lean_catalog.read("x.cat", ber, CertCache(), True) is None
    cache = CertCache()
    read, reference = parse_catalog("x.cat", ber, cache, members=True), parse_catalog_asn1("x.cat", ber, cache, members=True)
    assert read == reference and read.signed and read.problem is None


def test_a_truncated_catalog_gets_the_asn1crypto_error() -> None:
    truncated = SAMPLES[0][:-200]
    assert lean_catalog.read("x.cat", truncated, CertCache(), False) is None
    with pytest.raises(CatalogError) as reference:
        parse_catalog_asn1("x.cat", truncated, CertCache())
    with pytest.raises(CatalogError) as read:
        parse_catalog("x.cat", truncated, CertCache())
    assert str(read.value) == str(reference.value)


def test_a_digest_the_scan_already_made_is_taken_not_made_again() -> None:
    """The scan hashes every catalog it reads (its cache key, its copies): both readers take that SHA-256
    instead of hashing the bytes a second time, and make it themselves when none is given."""
    import hashlib

    lean_read, ber = SAMPLES[0], _indefinite(SAMPLES[0])
    given = "ab" * 32
    for data in (lean_read, ber):  # the second is read by asn1crypto
        assert parse_catalog("x.cat", data, CertCache(), sha256=given).sha256 == given
        assert parse_catalog("x.cat", data, CertCache()).sha256 == hashlib.sha256(data).hexdigest()
