"""The lean catalog reader (`imgscan.signing.lean_catalog.read`) against the asn1crypto reader it stands in
for (`catalog.parse_catalog_asn1`), on catalogs mutated node by node: the structure-aware twin of
fuzz_lean_catalog.py, whose byte mutations mostly break the DER shape so that the lean reader declines
at the first element (17 of 198 corpus inputs reached it, none with an RFC 3161 timestamp).

Input: a program (tree_mutations.py): its first byte picks a valid catalog (the sample PKI's, signed by
sample_images/catalog_writer.py: RFC 3161 and legacy countersigned, SHA-1 and SHA-256, dual-signed; and the
real ones in ../shared/realdata), the rest mutates that catalog's TLV tree (a node's contents replaced,
cut or extended, children swapped, duplicated, dropped, grafted, an OID, a time, a tag, an INTEGER, a
length form changed, a byte of a signature or digest flipped), which is then written back with correct
lengths.

Contract (lean_catalog's and parse_catalog's docstrings):
- `lean_catalog.read` returns a Catalog or None (declines: asn1crypto reads the file); nothing else;
- `parse_catalog_asn1` returns a Catalog or raises CatalogError (one line); nothing else;
- differential: whenever the lean reader reads a catalog, asn1crypto reads it too, and both give the same
  judged record, byte for byte in the verdict cache's form (`verdict_codec.encode`, as
  tests/test_lean_catalog.py compares them), and the same member hashes;
- judging what either read never raises; 1 GB and 10 s per input at most.

How many inputs reach the lean reader (and with which timestamp) is printed to stderr as the run goes
(`engine.STAT` lines: `python -m fuzz run` shows the last one).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fuzz.engine import STAT, Limits, fuzz, instrumented

with instrumented(__name__, "asn1crypto"):  # first: the tree imports the DER walker and asn1crypto
    from fuzz.der_tree import Node, encode, parse
    from fuzz.tree_mutations import Program, apply
    from imgscan.signing import catalog, certs, lean_catalog, pkcs7, trust_store, validity, verdict_codec

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=512, ci_runs=300)
MAX_CATALOG = 20_000  # real catalogs larger than this make too slow an input

OID_TST_INFO = "1.2.840.113549.1.9.16.1.4"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
# the OIDs an OID node may become: those the readers branch on, digest and signature algorithms, a
# digest OID with a non-minimal arc (the same OID to a lenient reader, another to a strict one)
OIDS = tuple(
    pkcs7.encoded_oid(dotted)
    for dotted in (
        pkcs7.OID_SIGNED_DATA,
        pkcs7.OID_CTL,
        pkcs7.OID_MESSAGE_DIGEST,
        pkcs7.OID_SIGNING_TIME,
        pkcs7.OID_COUNTERSIGNATURE,
        pkcs7.OID_RFC3161,
        pkcs7.OID_NESTED_SIGNATURE,
        pkcs7.OID_SPC_INDIRECT_DATA,
        OID_CONTENT_TYPE,
        OID_TST_INFO,
        "1.2.840.113549.1.7.1",  # data
        "1.3.14.3.2.26",  # sha1
        "2.16.840.1.101.3.4.2.1",  # sha256
        "2.16.840.1.101.3.4.2.2",  # sha384
        "2.16.840.1.101.3.4.2.3",  # sha512
        "2.16.840.1.101.3.4.2.4",  # sha224
        "1.2.840.113549.2.5",  # md5
        "1.2.840.113549.1.1.1",  # rsaEncryption
        "1.2.840.113549.1.1.11",  # sha256WithRSAEncryption
        "1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
    )
) + (b"\x60\x86\x48\x01\x65\x03\x04\x02\x80\x01", b"", b"\x80")


def mutate_oid(node: Node, program: Program, tree: Node) -> None:
    choice = program.byte()
    node.value = OIDS[choice % len(OIDS)] if choice < 0xF0 else program.blob()


STATS: collections.Counter[str] = collections.Counter()


def _report() -> None:
    """One "lean path:" line: executions, how many the lean reader read, and their timestamps."""
    runs, lean = STATS["executions"], STATS["lean"]
    print(
        f"{STAT}lean path: {runs} executions, {lean} read by the lean reader ({100 * lean / max(runs, 1):.1f}%): "
        f"{STATS['rfc3161']} RFC 3161, {STATS['authenticode']} Authenticode, {STATS['nested']} dual-signed, "
        f"{STATS['unsigned']} unsigned; {STATS['asn1crypto']} left to asn1crypto, {STATS['refused']} refused by both",
        file=sys.stderr,
        flush=True,
    )


@functools.cache
def _judge(side: str) -> tuple[certs.CertCache, validity.Judge]:
    """A certificate cache and judge per reader (`side`), so nothing one reader computes is reused by the other."""
    cache = certs.CertCache()
    return cache, validity.Judge(trust_store.build_store(cache, None), cache, None)


def _record(read: catalog.Catalog, judge: validity.Judge) -> bytes:
    """The verdict cache's entry of `read` (tests/test_lean_catalog.py's `_record`)."""
    verdicts = judge.judge_all(read)
    try:
        entry, _ = verdict_codec.encode((read, verdicts[0], None, tuple(verdicts) if read.nested else None))
    except verdict_codec.Undecodable as exc:  # a value JSON cannot carry: the same for both readers
        return re.sub(r" at 0x[0-9a-f]+", "", f"undecodable: {exc}").encode()  # without the object's address
    return entry


def compare(data: bytes) -> tuple[catalog.Catalog | None, bool]:
    """Hold both readers to the contract on one catalog: (what the lean reader read, None when it declined;
    whether asn1crypto read it)."""
    lean_cache, lean_judge = _judge("lean")
    reference_cache, reference_judge = _judge("asn1crypto")
    lean = lean_catalog.read("fuzzed.cat", data, lean_cache, True)
    assert lean is None or isinstance(lean, catalog.Catalog)
    try:
        reference = catalog.parse_catalog_asn1("fuzzed.cat", data, reference_cache, members=True)
    except catalog.CatalogError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert lean is None, f"the lean reader read a catalog asn1crypto refuses: {exc}"
        return None, False
    expected = _record(reference, reference_judge)
    if lean is not None:
        assert _record(lean, lean_judge) == expected, f"lean reader read {lean!r}, asn1crypto {reference!r}"
        assert lean.members == reference.members, "the readers found other member hashes"
    return lean, True


def _count(lean: catalog.Catalog | None, read: bool) -> None:
    STATS["executions"] += 1
    if lean is None:
        STATS["asn1crypto" if read else "refused"] += 1
    else:
        STATS["lean"] += 1
        STATS[lean.timestamp.kind if lean.timestamp else "unsigned" if not lean.signed else "untimestamped"] += 1
        STATS["nested"] += bool(lean.nested)
    runs = STATS["executions"]
    if runs & (runs - 1) == 0 or runs % (100 if runs < 10_000 else 1000) == 0:
        _report()


def mutated(data: bytes) -> bytes:
    """The catalog the program `data` makes: its first byte picks a seed catalog, the rest mutates it."""
    program = Program(data)
    choice = program.byte()
    built, real = catalogs()
    pool = real if choice >= 0x80 and real else built
    tree = parse(pool[choice % len(pool)])
    apply(tree, program, mutate_oid)
    return encode(tree)


def check(data: bytes) -> None:
    _count(*compare(mutated(data)))


@functools.cache
def catalogs() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """(the catalogs built here, the real ones), each valid and in the lean reader's shape."""
    from fuzz.fuzz_lean_catalog import dual_signed
    from fuzz.sources import real_files
    from sample_images.catalog_writer import write_catalog
    from sample_images.pki import make_pki, utc

    pki = make_pki()
    when = utc("2016-01-01T00:00:00")
    vendor = pki.signer("Lean Vendor", "2015-01-01T00:00:00", "2019-01-01T00:00:00")
    plain = write_catalog([b"a", b"b"], when, vendor, [pki.code_pca, pki.stamp_pca])
    first, sha1_stamped, legacy = dual_signed()
    built = (
        with_rfc3161(plain, pki.tsa_good, [pki.stamp_pca], when, "sha256"),
        with_rfc3161(first, pki.tsa_good, [pki.stamp_pca], when, "sha1"),
        with_rfc3161(write_catalog([], when, vendor, [pki.code_pca], digest="sha1"), pki.tsa_no_eku, [], when, "sha256"),
        plain,
        first,
        sha1_stamped,
        legacy,
        write_catalog([b"c"], when, vendor, [pki.code_pca, pki.stamp_pca], (pki.tsa_good, when)),
    )
    real = tuple(
        r for r in real_files("catalogs", ".cat") if len(r) <= MAX_CATALOG and lean_catalog.read("x", r, certs.CertCache(), False)
    )
    return built, real


def _child(node: Node, index: int) -> Node:
    assert node.children is not None
    return node.children[index]


def with_rfc3161(data: bytes, tsa: Any, chain: list[Any], when: datetime, imprint: str) -> bytes:
    """`data` (a catalog without a timestamp) with an RFC 3161 timestamp token by `tsa` over its first
    signer's signature in an unsigned attribute, as signtool /tr writes it (RFC 3161 2.4.2, the token's
    certificates `tsa` and `chain`; `imprint` the digest algorithm of its messageImprint)."""
    from asn1crypto import algos, cms, core, tsp

    from sample_images.catalog_writer import _signed_attrs, _signer_info, _tlv

    tree = parse(data)
    signed = _child(_child(tree, 1), 0)  # ContentInfo { contentType, [0] SignedData }
    signer = _child(_child(signed, -1), 0)  # the first of signerInfos
    signature = _child(signer, 5).value
    tst = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": "1.3.6.1.4.1.601.10.3.1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": imprint},
                "hashed_message": hashlib.new(imprint, signature).digest(),
            },
            "serial_number": 7,
            "gen_time": when,
        }
    ).dump()
    attributes = _signed_attrs(
        [
            (OID_CONTENT_TYPE, OID_TST_INFO),
            (pkcs7.OID_SIGNING_TIME, cms.Time({"utc_time": when})),
            (pkcs7.OID_MESSAGE_DIGEST, hashlib.sha256(tst).digest()),
        ]
    )
    token_signer = _signer_info(tsa, attributes)
    token = _tlv(
        0x30,
        b"".join(
            [
                core.Integer(3).dump(),
                _tlv(0x31, algos.DigestAlgorithm({"algorithm": "sha256"}).dump()),
                _tlv(0x30, core.ObjectIdentifier(OID_TST_INFO).dump() + _tlv(0xA0, _tlv(0x04, tst))),
                _tlv(0xA0, b"".join(c.der for c in [tsa, *chain])),
                _tlv(0x31, token_signer.dump()),
            ]
        ),
    )
    info = _tlv(0x30, core.ObjectIdentifier(pkcs7.OID_SIGNED_DATA).dump() + _tlv(0xA0, token))
    attribute = parse(_tlv(0x30, core.ObjectIdentifier(pkcs7.OID_RFC3161).dump() + _tlv(0x31, info)))
    unsigned = _child(signer, -1)
    if unsigned.tag != 0xA1:
        unsigned = Node(0xA1, children=[])
        assert signer.children is not None
        signer.children.append(unsigned)
    assert unsigned.children is not None
    unsigned.children.insert(0, attribute)
    return encode(tree)


def seeds() -> Iterator[bytes]:
    """Every catalog unchanged (the lean reader must read each as asn1crypto does), then each built one
    with one or two mutations of every kind."""
    import random

    built, real = catalogs()
    yield from (bytes([number]) for number in range(len(built)))
    yield from (bytes([0x80 + number]) for number in range(len(real)))
    draw = random.Random(1)
    for kind in range(13):
        yield bytes([draw.randrange(len(built)), kind, *draw.randbytes(30)])


if __name__ == "__main__":
    _judge("lean"), _judge("asn1crypto")  # the bundled roots take seconds under instrumentation: not in the first input's time
    fuzz(check, LIMITS)
