"""Windows catalog files (.cat): PKCS#7 SignedData around a Certificate Trust List.

Parsed with asn1crypto, chosen over signify and cryptography's PKCS#7 API
because it parses lazily (only the parts asked for are decoded, the cheapest
way through 20,000 catalogs), tolerates the odd encodings of old Microsoft
certificates, exposes unsigned attributes (both timestamp kinds) and imports
no native crypto library at load time (signify pulls in oscrypto, which fails
against OpenSSL 3.0.1x). The PKCS#7 envelope is declared in `pkcs7` with only
the fields imgscan reads, the member hashes are read by `members`; signatures
are checked with `cryptography` via `certs.verify_signature`.

What is extracted per catalog: signer certificate and the embedded chain,
digest algorithm, signing time, timestamp kind (none, Authenticode
countersignature 1.2.840.113549.1.9.6, RFC 3161 1.3.6.1.4.1.311.3.3.1) with
its time and TSA certificate, CTL thisUpdate and member count, and whether the
signature and the timestamp actually verify.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from asn1crypto import core, tsp

from imgscan.signing import lean_catalog
from imgscan.signing.catalog_record import Catalog as Catalog  # re-exported: the readers' callers import them from here
from imgscan.signing.catalog_record import CatalogError as CatalogError
from imgscan.signing.catalog_record import Timestamp as Timestamp
from imgscan.signing.certs import Cert, CertCache, verify_signature
from imgscan.signing.members import member_digests
from imgscan.signing.pkcs7 import (
    MALFORMED,
    OID_COUNTERSIGNATURE,
    OID_CTL,
    OID_MESSAGE_DIGEST,
    OID_NESTED_SIGNATURE,
    OID_RFC3161,
    OID_SIGNED_DATA,
    OID_SIGNING_TIME,
    OID_SPC_INDIRECT_DATA,
    AttributeMap,
    CertificateTrustList,
    ContentInfo,
    SignedData,
    SignerIdentifier,
    SignerInfo,
    SpcIndirectData,
)


def parse_catalog(path: str, data: bytes, cache: CertCache, *, members: bool = False, sha256: str | None = None) -> Catalog:
    """Parse and verify one catalog; raises CatalogError for a file that is not a readable catalog.
    `members`: also collect the file hashes it vouches for (from the same parse; CBS package catalogs).
    `sha256`: the SHA-256 of `data` when the caller has it already (a scan hashes every catalog it reads).
    A catalog in the plain shape signers write is read by `lean_catalog` (no asn1crypto objects), any
    other by asn1crypto (`parse_catalog_asn1`), which gives the same result on what both read."""
    digest = sha256 or hashlib.sha256(data).hexdigest()
    return lean_catalog.read(path, data, cache, members, digest) or parse_catalog_asn1(
        path, data, cache, members=members, sha256=digest
    )


def parse_catalog_asn1(path: str, data: bytes, cache: CertCache, *, members: bool = False, sha256: str | None = None) -> Catalog:
    """`parse_catalog` through asn1crypto objects: the reader of every shape, and the reference."""
    try:
        return _parse(path, data, cache, members, sha256 or hashlib.sha256(data).hexdigest())
    except CatalogError:
        raise
    except MALFORMED as exc:
        raise CatalogError(f"malformed ASN.1: {exc}".splitlines()[0]) from exc


def _signed_data(data: bytes, content_type: str, what: str) -> SignedData:
    """The SignedData of a PKCS#7 ContentInfo whose signed content is of `content_type` (`what`, in words)."""
    if not data.startswith(b"\x30"):
        raise CatalogError("not DER-encoded PKCS#7 (does not start with a SEQUENCE)")
    info = ContentInfo.load(data, strict=False)
    if info["content_type"].dotted != OID_SIGNED_DATA:
        raise CatalogError(f"not PKCS#7 SignedData (content type {info['content_type'].dotted})")
    signed: SignedData = info["content"]
    if signed["encap"]["content_type"].dotted != content_type:
        raise CatalogError(f"not {what}: signed content is {signed['encap']['content_type'].dotted}")
    return signed


def _parse(path: str, data: bytes, cache: CertCache, members: bool, sha256: str) -> Catalog:
    signed = _signed_data(data, OID_CTL, "a catalog (a CTL)")
    ctl = signed["encap"]["content"].parse(spec=CertificateTrustList)
    subjects = ctl["trusted_subjects"]
    base = dict(
        path=path,
        sha256=sha256,
        this_update=ctl["this_update"].native,
        member_count=0 if isinstance(subjects, core.Void) else len(subjects),
        members=member_digests(subjects) if members else None,
    )
    return _signature(signed, ctl.contents, cache, base, nested=True)


def parse_indirect_data(path: str, data: bytes, cache: CertCache) -> tuple[Catalog, str, bytes]:
    """The Authenticode signature of a signed file (a PE's WIN_CERTIFICATE, a cabinet's reserve): the primary
    signature judged like a catalog's, the digest algorithm and the digest of the file it vouches for
    (SpcIndirectDataContent). Raises CatalogError for a blob that is not such a signature.

    Nested signatures are not read: each vouches for a SpcIndirectDataContent of its own (a SHA-256 digest
    of the file beside the primary's SHA-1), not for the primary's, so reading them as a catalog's nested
    signatures (over the primary's content) called every real dual-signed update's SHA-256 signature a
    bad digest. What imgscan judges of a signed file is its primary signature."""
    try:
        signed = _signed_data(data, OID_SPC_INDIRECT_DATA, "an Authenticode signature")
        indirect = signed["encap"]["content"].parse(spec=SpcIndirectData)
        digest = indirect["message_digest"]
        base = dict(path=path, sha256=hashlib.sha256(data).hexdigest(), this_update=None, member_count=0, members=None)
        signature = _signature(signed, indirect.contents, cache, base, nested=False)
        return signature, digest["algorithm"]["algorithm"].native, digest["digest"].native
    except CatalogError:
        raise
    except MALFORMED as exc:
        raise CatalogError(f"malformed ASN.1: {exc}".splitlines()[0]) from exc


def _signature(signed: SignedData, content: bytes, cache: CertCache, base: dict[str, Any], *, nested: bool) -> Catalog:
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
    attributes = AttributeMap(signer_info["signed_attrs"])
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
    signer_info: SignerInfo, content: bytes, cache: CertCache, base: dict[str, Any]
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
                info = ContentInfo.load(value.dump(), strict=False)
                if info["content_type"].dotted != OID_SIGNED_DATA:
                    raise CatalogError(f"content type {info['content_type'].dotted}, not SignedData")
                found.append(_signature(info["content"], content, cache, base, nested=False))
            except (CatalogError, *MALFORMED) as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                notes.append(f"nested signature {number} cannot be read, nor any after it: {why}")
                break  # garbage can decode as thousands of bogus values: one note, not one per value
    return tuple(found), tuple(notes)


def _certificates(signed: SignedData, cache: CertCache) -> tuple[Cert, ...]:
    ders = (c.dump() for c in signed["certificates"] or [])
    return tuple(cache.get(der) for der in ders if der[:1] == b"\x30")  # skip attribute/other certificate choices


def _time(value: core.Any | None) -> datetime | None:
    if value is None:
        return None
    encoded = value.dump()
    moment: datetime = (core.UTCTime if encoded[:1] == b"\x17" else core.GeneralizedTime).load(encoded).native
    return moment


def _find_cert(sid: SignerIdentifier, certificates: tuple[Cert, ...]) -> Cert | None:
    """The certificate a SignerIdentifier names: by issuer and serial number, or by subject key id."""
    if sid.name == "subject_key_identifier":
        key_id = sid.chosen.native
        return next((c for c in certificates if c.key_id == key_id), None)
    issuer, serial = sid.chosen["issuer"].dump(), sid.chosen["serial"].native
    return next((c for c in certificates if c.serial == serial and c.issuer_der == issuer), None)


def _verify(
    signer_info: SignerInfo, attributes: AttributeMap, cert: Cert, content: bytes, *, countersignature: bool = False
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


def _timestamp(signer_info: SignerInfo, certificates: tuple[Cert, ...], cache: CertCache) -> Timestamp | None:
    signature = signer_info["signature"].native
    unsigned = AttributeMap(signer_info["unsigned_attrs"])
    if (countersignature := unsigned.get(OID_COUNTERSIGNATURE)) is not None:
        counter = SignerInfo.load(countersignature.dump())
        attributes = AttributeMap(counter["signed_attrs"])
        tsa = _find_cert(counter["sid"], certificates)
        problem = (
            _verify(counter, attributes, tsa, signature, countersignature=True)
            if tsa
            else "timestamp signer certificate is not in the catalog"
        )
        return Timestamp("authenticode", _time(attributes.get(OID_SIGNING_TIME)), tsa, certificates, problem)
    if (token := unsigned.get(OID_RFC3161)) is not None:
        return _rfc3161(ContentInfo.load(token.dump()), signature, certificates, cache)
    return None


def _rfc3161(token: ContentInfo, signature: bytes, outer: tuple[Cert, ...], cache: CertCache) -> Timestamp:
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
        problem = _verify(signer_info, AttributeMap(signer_info["signed_attrs"]), tsa, tst_bytes)
    return Timestamp("rfc3161", tst["gen_time"].native, tsa, certificates, problem)
