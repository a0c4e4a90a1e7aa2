"""Windows catalog files (.cat): PKCS#7 SignedData around a Certificate Trust List.

Parsed with asn1crypto, chosen over signify and cryptography's PKCS#7 API
because it parses lazily (only the parts asked for are decoded, the cheapest
way through 20,000 catalogs), tolerates the odd encodings of old Microsoft
certificates, exposes unsigned attributes (both timestamp kinds) and imports
no native crypto library at load time (signify pulls in oscrypto, which fails
against OpenSSL 3.0.1x). Signatures are checked with `cryptography` via
`certs.verify_signature`.

What is extracted per catalog: signer certificate and the embedded chain,
digest algorithm, signing time, timestamp kind (none, Authenticode
countersignature 1.2.840.113549.1.9.6, RFC 3161 1.3.6.1.4.1.311.3.3.1) with
its time and TSA certificate, CTL thisUpdate and member count, and whether the
signature and the timestamp actually verify.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos, cms, core, tsp, x509

from imgscan.certs import Cert, CertCache, verify_signature

OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_COUNTERSIGNATURE = "1.2.840.113549.1.9.6"
OID_RFC3161 = "1.3.6.1.4.1.311.3.3.1"
OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"


class CatalogError(Exception):
    """The file is not a readable catalog; `str()` says why in one line."""


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

    @property
    def timestamp_kind(self) -> str:
        return self.timestamp.kind if self.timestamp else "none"


def parse_catalog(path: str, data: bytes, cache: CertCache) -> Catalog:
    """Parse and verify one catalog; raises CatalogError for a file that is not a readable catalog."""
    try:
        return _parse(path, data, cache)
    except CatalogError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise CatalogError(f"malformed ASN.1: {exc}".splitlines()[0]) from exc


def _parse(path: str, data: bytes, cache: CertCache) -> Catalog:
    if not data.startswith(b"\x30"):
        raise CatalogError("not DER-encoded PKCS#7 (does not start with a SEQUENCE)")
    info = cms.ContentInfo.load(data, strict=False)
    if info["content_type"].dotted != "1.2.840.113549.1.7.2":
        raise CatalogError(f"not PKCS#7 SignedData (content type {info['content_type'].dotted})")
    signed = info["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != OID_CTL:
        raise CatalogError(f"not a catalog: signed content is {encap['content_type'].dotted}, not a CTL")
    ctl = encap["content"].parse(spec=CertificateTrustList)
    ctl_bytes = ctl.contents  # the signature's messageDigest covers the contents octets, not the tag
    this_update = ctl["this_update"].native
    subjects = ctl["trusted_subjects"]
    member_count = 0 if isinstance(subjects, core.Void) else len(subjects)
    certificates = tuple(cache.get(c.chosen.dump()) for c in signed["certificates"] or [] if c.name == "certificate")
    base = dict(path=path, sha256=hashlib.sha256(data).hexdigest(), certificates=certificates,
                this_update=this_update, member_count=member_count)

    signer_infos = signed["signer_infos"]
    if not len(signer_infos):
        return Catalog(signed=False, digest_algorithm=None, signer=None, signing_time=None, timestamp=None,
                       problem=None, **base)
    signer_info = signer_infos[0]
    signer = _find_cert(signer_info["sid"], certificates)
    digest = signer_info["digest_algorithm"]["algorithm"].native
    problem = _verify(signer_info, signer, ctl_bytes) if signer else "signer certificate is not in the catalog"
    return Catalog(
        signed=True,
        digest_algorithm=digest,
        signer=signer,
        signing_time=_attribute(signer_info["signed_attrs"], OID_SIGNING_TIME),
        timestamp=_timestamp(signer_info, certificates, cache),
        problem=problem,
        **base,
    )


def member_digests(data: bytes) -> set[bytes]:
    """The file hashes a catalog vouches for (from each member's SPC indirect data attribute).

    Used to check that a package's .mum is really covered by its .cat.
    """
    info = cms.ContentInfo.load(data, strict=False)
    ctl = info["content"]["encap_content_info"]["content"].parse(spec=CertificateTrustList)
    digests: set[bytes] = set()
    subjects = ctl["trusted_subjects"]
    for subject in [] if isinstance(subjects, core.Void) else subjects:
        attributes = subject["attributes"]
        for attribute in [] if isinstance(attributes, core.Void) else attributes:
            if attribute["type"].dotted == OID_SPC_INDIRECT_DATA:
                for value in attribute["values"]:
                    digests.add(_SpcIndirectData.load(value.dump())["message_digest"]["digest"].native)
    return digests


def _find_cert(sid: cms.SignerIdentifier, certificates: tuple[Cert, ...]) -> Cert | None:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        return next((c for c in certificates if c.serial == serial and c.issuer_der == issuer), None)
    key_id = sid.chosen.native
    return next((c for c in certificates if c.key_id == key_id), None)


def _attribute(attributes: cms.CMSAttributes, oid: str) -> object:
    for attribute in attributes or []:
        if attribute["type"].dotted == oid:
            return attribute["values"][0].native
    return None


def _verify(signer_info: cms.SignerInfo, cert: Cert, content: bytes) -> str | None:
    """None when `signer_info` is a valid signature by `cert` over `content`, else the reason."""
    digest = signer_info["digest_algorithm"]["algorithm"].native
    attributes = signer_info["signed_attrs"]
    if not len(attributes):
        return "signature has no signed attributes"
    expected = _attribute(attributes, OID_MESSAGE_DIGEST)
    if expected != hashlib.new(digest, content).digest():
        return "content digest does not match the signed messageDigest (TRUST_E_BAD_DIGEST)"
    signed_bytes = b"\x31" + attributes.dump()[1:]  # signed over as SET OF, stored as [0] IMPLICIT
    spki = cert.parsed["tbs_certificate"]["subject_public_key_info"].dump()
    if not verify_signature(spki, signer_info["signature"].native, signed_bytes, digest):
        return "signature does not verify with the signer certificate's key"
    return None


def _timestamp(signer_info: cms.SignerInfo, certificates: tuple[Cert, ...], cache: CertCache) -> Timestamp | None:
    signature = signer_info["signature"].native
    for attribute in signer_info["unsigned_attrs"] or []:
        oid = attribute["type"].dotted
        if oid == OID_COUNTERSIGNATURE:
            counter = attribute["values"][0]
            if not isinstance(counter, cms.SignerInfo):
                counter = cms.SignerInfo.load(counter.dump())
            tsa = _find_cert(counter["sid"], certificates)
            problem = _verify(counter, tsa, signature) if tsa else "timestamp signer certificate is not in the catalog"
            return Timestamp("authenticode", _attribute(counter["signed_attrs"], OID_SIGNING_TIME), tsa, certificates, problem)
        if oid == OID_RFC3161:
            token = attribute["values"][0]
            if not isinstance(token, cms.ContentInfo):
                token = cms.ContentInfo.load(token.dump())
            return _rfc3161(token, signature, certificates, cache)
    return None


def _rfc3161(token: cms.ContentInfo, signature: bytes, outer: tuple[Cert, ...], cache: CertCache) -> Timestamp:
    signed = token["content"]
    token_certs = tuple(cache.get(c.chosen.dump()) for c in signed["certificates"] or [] if c.name == "certificate")
    certificates = token_certs + outer
    encap = signed["encap_content_info"]
    tst_bytes = encap["content"].contents
    tst = tsp.TSTInfo.load(tst_bytes)
    imprint = tst["message_imprint"]
    problem = None
    if imprint["hashed_message"].native != hashlib.new(imprint["hash_algorithm"]["algorithm"].native, signature).digest():
        problem = "timestamp does not cover this signature (message imprint differs)"
    tsa = _find_cert(signed["signer_infos"][0]["sid"], certificates)
    if tsa is None:
        problem = problem or "timestamp signer certificate is not in the token"
    elif problem is None:
        problem = _verify(signed["signer_infos"][0], tsa, tst_bytes)
    return Timestamp("rfc3161", tst["gen_time"].native, tsa, certificates, problem)
