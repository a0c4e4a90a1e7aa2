"""The catalog verdict path without asn1crypto objects, for catalogs in the plain DER shape signers write.

Building asn1crypto objects for the envelope, the signer, its attributes and the timestamp was most of a
catalog's cost (it made the catalog phase slower than a bare parse and two RSA checks). A verdict needs
only a few byte ranges: the CTL's contents (which the messageDigest covers), its thisUpdate and member
list, the embedded certificates, the first SignerInfo's identifier, digest algorithm, signed attributes
and signature, and the countersignature or RFC 3161 token in its unsigned attributes. This module slices
those out with the DER walker of `members` and builds the very `Catalog` the asn1crypto path builds,
certificates coming from the scan's `CertCache` (parsed once per scan, keyed by their bytes).

It reads only one shape: definite lengths, one-byte tags, every element of the type its field declares,
no element left over, the digest algorithms `certs.HASHES` names. Anything else (BER, an odd field, an
unknown algorithm, an element asn1crypto would reject, a nested signature it cannot read) is not its to
judge: `read` returns None and `catalog.parse_catalog` reads the file with asn1crypto, which stays the
reference (tests/test_lean_catalog.py and fuzz/fuzz_lean_catalog.py hold both to the same result).
"""

from __future__ import annotations

import hashlib
import weakref
from datetime import datetime, timezone
from typing import Any

from asn1crypto import algos, core

from imgscan.signing import der_elements as der
from imgscan.signing.catalog_record import Catalog, Timestamp
from imgscan.signing.certs import HASHES, Cert, CertCache, verify_signature
from imgscan.signing.der_elements import (
    ANY,
    BOOLEAN,
    CONTEXT_0,
    CONTEXT_1,
    GENERALIZED_TIME,
    INTEGER,
    KEY_ID,
    OCTET_STRING,
    OID,
    SEQUENCE,
    SET,
    UTC_TIME,
    Element,
)
from imgscan.signing.members import NotPlainDer, children, subject_digests
from imgscan.signing.pkcs7 import (
    MALFORMED,
    OID_COUNTERSIGNATURE,
    OID_CTL,
    OID_MESSAGE_DIGEST,
    OID_NESTED_SIGNATURE,
    OID_RFC3161,
    OID_SIGNED_DATA,
    OID_SIGNING_TIME,
    Attributes,
    encoded_oid,
)


class _Read:
    """The parts of one SignedData a signature's verdict needs, as ranges of the file's bytes."""

    def __init__(self, data: bytes, element: Element) -> None:
        version, _, encap, certificates, _, signers = der.fields(
            data, element, ((INTEGER, False), (SET, False), (SEQUENCE, False), (CONTEXT_0, True), (CONTEXT_1, True), (SET, False))
        )
        assert version and encap and signers
        self.encap_type, content = der.fields(data, encap, ((OID, False), (CONTEXT_0, True)))
        self.content = der.only(data, content) if content else None  # the encapsulated content itself
        # the Certificate choices; another (an attribute certificate, ...) is skipped, as the asn1crypto path
        # skips it once its `.dump()` has parsed it (which fails on some: then this reader declines)
        every = [der.dumped(data, e) for e in der.elements(data, certificates)] if certificates else []
        self.certificates = [e for e in every if e[0] == SEQUENCE]
        for other in (e for e in every if e[0] != SEQUENCE):
            der.dumped(data, other, always=True)
        self.signers = der.elements(data, signers)


def read(path: str, data: bytes, cache: CertCache, members: bool, sha256: str | None = None) -> Catalog | None:
    """The catalog `data` holds, exactly as `catalog.parse_catalog`'s asn1crypto path reads it; None when
    it is not in the shape this reader handles, or is malformed (the asn1crypto path then says how).
    `sha256`: of `data`, when the caller hashed it already (the scan hashes every catalog it reads)."""
    try:
        return _catalog(path, data, cache, members, sha256 or hashlib.sha256(data).hexdigest())
    except (NotPlainDer, *MALFORMED):
        return None


def _catalog(path: str, data: bytes, cache: CertCache, members: bool, sha256: str) -> Catalog:
    signed = _content_info(data, der.first(data))
    if signed.content is None or der.oid(data, signed.encap_type) != encoded_oid(OID_CTL) or signed.content[0] != SEQUENCE:
        raise NotPlainDer
    ctl = signed.content
    _, usage, _, _, this_update, _, algorithm, subjects, _ = der.fields(
        data,
        ctl,
        (
            (INTEGER, True),
            (SEQUENCE, False),
            (OCTET_STRING, True),
            (INTEGER, True),
            ((UTC_TIME, GENERALIZED_TIME), False),
            ((UTC_TIME, GENERALIZED_TIME), True),
            (SEQUENCE, False),
            (SEQUENCE, True),
            (CONTEXT_0, True),
        ),
    )
    assert usage and this_update and algorithm
    listed = children(data, subjects[2], subjects[3]) if subjects else []
    base: dict[str, Any] = dict(
        path=path,
        sha256=sha256,
        this_update=_time(data, this_update),
        member_count=len(listed),
        members=frozenset(subject_digests(data, listed)) if members else None,
    )
    content = memoryview(data)[ctl[2] : ctl[3]]
    return _signature(data, signed, content, cache, base, nested=True)


def _signature(
    data: bytes, signed: _Read, content: memoryview, cache: CertCache, base: dict[str, Any], *, nested: bool
) -> Catalog:
    """`catalog._signature` over these ranges: the first signer of `signed` over `content`, with `nested`
    the signatures nested in it."""

    certificates = _certificates(data, signed.certificates, cache)
    if not signed.signers:
        return Catalog(
            signed=False,
            digest_algorithm=None,
            signer=None,
            signing_time=None,
            timestamp=None,
            problem=None,
            certificates=certificates,
            **base,
        )
    signer = _Signer(data, signed.signers[0])
    cert = signer.find(certificates)
    problem = signer.verify(cert, content) if cert else "signer certificate is not in the catalog"
    return Catalog(
        signed=True,
        digest_algorithm=signer.digest,
        signer=cert,
        certificates=certificates,
        signing_time=_time(data, signer.signed.get(encoded_oid(OID_SIGNING_TIME))),
        timestamp=_timestamp(data, signer, certificates, cache),
        problem=problem,
        nested=_nested(data, signer, content, cache, base) if nested else (),
        notes=(),
        **base,
    )


class _Signer:
    """One SignerInfo: identifier, digest algorithm, attributes by encoded OID, signature."""

    def __init__(self, data: bytes, element: Element) -> None:
        if element[0] != SEQUENCE:
            raise NotPlainDer
        version, self.sid, algorithm, signed, _, signature, unsigned = der.fields(
            data,
            element,
            (
                (INTEGER, False),
                ((SEQUENCE, KEY_ID), False),
                (SEQUENCE, False),
                (CONTEXT_0, True),
                (SEQUENCE, False),
                (OCTET_STRING, False),
                (CONTEXT_1, True),
            ),
        )
        assert version and self.sid and algorithm and signature
        der.dumped(data, self.sid)  # the asn1crypto path finds the signer's certificate by the sid's dump
        self.data = data
        oid, *parameters = der.elements(data, algorithm)
        if oid[0] != OID or len(parameters) > 1:
            raise NotPlainDer
        self.digest = _DIGESTS.get(data[oid[2] : oid[3]])
        if self.digest is None:
            raise NotPlainDer  # asn1crypto names it, or fails on it: its path says which
        self.signed_range = der.dumped(data, signed, Attributes) if signed else None
        self.signed, _ = _attributes(data, signed)
        self.unsigned, self.unsigned_all = _attributes(data, unsigned)
        self.signature = data[signature[2] : signature[3]]

    def find(self, certificates: tuple[Cert, ...]) -> Cert | None:
        """`catalog._find_cert`: by issuer and serial number, or by subject key identifier."""
        data, sid = self.data, self.sid
        assert sid is not None
        if sid[0] == KEY_ID:
            key_id = data[sid[2] : sid[3]]
            return next((c for c in certificates if c.key_id == key_id), None)
        issuer, serial = der.fields(data, sid, ((ANY, False), (INTEGER, False)))
        assert issuer and serial
        if issuer[0] != SEQUENCE or serial[2] == serial[3]:
            raise NotPlainDer  # asn1crypto's dump of an issuer outside the universal class fails
        der.dumped(data, issuer)
        issuer_der = data[issuer[1] : issuer[3]]
        number = int.from_bytes(data[serial[2] : serial[3]], "big", signed=True)
        return next((c for c in certificates if c.serial == number and c.issuer_der == issuer_der), None)

    def verify(self, cert: Cert, content: bytes | memoryview, *, countersignature: bool = False) -> str | None:
        """`catalog._verify`: None when this is a valid signature by `cert` over `content`, else why."""
        assert self.digest is not None
        if not self.signed or self.signed_range is None:
            return "signature has no signed attributes"
        expected = self.signed.get(encoded_oid(OID_MESSAGE_DIGEST))
        if expected is None or self.data[expected[2] : expected[3]] != hashlib.new(self.digest, content).digest():
            return "content digest does not match the signed messageDigest (TRUST_E_BAD_DIGEST)"
        signed_bytes = b"\x31" + self.data[self.signed_range[1] + 1 : self.signed_range[3]]  # signed over as SET OF
        if not verify_signature(
            _public_key_info(cert), self.signature, signed_bytes, self.digest, bare_digest_ok=countersignature
        ):
            return "signature does not verify with the signer certificate's key"
        return None


def _timestamp(data: bytes, signer: _Signer, certificates: tuple[Cert, ...], cache: CertCache) -> Timestamp | None:

    if (countersignature := signer.unsigned.get(encoded_oid(OID_COUNTERSIGNATURE))) is not None:
        counter = _Signer(data, der.dumped(data, countersignature))
        tsa = counter.find(certificates)
        problem = (
            counter.verify(tsa, signer.signature, countersignature=True)
            if tsa
            else "timestamp signer certificate is not in the catalog"
        )
        return Timestamp(
            "authenticode", _time(data, counter.signed.get(encoded_oid(OID_SIGNING_TIME))), tsa, certificates, problem
        )
    if (token := signer.unsigned.get(encoded_oid(OID_RFC3161))) is not None:
        return _rfc3161(data, token, signer.signature, certificates, cache)
    return None


def _rfc3161(data: bytes, token: Element, signature: bytes, outer: tuple[Cert, ...], cache: CertCache) -> Timestamp:
    """`catalog._rfc3161` over these ranges."""

    signed = _content_info(data, der.dumped(data, token), any_type=True)
    if signed.content is None or signed.content[0] != OCTET_STRING or not signed.signers:
        raise NotPlainDer
    certificates = _certificates(data, signed.certificates, cache) + outer
    tst_bytes = data[signed.content[2] : signed.content[3]]
    digest, imprint, gen_time = _tst_info(tst_bytes)
    signer = _Signer(data, signed.signers[0])
    tsa = signer.find(certificates)
    if imprint != hashlib.new(digest, signature).digest():
        problem: str | None = "timestamp does not cover this signature (message imprint differs)"
    elif tsa is None:
        problem = "timestamp signer certificate is not in the token"
    else:
        problem = signer.verify(tsa, tst_bytes)
    return Timestamp("rfc3161", gen_time, tsa, certificates, problem)


def _tst_info(tst: bytes) -> tuple[str, bytes, datetime | None]:
    """(imprint digest algorithm, imprint, genTime) of an RFC 3161 TSTInfo (RFC 3161 2.4.2), the first
    element of `tst` as asn1crypto's lenient load reads it."""
    element = der.first(tst)
    if element[0] != SEQUENCE:
        raise NotPlainDer
    _, _, imprint, _, gen_time, *_ = der.fields(
        tst,
        element,
        (
            (INTEGER, False),
            (OID, False),
            (SEQUENCE, False),
            (INTEGER, False),
            (GENERALIZED_TIME, False),
            (SEQUENCE, True),  # accuracy
            (BOOLEAN, True),  # ordering
            (INTEGER, True),  # nonce
            (CONTEXT_0, True),  # tsa
            (CONTEXT_1, True),  # extensions
        ),
    )
    assert imprint is not None
    algorithm, hashed = der.fields(tst, imprint, ((SEQUENCE, False), (OCTET_STRING, False)))
    assert algorithm and hashed
    oid, *parameters = der.elements(tst, algorithm)
    digest = _DIGESTS.get(tst[oid[2] : oid[3]]) if oid[0] == OID and len(parameters) <= 1 else None
    if digest is None:
        raise NotPlainDer
    return digest, tst[hashed[2] : hashed[3]], _time(tst, gen_time)


def _nested(data: bytes, signer: _Signer, content: memoryview, cache: CertCache, base: dict[str, Any]) -> tuple[Catalog, ...]:
    """`catalog._nested`, for the catalogs whose nested signatures all read: one that does not (which the
    asn1crypto path notes) makes the whole catalog not this reader's."""
    found: list[Catalog] = []
    for oid, values in signer.unsigned_all:
        if oid == encoded_oid(OID_NESTED_SIGNATURE):
            for value in values:
                found.append(_signature(data, _content_info(data, der.dumped(data, value)), content, cache, base, nested=False))
    return tuple(found)


def _attributes(data: bytes, element: Element | None) -> tuple[dict[bytes, Element | None], list[tuple[bytes, list[Element]]]]:
    """Attributes by encoded OID, each its first value (None: no value), the last of a repeated OID
    winning as in `pkcs7.AttributeMap`; and all of them in order (nested signatures read every one)."""
    by_oid: dict[bytes, Element | None] = {}
    every: list[tuple[bytes, list[Element]]] = []
    for attribute in der.elements(data, element) if element else []:
        if attribute[0] != SEQUENCE:
            raise NotPlainDer
        oid, values = der.fields(data, attribute, ((OID, False), (SET, False)))
        assert oid and values
        each = der.elements(data, values)
        key = data[oid[2] : oid[3]]
        by_oid[key] = each[0] if each else None
        every.append((key, each))
    return by_oid, every


def _content_info(data: bytes, element: Element, *, any_type: bool = False) -> _Read:
    """The SignedData of a ContentInfo (`any_type`: whatever its content type says, as the asn1crypto
    path reads an RFC 3161 token)."""
    if element[0] != SEQUENCE:
        raise NotPlainDer
    kind, content = der.fields(data, element, ((OID, False), (CONTEXT_0, False)))
    assert kind and content
    if not any_type and der.oid(data, kind) != encoded_oid(OID_SIGNED_DATA):
        raise NotPlainDer
    signed = der.only(data, content)
    if signed[0] != SEQUENCE:
        raise NotPlainDer
    return _Read(data, signed)


def _certificates(data: bytes, elements: list[Element], cache: CertCache) -> tuple[Cert, ...]:
    return tuple(cache.get(data[e[1] : e[3]]) for e in elements)


def _time(data: bytes, element: Element | None) -> datetime | None:
    """`catalog._time` of the element's bytes."""
    if element is None:
        return None
    encoded = data[der.dumped(data, element)[1] : element[3]]
    moment: datetime = (
        _plain_time(encoded) or (core.UTCTime if encoded[:1] == b"\x17" else core.GeneralizedTime).load(encoded).native
    )
    return moment


def _plain_time(encoded: bytes) -> datetime | None:
    """A UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`, the forms catalogs and timestamps
    use, as asn1crypto's `.native` reads it (a two-digit year below 50 is 20YY, RFC 5280 4.1.2.5.1); None
    for any other form or an impossible date, which asn1crypto then reads or refuses. asn1crypto's own
    parse of a time was a tenth of a catalog's (bench/catalogs.py)."""
    if len(encoded) == 15 and encoded[:2] == b"\x17\x0d" and encoded[14] == 0x5A and encoded[2:14].isdigit():
        short = int(encoded[2:4])
        year, digits = short + (2000 if short < 50 else 1900), encoded[4:14]
    elif len(encoded) == 17 and encoded[:2] == b"\x18\x0f" and encoded[16] == 0x5A and encoded[2:16].isdigit():
        year, digits = int(encoded[2:6]), encoded[6:16]
    else:
        return None
    month, day, hour, minute, second = (int(digits[n : n + 2]) for n in range(0, 10, 2))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # year 0, a 13th month, a 60th second...: asn1crypto's reading decides
        return None


# the digest algorithms this reader takes, by encoded OID, named as asn1crypto names them
_DIGESTS: dict[bytes, str] = {
    core.ObjectIdentifier(dotted).contents: name for dotted, name in algos.DigestAlgorithmId._map.items() if name in HASHES
}

_KEY_INFO: weakref.WeakKeyDictionary[Cert, bytes] = weakref.WeakKeyDictionary()


def _public_key_info(cert: Cert) -> bytes:
    """The certificate's SubjectPublicKeyInfo DER, read once per certificate."""
    found = _KEY_INFO.get(cert)
    if found is None:
        found = bytes(cert.parsed["tbs_certificate"]["subject_public_key_info"].dump())
        _KEY_INFO[cert] = found
    return found
