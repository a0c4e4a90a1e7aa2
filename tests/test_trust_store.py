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
