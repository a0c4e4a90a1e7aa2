"""Windows catalog files (.cat): PKCS#7 SignedData around a Certificate Trust List.

Parsed with asn1crypto, chosen over signify and cryptography's PKCS#7 API
because it parses lazily (only the parts asked for are decoded, the cheapest
way through 20,000 catalogs), tolerates the odd encodings of old Microsoft
certificates, exposes unsigned attributes (both timestamp kinds) and imports
no native crypto library at load time (signify pulls in oscrypto, which fails
against OpenSSL 3.0.1x). The PKCS#7 envelope is declared below with only the
fields imgscan reads and attribute values left as `Any`: asn1crypto's full
`cms` classes resolve a spec for every attribute and choice, which made them
1.7x slower on the catalog benchmark. Signatures are checked with
`cryptography` via `certs.verify_signature`.

What is extracted per catalog: signer certificate and the embedded chain,
digest algorithm, signing time, timestamp kind (none, Authenticode
countersignature 1.2.840.113549.1.9.6, RFC 3161 1.3.6.1.4.1.311.3.3.1) with
its time and TSA certificate, CTL thisUpdate and member count, and whether the
signature and the timestamp actually verify.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos, core, tsp, x509

from imgscan.certs import Cert, CertCache, verify_signature

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_COUNTERSIGNATURE = "1.2.840.113549.1.9.6"
OID_RFC3161 = "1.3.6.1.4.1.311.3.3.1"
OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
SPC_INDIRECT_DATA_OID = core.ObjectIdentifier(OID_SPC_INDIRECT_DATA).contents  # its encoded form
OID_NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"


class CatalogError(Exception):
    """The file is not a readable catalog; `str()` says why in one line."""


# what asn1crypto raises on malformed DER while it decodes lazily; the parsers turn these into CatalogError
MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class _AnySet(core.SetOf):
    _child_spec = core.Any


class _Attribute(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("values", _AnySet)]


class _Attributes(core.SetOf):
    _child_spec = _Attribute


class _TrustedSubject(core.Sequence):
    _fields = [("identifier", core.OctetString), ("attributes", _Attributes, {"optional": True})]


class _TrustedSubjects(core.SequenceOf):
    _child_spec = _TrustedSubject


class _DigestInfo(core.Sequence):
    _fields = [("algorithm", algos.DigestAlgorithm), ("digest", core.OctetString)]


class _SpcIndirectData(core.Sequence):
    _fields = [("data", core.Any), ("message_digest", _DigestInfo)]


class _Algorithm(core.Sequence):
    _fields = [("algorithm", algos.DigestAlgorithmId), ("parameters", core.Any, {"optional": True})]


class _IssuerSerial(core.Sequence):
    _fields = [("issuer", core.Any), ("serial", core.Integer)]


class _SignerInfo(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("sid", core.Any),  # issuerAndSerialNumber, or [0] subjectKeyIdentifier
        ("digest_algorithm", _Algorithm),
        ("signed_attrs", _Attributes, {"implicit": 0, "optional": True}),
        ("signature_algorithm", core.Any),
        ("signature", core.OctetString),
        ("unsigned_attrs", _Attributes, {"implicit": 1, "optional": True}),
    ]


class _SignerInfos(core.SetOf):
    _child_spec = _SignerInfo


class _AnyList(core.SetOf):
    _child_spec = core.Any


class _EncapsulatedContent(core.Sequence):
    _fields = [("content_type", core.ObjectIdentifier), ("content", core.Any, {"explicit": 0, "optional": True})]


class _SignedData(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("digest_algorithms", core.Any),
        ("encap", _EncapsulatedContent),
        ("certificates", _AnyList, {"implicit": 0, "optional": True}),
        ("crls", _AnyList, {"implicit": 1, "optional": True}),
        ("signer_infos", _SignerInfos),
    ]


class _ContentInfo(core.Sequence):
    _fields = [("content_type", core.ObjectIdentifier), ("content", _SignedData, {"explicit": 0})]


class _SubjectUsage(core.SequenceOf):
    _child_spec = core.ObjectIdentifier


class CertificateTrustList(core.Sequence):
    """CTL as in wincrypt.h; version, listIdentifier and sequenceNumber are optional, so
    asn1crypto matches fields by tag."""

    _fields = [
        ("version", core.Integer, {"optional": True}),
        ("subject_usage", _SubjectUsage),
        ("list_identifier", core.OctetString, {"optional": True}),
        ("sequence_number", core.Integer, {"optional": True}),
        ("this_update", x509.Time),
        ("next_update", x509.Time, {"optional": True}),
        ("subject_algorithm", core.Any),
        ("trusted_subjects", _TrustedSubjects, {"optional": True}),
        ("extensions", core.Any, {"explicit": 0, "optional": True}),
    ]


@dataclass(frozen=True)
class Timestamp:
    kind: str  # "authenticode" (countersignature) or "rfc3161"
    time: datetime | None
    signer: Cert | None  # the TSA certificate
    certificates: tuple[Cert, ...]  # certificates available to build the TSA chain
    problem: str | None  # why the timestamp does not verify, or None


@dataclass(frozen=True)
class Catalog:
    path: str
    sha256: str
    signed: bool
    digest_algorithm: str | None
    signer: Cert | None
    certificates: tuple[Cert, ...]
    signing_time: datetime | None
    timestamp: Timestamp | None
    this_update: datetime | None
    member_count: int
    problem: str | None  # why the catalog's own signature does not verify, or None
    # dual signing: the signatures nested in the primary's unsigned attribute 1.3.6.1.4.1.311.2.4.1,
    # each a Catalog of its own (same CTL, own signer, timestamp and problem); empty for most catalogs
    nested: tuple[Catalog, ...] = ()
    notes: tuple[str, ...] = ()  # parts that could not be read (e.g. a truncated nested signature)
    members: frozenset[bytes] | None = None  # member file hashes, when asked for (parse_catalog members=True)


def parse_catalog(path: str, data: bytes, cache: CertCache, *, members: bool = False) -> Catalog:
    """Parse and verify one catalog; raises CatalogError for a file that is not a readable catalog.
    `members`: also collect the file hashes it vouches for (from the same parse; CBS package catalogs)."""
    try:
        return _parse(path, data, cache, members)
    except CatalogError:
        raise
    except MALFORMED as exc:
        raise CatalogError(f"malformed ASN.1: {exc}".splitlines()[0]) from exc


def _signed_data(data: bytes, content_type: str, what: str) -> _SignedData:
    """The SignedData of a PKCS#7 ContentInfo whose signed content is of `content_type` (`what`, in words)."""
    if not data.startswith(b"\x30"):
        raise CatalogError("not DER-encoded PKCS#7 (does not start with a SEQUENCE)")
    info = _ContentInfo.load(data, strict=False)
    if info["content_type"].dotted != OID_SIGNED_DATA:
        raise CatalogError(f"not PKCS#7 SignedData (content type {info['content_type'].dotted})")
    signed = info["content"]
    if signed["encap"]["content_type"].dotted != content_type:
        raise CatalogError(f"not {what}: signed content is {signed['encap']['content_type'].dotted}")
    return signed


def _parse(path: str, data: bytes, cache: CertCache, members: bool) -> Catalog:
    signed = _signed_data(data, OID_CTL, "a catalog (a CTL)")
    ctl = signed["encap"]["content"].parse(spec=CertificateTrustList)
    subjects = ctl["trusted_subjects"]
    base = dict(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        this_update=ctl["this_update"].native,
        member_count=0 if isinstance(subjects, core.Void) else len(subjects),
        members=_member_digests(subjects) if members else None,
    )
    return _signature(signed, ctl.contents, cache, base, nested=True)


def parse_indirect_data(path: str, data: bytes, cache: CertCache) -> tuple[Catalog, str, bytes]:
    """The Authenticode signature of a signed file (a PE's WIN_CERTIFICATE): the signature judged like a
    catalog's, the digest algorithm and the digest of the file it vouches for (SpcIndirectDataContent).
    Raises CatalogError for a blob that is not such a signature."""
    try:
        signed = _signed_data(data, OID_SPC_INDIRECT_DATA, "an Authenticode signature")
        indirect = signed["encap"]["content"].parse(spec=_SpcIndirectData)
        digest = indirect["message_digest"]
        base = dict(path=path, sha256=hashlib.sha256(data).hexdigest(), this_update=None, member_count=0, members=None)
        signature = _signature(signed, indirect.contents, cache, base, nested=True)
        return signature, digest["algorithm"]["algorithm"].native, digest["digest"].native
    except CatalogError:
        raise
    except MALFORMED as exc:
        raise CatalogError(f"malformed ASN.1: {exc}".splitlines()[0]) from exc


def _signature(signed: _SignedData, content: bytes, cache: CertCache, base: dict, *, nested: bool) -> Catalog:
    """The first SignerInfo of `signed` over the CTL `content` (its contents octets, which the
    messageDigest covers), and with `nested` the signatures nested in it (dual signing)."""
    certificates = _certificates(signed, cache)
    if not len(signed["signer_infos"]):
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
    signer_info = signed["signer_infos"][0]
    signer = _find_cert(signer_info["sid"], certificates)
    attributes = _AttributeMap(signer_info["signed_attrs"])
    problem = _verify(signer_info, attributes, signer, content) if signer else "signer certificate is not in the catalog"
    inner, notes = _nested(signer_info, content, cache, base) if nested else ((), ())
    return Catalog(
        signed=True,
        digest_algorithm=signer_info["digest_algorithm"]["algorithm"].native,
        signer=signer,
        certificates=certificates,
        signing_time=_time(attributes.get(OID_SIGNING_TIME)),
        timestamp=_timestamp(signer_info, certificates, cache),
        problem=problem,
        nested=inner,
        notes=notes,
        **base,
    )


def _nested(
    signer_info: _SignerInfo, content: bytes, cache: CertCache, base: dict
) -> tuple[tuple[Catalog, ...], tuple[str, ...]]:
    """Nested signatures (szOID_NESTED_SIGNATURE): each value is a whole PKCS#7 SignedData over the
    same CTL. One that cannot be read becomes a note; the others and the primary still count."""
    unsigned = signer_info["unsigned_attrs"]
    found: list[Catalog] = []
    notes: list[str] = []
    for attribute in [] if isinstance(unsigned, core.Void) else unsigned:
        if attribute["type"].dotted != OID_NESTED_SIGNATURE:
            continue
        for number, value in enumerate(attribute["values"], len(found) + len(notes) + 2):
            try:
                info = _ContentInfo.load(value.dump(), strict=False)
                if info["content_type"].dotted != OID_SIGNED_DATA:
                    raise CatalogError(f"content type {info['content_type'].dotted}, not SignedData")
                found.append(_signature(info["content"], content, cache, base, nested=False))
            except (CatalogError, *MALFORMED) as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                notes.append(f"nested signature {number} cannot be read, nor any after it: {why}")
                break  # garbage can decode as thousands of bogus values: one note, not one per value
    return tuple(found), tuple(notes)


def _certificates(signed: _SignedData, cache: CertCache) -> tuple[Cert, ...]:
    ders = (c.dump() for c in signed["certificates"] or [])
    return tuple(cache.get(der) for der in ders if der[:1] == b"\x30")  # skip attribute/other certificate choices


def _member_digests(subjects: _TrustedSubjects | core.Void) -> frozenset[bytes]:
    """The file hashes a catalog vouches for (from each member's SPC indirect data attribute), used to
    check that a package's .mum is really covered by its .cat.

    A package catalog lists up to thousands of members; walking them as asn1crypto objects was half
    the cost of a catalog, so the DER is walked here with a minimal reader. A member list in another
    shape (BER's indefinite lengths, an element of another type, an OID not in minimal form) is read
    by asn1crypto instead, so both readers always agree (fuzz/fuzz_der.py checks it). Raises one of
    MALFORMED when asn1crypto cannot read the list either."""
    if isinstance(subjects, core.Void):
        return frozenset()
    try:
        return frozenset(_indirect_digests(subjects.contents))
    except _NotPlainDer:
        return _member_digests_asn1(subjects)


class _NotPlainDer(Exception):
    """The member list is not in the plain DER shape the fast reader handles."""


SEQUENCE, SET, OCTET_STRING, OID = 0x30, 0x31, 0x04, 0x06
_NOT_MINIMAL_ARC = re.compile(rb"(?:^|[\x00-\x7f])\x80")  # an OID arc padded with a leading 0x80 byte


def _tlvs(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(tag byte, first content byte, end of content) of each element between start and end."""
    pointer = start
    while pointer < end:
        if pointer + 2 > end or data[pointer] & 0x1F == 0x1F:
            raise _NotPlainDer
        tag, length = data[pointer], data[pointer + 1]
        pointer += 2
        if length & 0x80:
            size = length & 0x7F
            if not 0 < size <= 4 or pointer + size > end:
                raise _NotPlainDer
            length = int.from_bytes(data[pointer : pointer + size], "big")
            pointer += size
        if pointer + length > end:
            raise _NotPlainDer
        yield tag, pointer, pointer + length
        pointer += length


def _parts(data: bytes, start: int, end: int, tags: tuple[int | None, ...]) -> list[tuple[int, int]]:
    """(first content byte, end of content) of the elements between start and end, which must be
    exactly one of each tag in `tags` (None: any), in that order."""
    parts = list(_tlvs(data, start, end))
    if len(parts) != len(tags):
        raise _NotPlainDer
    if any(expected is not None and tag != expected for (tag, _, _), expected in zip(parts, tags, strict=True)):
        raise _NotPlainDer
    return [(first, last) for _, first, last in parts]


def _each(data: bytes, start: int, end: int, tag: int) -> Iterator[tuple[int, int]]:
    """(first content byte, end of content) of each element between start and end, all of type `tag`."""
    for found, first, last in _tlvs(data, start, end):
        if found != tag:
            raise _NotPlainDer
        yield first, last


def _indirect_digests(data: bytes) -> Iterator[bytes]:
    """TrustedSubject { identifier, SET OF Attribute { type, SET OF SpcIndirectDataContent { data,
    DigestInfo { algorithm, digest } } } }: every digest. Raises _NotPlainDer at the first element
    that is not in exactly that shape (asn1crypto then reads the list, or says it is malformed)."""
    for subject, subject_end in _each(data, 0, len(data), SEQUENCE):
        parts = list(_tlvs(data, subject, subject_end))
        if not parts or parts[0][0] != OCTET_STRING or len(parts) > 2 or (len(parts) == 2 and parts[1][0] != SET):
            raise _NotPlainDer
        if len(parts) == 1:
            continue
        _, attributes, attributes_end = parts[1]
        for attribute, attribute_end in _each(data, attributes, attributes_end, SEQUENCE):
            (oid, oid_end), (values, values_end) = _parts(data, attribute, attribute_end, (OID, SET))
            if data[oid:oid_end] != SPC_INDIRECT_DATA_OID:
                if _NOT_MINIMAL_ARC.search(data, oid, oid_end):
                    raise _NotPlainDer  # it could still be the SPC OID, spelled another way
                continue
            for value, value_end in _each(data, values, values_end, SEQUENCE):
                _, (digest_info, info_end) = _parts(data, value, value_end, (None, SEQUENCE))
                _, (digest, digest_end) = _parts(data, digest_info, info_end, (SEQUENCE, OCTET_STRING))
                yield data[digest:digest_end]


def _member_digests_asn1(subjects: _TrustedSubjects) -> frozenset[bytes]:
    digests: set[bytes] = set()
    for subject in subjects:
        attributes = subject["attributes"]
        for attribute in [] if isinstance(attributes, core.Void) else attributes:
            if attribute["type"].dotted == OID_SPC_INDIRECT_DATA:
                for value in attribute["values"]:
                    digests.add(_SpcIndirectData.load(value.dump())["message_digest"]["digest"].native)
    return frozenset(digests)


class _AttributeMap:
    """A signer's attributes by OID, matched on the encoded OID and parsed only when read (hot path)."""

    def __init__(self, attributes: _Attributes | core.Void) -> None:
        self._by_oid = {} if isinstance(attributes, core.Void) else {a["type"].contents: a for a in attributes}

    def __bool__(self) -> bool:
        return bool(self._by_oid)

    def get(self, oid: str) -> core.Any | None:
        attribute = self._by_oid.get(_encoded(oid))
        return attribute["values"][0] if attribute is not None and len(attribute["values"]) else None


@functools.cache
def _encoded(oid: str) -> bytes:
    return core.ObjectIdentifier(oid).contents


def _time(value: core.Any | None) -> datetime | None:
    if value is None:
        return None
    encoded = value.dump()
    return (core.UTCTime if encoded[:1] == b"\x17" else core.GeneralizedTime).load(encoded).native


def _find_cert(sid: core.Any, certificates: tuple[Cert, ...]) -> Cert | None:
    encoded = sid.dump()
    if encoded[:1] == b"\x30":  # issuerAndSerialNumber
        issuer_serial = _IssuerSerial.load(encoded)
        issuer, serial = issuer_serial["issuer"].dump(), issuer_serial["serial"].native
        return next((c for c in certificates if c.serial == serial and c.issuer_der == issuer), None)
    key_id = core.OctetString.load(b"\x04" + encoded[1:]).native  # [0] IMPLICIT subjectKeyIdentifier
    return next((c for c in certificates if c.key_id == key_id), None)


def _verify(
    signer_info: _SignerInfo, attributes: _AttributeMap, cert: Cert, content: bytes, *, countersignature: bool = False
) -> str | None:
    """None when `signer_info` is a valid signature by `cert` over `content`, else the reason.

    `countersignature`: also accept the bare-digest RSA block of legacy time-stamping services
    (see `certs.verify_signature`).
    """
    digest = signer_info["digest_algorithm"]["algorithm"].native
    if not attributes:
        return "signature has no signed attributes"
    expected = attributes.get(OID_MESSAGE_DIGEST)
    if expected is None or expected.contents != hashlib.new(digest, content).digest():
        return "content digest does not match the signed messageDigest (TRUST_E_BAD_DIGEST)"
    signed_bytes = b"\x31" + signer_info["signed_attrs"].dump()[1:]  # signed over as SET OF, stored as [0] IMPLICIT
    spki = cert.parsed["tbs_certificate"]["subject_public_key_info"].dump()
    signature = signer_info["signature"].native
    if not verify_signature(spki, signature, signed_bytes, digest, bare_digest_ok=countersignature):
        return "signature does not verify with the signer certificate's key"
    return None


def _timestamp(signer_info: _SignerInfo, certificates: tuple[Cert, ...], cache: CertCache) -> Timestamp | None:
    signature = signer_info["signature"].native
    unsigned = _AttributeMap(signer_info["unsigned_attrs"])
    if (countersignature := unsigned.get(OID_COUNTERSIGNATURE)) is not None:
        counter = _SignerInfo.load(countersignature.dump())
        attributes = _AttributeMap(counter["signed_attrs"])
        tsa = _find_cert(counter["sid"], certificates)
        problem = (
            _verify(counter, attributes, tsa, signature, countersignature=True)
            if tsa
            else "timestamp signer certificate is not in the catalog"
        )
        return Timestamp("authenticode", _time(attributes.get(OID_SIGNING_TIME)), tsa, certificates, problem)
    if (token := unsigned.get(OID_RFC3161)) is not None:
        return _rfc3161(_ContentInfo.load(token.dump()), signature, certificates, cache)
    return None


def _rfc3161(token: _ContentInfo, signature: bytes, outer: tuple[Cert, ...], cache: CertCache) -> Timestamp:
    signed = token["content"]
    certificates = _certificates(signed, cache) + outer
    tst_bytes = signed["encap"]["content"].contents  # the TSTInfo inside its OCTET STRING
    tst = tsp.TSTInfo.load(tst_bytes)
    imprint = tst["message_imprint"]
    signer_info = signed["signer_infos"][0]
    tsa = _find_cert(signer_info["sid"], certificates)
    if imprint["hashed_message"].native != hashlib.new(imprint["hash_algorithm"]["algorithm"].native, signature).digest():
        problem: str | None = "timestamp does not cover this signature (message imprint differs)"
    elif tsa is None:
        problem = "timestamp signer certificate is not in the token"
    else:
        problem = _verify(signer_info, _AttributeMap(signer_info["signed_attrs"]), tsa, tst_bytes)
    return Timestamp("rfc3161", tst["gen_time"].native, tsa, certificates, problem)
