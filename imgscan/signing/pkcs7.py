# mypy: disallow-subclassing-any=False
# (asn1crypto ships no type information: its spec classes are Any to mypy, and these declarations are
# exactly subclasses of them; nothing else in this module is exempt from --strict)
"""The PKCS#7 envelope of catalogs and Authenticode signatures, and the Certificate Trust List inside a
catalog, declared as asn1crypto specs with only the fields imgscan reads and attribute values left as
`Any`: asn1crypto's full `cms` classes resolve a spec for every attribute and choice, which made them 1.7x
slower on the catalog benchmark. `AttributeMap` reads a signer's attributes by OID without parsing the
others."""

from __future__ import annotations

import functools

from asn1crypto import algos, core, x509

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_COUNTERSIGNATURE = "1.2.840.113549.1.9.6"
OID_RFC3161 = "1.3.6.1.4.1.311.3.3.1"
OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
SPC_INDIRECT_DATA_OID = core.ObjectIdentifier(OID_SPC_INDIRECT_DATA).contents  # its encoded form
OID_NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"

# what asn1crypto raises on malformed DER while it decodes lazily; the parsers turn these into CatalogError
MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class _AnySet(core.SetOf):
    _child_spec = core.Any


class _Attribute(core.Sequence):
    _fields = [("type", core.ObjectIdentifier), ("values", _AnySet)]


class Attributes(core.SetOf):
    _child_spec = _Attribute


class _TrustedSubject(core.Sequence):
    _fields = [("identifier", core.OctetString), ("attributes", Attributes, {"optional": True})]


class TrustedSubjects(core.SequenceOf):
    _child_spec = _TrustedSubject


class _DigestInfo(core.Sequence):
    _fields = [("algorithm", algos.DigestAlgorithm), ("digest", core.OctetString)]


class SpcIndirectData(core.Sequence):
    _fields = [("data", core.Any), ("message_digest", _DigestInfo)]


class _Algorithm(core.Sequence):
    _fields = [("algorithm", algos.DigestAlgorithmId), ("parameters", core.Any, {"optional": True})]


class IssuerSerial(core.Sequence):
    _fields = [("issuer", core.Any), ("serial", core.Integer)]


class SignerIdentifier(core.Choice):
    """RFC 5652 5.3: a typed choice, because asn1crypto cannot re-read an untyped context-class [0]."""

    _alternatives = [
        ("issuer_and_serial_number", IssuerSerial),
        ("subject_key_identifier", core.OctetString, {"implicit": 0}),
    ]


class SignerInfo(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("sid", SignerIdentifier),
        ("digest_algorithm", _Algorithm),
        ("signed_attrs", Attributes, {"implicit": 0, "optional": True}),
        ("signature_algorithm", core.Any),
        ("signature", core.OctetString),
        ("unsigned_attrs", Attributes, {"implicit": 1, "optional": True}),
    ]


class _SignerInfos(core.SetOf):
    _child_spec = SignerInfo


class _AnyList(core.SetOf):
    _child_spec = core.Any


class _EncapsulatedContent(core.Sequence):
    _fields = [("content_type", core.ObjectIdentifier), ("content", core.Any, {"explicit": 0, "optional": True})]


class SignedData(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("digest_algorithms", core.Any),
        ("encap", _EncapsulatedContent),
        ("certificates", _AnyList, {"implicit": 0, "optional": True}),
        ("crls", _AnyList, {"implicit": 1, "optional": True}),
        ("signer_infos", _SignerInfos),
    ]


class ContentInfo(core.Sequence):
    _fields = [("content_type", core.ObjectIdentifier), ("content", SignedData, {"explicit": 0})]


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
        ("trusted_subjects", TrustedSubjects, {"optional": True}),
        ("extensions", core.Any, {"explicit": 0, "optional": True}),
    ]


class AttributeMap:
    """A signer's attributes by OID, matched on the encoded OID and parsed only when read (hot path)."""

    def __init__(self, attributes: Attributes | core.Void) -> None:
        self._by_oid = {} if isinstance(attributes, core.Void) else {a["type"].contents: a for a in attributes}

    def __bool__(self) -> bool:
        return bool(self._by_oid)

    def get(self, oid: str) -> core.Any | None:
        attribute = self._by_oid.get(encoded_oid(oid))
        return attribute["values"][0] if attribute is not None and len(attribute["values"]) else None


@functools.cache
def encoded_oid(oid: str) -> bytes:
    """The contents octets of `oid` in DER, as attributes are matched on them (memoised)."""
    encoded: bytes = core.ObjectIdentifier(oid).contents
    return encoded
