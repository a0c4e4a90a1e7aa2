"""Write signed Windows catalogs (.cat): PKCS#7 SignedData around a CTL of file hashes.

The layout copies real Microsoft catalogs (subjectUsage 1.3.6.1.4.1.311.12.1.1,
members keyed by their hash with an SPC indirect data attribute, signed
attributes contentType/statement type/messageDigest), signed with the test PKI,
and optionally timestamped by an Authenticode countersignature
(1.2.840.113549.1.9.6) carrying a signingTime. osslsigncode verifies these
files in the tests, independently of imgscan.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos, cms, core, x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sample_images.pki import Identity

OID_CTL = "1.3.6.1.4.1.311.10.1"
OID_CATALOG_LIST = "1.3.6.1.4.1.311.12.1.1"
OID_CATALOG_MEMBER_SHA256 = "1.3.6.1.4.1.311.12.1.3"
OID_SPC_INDIRECT_DATA = "1.3.6.1.4.1.311.2.1.4"
OID_SPC_CAB_DATA = "1.3.6.1.4.1.311.2.1.25"
OID_SPC_PE_IMAGE_DATA = "1.3.6.1.4.1.311.2.1.15"
OID_SPC_STATEMENT_TYPE = "1.3.6.1.4.1.311.2.1.11"
OID_INDIVIDUAL_CODE_SIGNING = "1.3.6.1.4.1.311.2.1.21"
OID_NESTED_SIGNATURE = "1.3.6.1.4.1.311.2.4.1"


class _Oids(core.SequenceOf):
    _child_spec = core.ObjectIdentifier


def _oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


SHA256_ALGORITHM = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()


def _member(data: bytes) -> bytes:
    """One trusted subject: the file's SHA-256 as identifier, and an SPC indirect data attribute
    holding the same hash (asn1crypto's builder re-sorts SET OFs on every dump, far too slow for
    benchmark-sized trees, so these plain structures are assembled directly)."""
    digest = hashlib.sha256(data).digest()
    indirect = _tlv(0x30, _tlv(0x30, _oid(OID_SPC_CAB_DATA)) + _tlv(0x30, SHA256_ALGORITHM + _tlv(0x04, digest)))
    attribute = _tlv(0x30, _oid(OID_SPC_INDIRECT_DATA) + _tlv(0x31, indirect))
    return _tlv(0x30, _tlv(0x04, digest) + _tlv(0x31, attribute))


def _ctl(members: list[bytes], this_update: datetime) -> bytes:
    return _tlv(
        0x30,
        b"".join(
            [
                _tlv(0x30, _oid(OID_CATALOG_LIST)),
                _tlv(0x04, os.urandom(16)),
                core.UTCTime(this_update).dump(),
                _tlv(0x30, _oid(OID_CATALOG_MEMBER_SHA256) + b"\x05\x00"),
                _tlv(0x30, b"".join(_member(m) for m in members)),
            ]
        ),
    )


def _sign(identity: Identity, data: bytes, digest: str = "sha256") -> bytes:
    return identity.key.sign(data, padding.PKCS1v15(), hashes.SHA1() if digest == "sha1" else hashes.SHA256())


def _sign_bare_sha1(identity: Identity, data: bytes) -> bytes:
    """The RSA block of legacy VeriSign/Symantec countersignatures: `00 01 FF..FF 00` and the bare SHA-1
    digest, no DigestInfo (what `cryptography` cannot produce, so the private operation is done here)."""
    numbers = identity.key.private_numbers()
    size = (numbers.public_numbers.n.bit_length() + 7) // 8
    digest = hashlib.sha1(data).digest()
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(digest)) + b"\x00" + digest
    return pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n).to_bytes(size, "big")


def _signed_attrs(pairs: list[tuple[str, object]]) -> cms.CMSAttributes:
    """Attributes from (OID, value): native values for the types asn1crypto knows, core.Any otherwise."""
    return cms.CMSAttributes([{"type": oid, "values": [value]} for oid, value in pairs])


def _signer_info(
    identity: Identity, attrs: cms.CMSAttributes, *, bare_sha1: bool = False, digest: str = "sha256"
) -> cms.SignerInfo:
    cert = x509.Certificate.load(identity.der)
    signed = b"\x31" + attrs.dump()[1:]
    signature = _sign_bare_sha1(identity, signed) if bare_sha1 else _sign(identity, signed, digest)
    return cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
            ),
            "digest_algorithm": {"algorithm": "sha1" if bare_sha1 else digest},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
            "signature": signature,
        }
    )


@dataclass
class Signature:
    """One signature of a catalog: `signer` with its `chain` (intermediates, not the root), and
    `timestamp` = (TSA, time) for an Authenticode countersignature; `legacy_timestamp` signs that
    countersignature the VeriSign/Symantec way (SHA-1, bare digest in the RSA block)."""

    signer: Identity
    chain: list[Identity]
    timestamp: tuple[Identity, datetime] | None = None
    legacy_timestamp: bool = False
    digest: str = "sha256"  # "sha1": what Windows 7 can verify without SHA-2 support (KB4474419)


def write_catalog(
    members: list[bytes],
    this_update: datetime,
    signer: Identity,
    chain: list[Identity],
    timestamp: tuple[Identity, datetime] | None = None,
    *,
    legacy_timestamp: bool = False,
    nested: list[Signature] | None = None,
    digest: str = "sha256",
) -> bytes:
    """A catalog vouching for `members` (file contents), signed by `signer` and carrying `chain`
    (intermediates, not the root); `timestamp` = (TSA, time) adds an Authenticode countersignature;
    `nested` adds dual signatures (unsigned attribute 1.3.6.1.4.1.311.2.4.1 of the primary); `digest` is the
    primary signature's digest algorithm ("sha1" or "sha256")."""
    ctl = _ctl(members, this_update)
    primary = Signature(signer, chain, timestamp, legacy_timestamp, digest)
    nested_data = [_signed_data(OID_CTL, ctl, extra, []) for extra in nested or []]
    return _signed_data(OID_CTL, ctl, primary, nested_data)


def write_pe_signature(image_hash: bytes, signer: Identity, chain: list[Identity]) -> bytes:
    """The PKCS#7 of a PE's Authenticode signature: SpcIndirectDataContent holding the SHA-256 image hash
    (SpcPeImageData with no flags and an empty file link, as signtool writes it)."""
    pe_image_data = _tlv(0x30, _tlv(0x03, b"\x00") + _tlv(0xA0, _tlv(0xA2, _tlv(0x80, b""))))
    indirect = _tlv(
        0x30,
        _tlv(0x30, _oid(OID_SPC_PE_IMAGE_DATA) + pe_image_data) + _tlv(0x30, SHA256_ALGORITHM + _tlv(0x04, image_hash)),
    )
    return _signed_data(OID_SPC_INDIRECT_DATA, indirect, Signature(signer, chain), [])


def _signed_data(content_type: str, content: bytes, sig: Signature, nested: list[bytes]) -> bytes:
    """A ContentInfo holding the SignedData of one signature over `content` (with `nested` ones inside it)."""
    content_digest = hashlib.new(sig.digest, _contents(content)).digest()  # contents octets, as Authenticode does
    attrs = _signed_attrs(
        [
            ("1.2.840.113549.1.9.3", content_type),
            (OID_SPC_STATEMENT_TYPE, core.Any.load(_Oids([OID_INDIVIDUAL_CODE_SIGNING]).dump())),
            ("1.2.840.113549.1.9.4", content_digest),
        ]
    )
    signer_info = _signer_info(sig.signer, attrs, digest=sig.digest)
    certificates = [sig.signer, *sig.chain]
    unsigned = []
    if sig.timestamp:
        tsa, when = sig.timestamp
        hasher = hashlib.sha1 if sig.legacy_timestamp else hashlib.sha256
        counter_attrs = _signed_attrs(
            [
                ("1.2.840.113549.1.9.3", "1.2.840.113549.1.7.1"),
                ("1.2.840.113549.1.9.5", cms.Time({"utc_time": when})),
                ("1.2.840.113549.1.9.4", hasher(signer_info["signature"].native).digest()),
            ]
        )
        counter = _signer_info(tsa, counter_attrs, bare_sha1=sig.legacy_timestamp)
        unsigned.append({"type": "1.2.840.113549.1.9.6", "values": [counter]})
        certificates.append(tsa)
    if nested:
        unsigned.append({"type": OID_NESTED_SIGNATURE, "values": [cms.ContentInfo.load(n) for n in nested]})
    if unsigned:
        signer_info["unsigned_attrs"] = cms.CMSAttributes(unsigned)
    # PKCS#7 v1.5 puts the content directly under [0] EXPLICIT (CMS would wrap it in an OCTET STRING,
    # which asn1crypto's builder insists on), so the envelope layers are assembled here.
    encap = _tlv(0x30, _oid(content_type) + _tlv(0xA0, content))
    signed = _tlv(
        0x30,
        b"".join(
            [
                core.Integer(1).dump(),
                _tlv(0x31, algos.DigestAlgorithm({"algorithm": sig.digest}).dump()),
                encap,
                _tlv(0xA0, b"".join(i.der for i in certificates)),
                _tlv(0x31, signer_info.dump()),
            ]
        ),
    )
    return _tlv(0x30, _oid("1.2.840.113549.1.7.2") + _tlv(0xA0, signed))


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER tag-length-value."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def _contents(tlv: bytes) -> bytes:
    """The contents octets of one DER TLV (what an Authenticode messageDigest covers)."""
    length = tlv[1]
    if length < 0x80:
        return tlv[2:]
    return tlv[2 + (length & 0x7F) :]
