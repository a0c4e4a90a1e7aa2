"""Catalog verdicts on the signature forms real images carry: legacy bare-digest countersignatures,
the RSA encodings Windows accepts, dual signatures, the Disallowed store, and the chain time rules
of imgscan.signing.validity (one test per numbered rule). In-process; openssl and osslsigncode are the
independent readers where a test says so."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, core
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils

from imgscan.hives import parse_hive
from imgscan.signing.catalog import parse_catalog
from imgscan.signing.certs import CertCache, verify_signature
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.catalog_writer import Signature, write_catalog
from sample_images.pki import CODE_SIGNING, TIME_STAMPING, TestPki, issue, make_pki, utc
from sample_images.regf import Key, Value, build_hive
from tests.conftest import REALDATA, run_imgscan
from tests.realdata import needs_realdata

CATALOGS = REALDATA / "catalogs"
LEGACY = ("legacyts_google_androidwinusb86.cat", "legacyts_google_androidwinusba64.cat")
PANDA = "legacyts_pandaboard_test_androidwinusb86.cat"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return make_pki()


def _software(pki: TestPki, disallowed: tuple[bytes, ...] = (), written: datetime | None = None):
    """A SOFTWARE hive trusting the test root, with `disallowed` blobs in the Disallowed store."""
    written = written or utc("2013-03-01T00:00:00")
    root = Key("ROOT")
    thumb = hashlib.sha1(pki.root.der).hexdigest().upper()
    root.set(rf"Microsoft\SystemCertificates\ROOT\Certificates\{thumb}", Value.binary("Blob", _blob(pki.root.der)))
    for n, blob in enumerate(disallowed):
        root.set(rf"Microsoft\SystemCertificates\Disallowed\Certificates\{n:040X}", Value.binary("Blob", blob))
    return parse_hive("SOFTWARE", build_hive(root, "SOFTWARE", written))


def _blob(der: bytes) -> bytes:
    return (0x20).to_bytes(4, "little") + (1).to_bytes(4, "little") + len(der).to_bytes(4, "little") + der


def _judge(software=None, mitigation=None) -> tuple[Judge, CertCache]:
    cache = CertCache()
    return Judge(build_store(cache, software), cache, mitigation), cache


def _verdict(data: bytes, software=None, mitigation=None):
    judge, cache = _judge(software, mitigation)
    catalog = parse_catalog("test.cat", data, cache)
    return catalog, judge.judge(catalog), judge


# --- part 1: legacy countersignatures with a bare digest (real files) ---------------------------


@needs_realdata
@pytest.mark.parametrize("name", LEGACY)
def test_google_legacy_timestamp_verifies_and_never_expires(name):
    catalog, verdict, _ = _verdict((CATALOGS / name).read_bytes())
    assert catalog.problem is None
    assert catalog.timestamp.kind == "authenticode" and catalog.timestamp.problem is None
    assert catalog.timestamp.signer.common_name == "Symantec Time Stamping Services Signer - G4"
    assert catalog.timestamp.time.date() == date(2014, 9, 10)
    assert catalog.signer.not_after.date() == date(2016, 1, 29)
    assert verdict.status == "valid" and verdict.cause == "timestamped"
    assert verdict.valid_until is None and verdict.starts() is None


@needs_realdata
def test_pandaboard_is_untrusted_not_expired():
    catalog, verdict, _ = _verdict((CATALOGS / PANDA).read_bytes())
    assert catalog.timestamp.problem is None  # its legacy timestamp verifies too
    assert verdict.status == "untrusted" and verdict.cause == "untrusted-root"
    assert verdict.starts() is None and verdict.hresult == "0x800B0109"


@needs_realdata
@pytest.mark.parametrize("name", (*LEGACY, PANDA))
def test_openssl_recovers_the_bare_sha1_digest(name, tmp_path):
    """Independent reader: OpenSSL's raw RSA recovery of the countersignature block gives exactly the
    20-byte SHA-1 of the countersignature's signed attributes, with no DigestInfo around it."""
    info = cms.ContentInfo.load((CATALOGS / name).read_bytes())
    signed = info["content"]
    counter = signed["signer_infos"][0]["unsigned_attrs"][0]["values"][0]
    serial = counter["sid"].chosen["serial_number"].native
    tsa = next(c for c in signed["certificates"] if c.chosen.serial_number == serial).chosen
    (tmp_path / "tsa.der").write_bytes(tsa.dump())
    (tmp_path / "sig.bin").write_bytes(counter["signature"].native)
    subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", tmp_path / "tsa.der", "-pubkey", "-noout", "-out", tmp_path / "tsa.pem"],
        check=True,
    )
    recovered = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verifyrecover",
            "-pubin",
            "-inkey",
            tmp_path / "tsa.pem",
            "-in",
            tmp_path / "sig.bin",
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
        ],
        check=True,
        capture_output=True,
    ).stdout
    attrs = b"\x31" + counter["signed_attrs"].dump()[1:]
    assert recovered == hashlib.sha1(attrs).digest()


@needs_realdata
def test_scan_with_legacy_catalogs_in_catroot_never_predicts_expiry(tmp_path):
    """A Windows 7 tree whose CatRoot holds the real driver catalogs: no catalog-expiry up to 2030."""
    from sample_images.build import build
    from sample_images.scenario import load

    tree = build(load("healthy"), tmp_path, ("dir",))["dir"]
    catroot = tree / "Windows" / "System32" / "CatRoot" / "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
    catroot.mkdir(parents=True, exist_ok=True)
    for name in (*LEGACY, PANDA):
        shutil.copyfile(CATALOGS / name, catroot / name)
    for as_of in ("2014-12-01", "2016-02-01", "2020-06-01", "2030-12-31"):
        report = run_imgscan("scan", tree, "--as-of", as_of, "--format", "json").report
        rules = {(f["rule"], Path(f["evidence"][0]["path"].replace("\\", "/")).name) for f in report["findings"]}
        assert not [r for r in rules if r[0] == "catalog-expiry"], (as_of, rules)
        assert ("catalog-untrusted", PANDA) in rules
        status = {Path(c["path"].replace("\\", "/")).name: c["status"] for c in report["inventory"]["catalogs"]}
        assert status[LEGACY[0]] == status[LEGACY[1]] == "valid"


# --- the RSA encodings Windows accepts --------------------------------------------------------------


def _spki(identity) -> bytes:
    return identity.cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("digest", ["md5", "sha1", "sha256", "sha384", "sha512"])
def test_digestinfo_signatures_verify_for_every_windows_hash(pki, digest):
    algo = {"md5": hashes.MD5, "sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}[
        digest
    ]()
    signature = pki.tsa_good.key.sign(b"signed attributes", padding.PKCS1v15(), algo)
    assert verify_signature(_spki(pki.tsa_good), signature, b"signed attributes", digest)
    assert not verify_signature(_spki(pki.tsa_good), signature, b"other attributes", digest)


def test_digestinfo_naming_another_hash_is_rejected(pki):
    """A block whose DigestInfo names SHA-1 does not verify as SHA-256, even where the digest bytes fit."""
    signature = pki.tsa_good.key.sign(b"data", padding.PKCS1v15(), hashes.SHA1())
    assert not verify_signature(_spki(pki.tsa_good), signature, b"data", "sha256", bare_digest_ok=True)


def test_bare_digest_accepted_for_countersignatures_only(pki):
    digest = hashlib.sha1(b"data").digest()
    bare = pki.tsa_good.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA1()))  # with DigestInfo
    assert verify_signature(_spki(pki.tsa_good), bare, b"data", "sha1")
    from sample_images.catalog_writer import _sign_bare_sha1

    legacy = _sign_bare_sha1(pki.tsa_good, b"data")
    assert verify_signature(_spki(pki.tsa_good), legacy, b"data", "sha1", bare_digest_ok=True)
    assert not verify_signature(_spki(pki.tsa_good), legacy, b"data", "sha1")  # primary signatures need DigestInfo
    assert not verify_signature(_spki(pki.tsa_good), legacy, b"tampered", "sha1", bare_digest_ok=True)


def _legacy_catalog(pki, signer) -> bytes:
    """Signed 2013-01-01 and countersigned the VeriSign/Symantec way (bare SHA-1 digest)."""
    when = utc("2013-01-01T00:00:00")
    return write_catalog([b"a"], when, signer, [pki.code_pca, pki.stamp_pca], (pki.tsa_good, when), legacy_timestamp=True)


def test_generated_legacy_countersignature_is_a_usable_timestamp(pki):
    signer = pki.signer("Legacy Era Vendor", "2012-01-01T00:00:00", "2014-01-01T00:00:00")
    data = _legacy_catalog(pki, signer)
    catalog, verdict, _ = _verdict(data, _software(pki))
    assert catalog.timestamp.problem is None
    assert verdict.status == "valid" and verdict.starts() is None


def test_countersignature_block_of_garbage_makes_the_timestamp_unusable_not_a_crash(pki):
    signer = pki.signer("Vendor", "2012-01-01T00:00:00", "2014-01-01T00:00:00")
    data = bytearray(_legacy_catalog(pki, signer))
    info = cms.ContentInfo.load(bytes(data))
    block = info["content"]["signer_infos"][0]["unsigned_attrs"][0]["values"][0]["signature"].native
    at = bytes(data).index(block)
    data[at : at + len(block)] = bytes(len(block))  # the RSA block decrypts to garbage now
    catalog, verdict, _ = _verdict(bytes(data), _software(pki))
    assert catalog.problem is None and catalog.timestamp.problem
    assert verdict.status == "expires" and verdict.cause == "timestamp-unusable"
    assert verdict.starts() == date(2014, 1, 1)


# --- part 3: dual-signed catalogs -------------------------------------------------------------------


def _dual(pki, nested_signer=None, stamp=True):
    sha1_era = pki.signer("Dual Vendor (SHA-1)", "2015-01-01T00:00:00", "2017-01-01T00:00:00")
    sha2_era = nested_signer or pki.signer("Dual Vendor (SHA-2)", "2015-01-01T00:00:00", "2019-01-01T00:00:00")
    when = (pki.tsa_good, utc("2016-01-01T00:00:00")) if stamp else None
    return write_catalog(
        [b"a"],
        utc("2016-01-01T00:00:00"),
        sha1_era,
        [pki.code_pca, pki.stamp_pca],
        when,
        nested=[Signature(sha2_era, [pki.code_pca])],
    )


def test_dual_signed_catalog_lists_every_signature_and_follows_the_primary(pki, tmp_path):
    catalog, verdict, judge = _verdict(_dual(pki, stamp=False), _software(pki))
    assert len(catalog.nested) == 1 and not catalog.notes
    assert catalog.signer.common_name == "Dual Vendor (SHA-1)"
    assert catalog.nested[0].signer.common_name == "Dual Vendor (SHA-2)"
    assert catalog.nested[0].problem is None and catalog.nested[0].timestamp is None
    verdicts = judge.judge_all(catalog)
    assert [v.valid_until.date() for v in verdicts] == [date(2017, 1, 1), date(2019, 1, 1)]
    assert verdict == verdicts[0]  # validity rule 8: the primary decides
    (tmp_path / "dual.cat").write_bytes(_dual(pki, stamp=False))
    out = subprocess.run(
        ["osslsigncode", "verify", "-in", tmp_path / "dual.cat", "-ignore-crl"], capture_output=True, text=True
    ).stdout
    assert "Signature Index: 1" in out and "Dual Vendor (SHA-2)" in out  # osslsigncode sees the same nesting


def test_truncated_nested_signature_is_a_note_and_the_primary_still_counts(pki):
    data = _dual(pki)
    info = cms.ContentInfo.load(data)
    nested = [a for a in info["content"]["signer_infos"][0]["unsigned_attrs"] if a["type"].dotted == "1.3.6.1.4.1.311.2.4.1"]
    blob = nested[0]["values"][0].dump()
    broken = blob[:2] + core.Integer(7).dump()[:-1] + bytes(len(blob) - 4)  # a SEQUENCE whose inside is garbage
    data = data.replace(blob, broken[: len(blob)])
    catalog, verdict, _ = _verdict(data, _software(pki))
    assert catalog.nested == () and len(catalog.notes) == 1 and "nested signature 2" in catalog.notes[0]
    assert verdict.status == "valid"


# --- part 4: the Disallowed store ---------------------------------------------------------------------


def test_disallowed_signer_is_revoked_from_the_day_of_the_entry(pki):
    signer = pki.signer("Flame-era Signer", "2010-01-01T00:00:00", "2030-01-01T00:00:00")
    data = write_catalog(
        [b"a"], utc("2011-01-01T00:00:00"), signer, [pki.code_pca, pki.stamp_pca], (pki.tsa_good, utc("2011-01-01T00:00:00"))
    )
    catalog, verdict, _ = _verdict(data, _software(pki, (_blob(signer.der),), utc("2012-06-04T10:00:00")))
    assert verdict.status == "revoked" and verdict.cause == "disallowed"
    assert verdict.hresult == "0x800B010C" and verdict.starts() == date(2012, 6, 4)
    assert "Disallowed" in verdict.reason and not verdict.never_valid


def test_disallowed_tsa_ends_the_signature_too(pki):
    signer = pki.signer("Vendor", "2010-01-01T00:00:00", "2030-01-01T00:00:00")
    data = write_catalog(
        [b"a"], utc("2011-01-01T00:00:00"), signer, [pki.code_pca, pki.stamp_pca], (pki.tsa_good, utc("2011-01-01T00:00:00"))
    )
    _, verdict, _ = _verdict(data, _software(pki, (_blob(pki.tsa_good.der),)))
    assert verdict.status == "revoked"


def test_disallowed_blob_that_is_not_a_certificate_is_a_store_problem(pki):
    store = build_store(CertCache(), _software(pki, (_blob(b"\x30\x03\x02\x01\x01"), b"garbage")))
    assert store.disallowed == {}
    assert len(store.problems) == 2


def test_scan_reports_disallowed_catalog_as_untrusted_with_cert_e_revoked(variant):
    def distrust(scenario):
        scenario.disallowed = ["windows-2011"]

    tree = variant("ref-w7-2012q3", distrust, "dir")
    report = run_imgscan("scan", tree, "--as-of", "2012-12-01", "--format", "json").report
    revoked = [f for f in report["findings"] if f["rule"] == "catalog-untrusted" and f["hresult"] == "0x800B010C"]
    assert revoked and "KB2506212" in revoked[0]["message"]
    assert revoked[0]["starts"] == "2012-09-14"


# --- part 5: chain time rules (imgscan.signing.validity docstring), one test each -----------------------------


def _timestamped(pki, signer, when, tsa=None):
    return write_catalog([b"a"], when, signer, [pki.code_pca, pki.stamp_pca], (tsa or pki.tsa_good, when))


def test_rule1_signer_chain_judged_at_timestamp_time(pki):
    short_pca = issue("Short-lived PCA", "2005-01-01T00:00:00", "2012-01-01T00:00:00", pki.root, ca=True)
    signer = issue("Vendor", "2010-01-01T00:00:00", "2011-06-01T00:00:00", short_pca, (CODE_SIGNING,))
    data = write_catalog(
        [b"a"], utc("2011-01-01T00:00:00"), signer, [short_pca, pki.stamp_pca], (pki.tsa_good, utc("2011-01-01T00:00:00"))
    )
    _, verdict, _ = _verdict(data, _software(pki))
    assert verdict.status == "valid" and verdict.valid_until is None  # the PCA's 2012 expiry ends nothing


def test_rule2_tsa_chain_judged_at_timestamp_time(pki):
    tsa = issue("Old TSA", "2010-01-01T00:00:00", "2012-01-01T00:00:00", pki.stamp_pca, (TIME_STAMPING,))
    signer = pki.signer("Vendor", "2010-06-01T00:00:00", "2011-06-01T00:00:00")
    _, valid, _ = _verdict(_timestamped(pki, signer, utc("2011-01-01T00:00:00"), tsa), _software(pki))
    assert valid.status == "valid"  # the TSA expired in 2012, after the timestamp: still usable
    late = utc("2012-06-01T00:00:00")  # a timestamp made after the TSA expired is not
    signer2 = pki.signer("Vendor 2", "2012-01-01T00:00:00", "2013-01-01T00:00:00")
    _, bad, _ = _verdict(_timestamped(pki, signer2, late, tsa), _software(pki))
    assert bad.status == "expires" and "TSA chain was not valid" in bad.reason


def test_rule3_tsa_without_eku_counts_as_absent_unless_mitigated(pki):
    signer = pki.signer("Vendor", "2012-06-15T00:00:00", "2013-06-30T00:00:00")
    data = _timestamped(pki, signer, utc("2012-07-15T00:00:00"), pki.tsa_no_eku)
    _, plain, _ = _verdict(data, _software(pki))
    assert plain.cause == "tsa-without-eku" and plain.starts() == date(2013, 6, 30)
    _, mitigated, _ = _verdict(data, _software(pki), "KB2749655")
    assert mitigated.status == "valid" and mitigated.mitigation == "KB2749655"


def test_rule4_lifetime_signing_ends_with_the_certificate(pki):
    signer = pki.signer("Lifetime Vendor", "2012-01-01T00:00:00", "2013-01-01T00:00:00", lifetime=True)
    _, verdict, _ = _verdict(_timestamped(pki, signer, utc("2012-06-01T00:00:00")), _software(pki))
    assert verdict.cause == "lifetime-signing" and verdict.starts() == date(2013, 1, 1)


def test_rule5_without_timestamp_the_chain_must_be_valid_on_the_day(pki):
    signer = pki.signer("Untimestamped", "2012-01-01T00:00:00", "2013-01-01T00:00:00")
    data = write_catalog([b"a"], utc("2012-06-01T00:00:00"), signer, [pki.code_pca])
    _, verdict, _ = _verdict(data, _software(pki))
    assert verdict.cause == "no-timestamp" and verdict.hresult == "0x800B0101"
    assert verdict.valid_from == utc("2012-01-01T00:00:00") and verdict.starts() == date(2013, 1, 1)


def test_rule6_unknown_root_is_never_valid(pki):
    stranger = make_pki()
    signer = stranger.signer("Stranger", "2012-01-01T00:00:00", "2030-01-01T00:00:00")
    data = _timestamped(stranger, signer, utc("2012-06-01T00:00:00"))
    _, verdict, _ = _verdict(data, _software(pki))
    assert verdict.status == "untrusted" and verdict.never_valid and verdict.starts() is None
