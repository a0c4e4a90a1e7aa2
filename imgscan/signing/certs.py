"""X.509 certificates as the catalog checks need them, parsed once per distinct certificate.

Real images hold tens of thousands of catalogs signed by a handful of
certificates, so `CertCache` keys parsed certificates by their DER bytes and
memoises signature checks by (certificate, issuer) pair: the cost of a catalog
becomes one small parse plus dictionary look-ups.

asn1crypto parses (leniently: old Microsoft certificates have negative serials
that `cryptography` refuses); `cryptography` verifies RSA/ECDSA signatures.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from asn1crypto import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from imgscan.utc import utc_text

EKU_CODE_SIGNING = "1.3.6.1.5.5.7.3.3"
EKU_TIMESTAMPING = "1.3.6.1.5.5.7.3.8"
EKU_LIFETIME_SIGNING = "1.3.6.1.4.1.311.10.3.13"

HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True, eq=False)
class Cert:
    """The facts of one certificate that chain building and validity need."""

    der: bytes = field(repr=False)
    thumbprint: str  # SHA-1 of the DER, upper-case hex, as Windows shows it
    subject: str
    issuer: str
    subject_der: bytes = field(repr=False)
    issuer_der: bytes = field(repr=False)
    serial: int
    not_before: datetime
    not_after: datetime
    ekus: frozenset[str]
    key_id: bytes | None = field(repr=False)
    authority_key_id: bytes | None = field(repr=False)
    parsed: x509.Certificate = field(repr=False)

    def __reduce__(self) -> tuple[Callable[[bytes], Cert], tuple[bytes]]:
        """Sent to and from the catalog worker processes as its DER alone: the receiving process parses
        each distinct certificate once (`shared_cert`), however many catalogs carry it."""
        return (shared_cert, (self.der,))

    @cached_property
    def common_name(self) -> str:
        """Asked for every catalog a certificate signs (tens of thousands): asn1crypto builds the name once."""
        names = self.parsed.subject.native
        return str(names.get("common_name") or self.subject)

    @property
    def self_signed(self) -> bool:
        return self.subject_der == self.issuer_der

    def describe(self) -> dict[str, object]:
        """The certificate as reports show it: a fresh dict each time (worked out once per certificate)."""
        described = self._described
        return described | {"ekus": list(described["ekus"])}

    @cached_property
    def _described(self) -> dict[str, Any]:
        return {
            "common_name": self.common_name,
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": f"{self.serial:x}",
            "thumbprint": self.thumbprint,
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "ekus": sorted(self.ekus),
        }


def iso(moment: datetime | None) -> str | None:
    return utc_text(moment) if moment else None


def verify_signature(public_key_info: bytes, signature: bytes, data: bytes, digest: str, *, bare_digest_ok: bool = False) -> bool:
    """Verify an RSA (PKCS#1 v1.5) or ECDSA signature; False for anything that does not verify.

    RSA blocks are accepted in exactly two encodings, the ones Windows accepts:
    - `00 01 FF..FF 00 DigestInfo(digest algorithm, digest)` (PKCS#1 v1.5, RFC 8017 9.2),
      for MD5, SHA-1, SHA-256, SHA-384 and SHA-512, the algorithm named by the
      SignerInfo's digestAlgorithm (a digestEncryptionAlgorithm of
      sha1WithRSAEncryption instead of rsaEncryption changes nothing);
    - with `bare_digest_ok` (Authenticode countersignatures only): `00 01 FF..FF 00 digest`,
      the bare digest with no DigestInfo, as VeriSign's and Symantec's time-stamping
      services signed from about 2007 to 2015. Windows accepts those timestamps, and so
      do osslsigncode and Avast's authenticode-parser (which tell the two forms apart by
      the length of the recovered block); the differential test holds imgscan to
      osslsigncode on real catalogs of this kind.
    """
    try:
        key = _public_key(public_key_info)
        hash_cls = HASHES[digest]
        if isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, data, padding.PKCS1v15(), hash_cls())
            except InvalidSignature:
                if not bare_digest_ok:
                    raise
                # the block with its padding removed, compared with the bare digest
                recovered = key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
                hasher = hashes.Hash(hash_cls())
                hasher.update(data)
                if recovered != hasher.finalize():
                    raise
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_cls()))
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, KeyError, TypeError):
        return False  # also a key of an algorithm cryptography does not know (a forged certificate)
    return True


_KEYS: dict[bytes, object] = {}


def _public_key(public_key_info: bytes) -> object:
    key = _KEYS.get(public_key_info)
    if key is None:
        key = _KEYS[public_key_info] = serialization.load_der_public_key(public_key_info)
    return key


class CertCache:
    """Parsed certificates by DER, and issuer-signature checks by pair."""

    def __init__(self) -> None:
        self._certs: dict[bytes, Cert] = {}
        self._signed_by: dict[tuple[str, str], bool] = {}

    def get(self, der: bytes) -> Cert:
        """The parsed certificate of `der`: one this process has parsed already (a bundled root a chain reached,
        one unpickled) is not parsed again."""
        cert = self._certs.get(der)
        if cert is None:
            cert = self._certs[der] = _SHARED.get(der) or _parse(der)
        return cert

    def signed_by(self, child: Cert, issuer: Cert) -> bool:
        """Whether `issuer`'s key made `child`'s signature (memoised). asn1crypto reads the signature
        and its algorithm only now: one that cannot be read (a forged certificate) made nothing."""
        pair = (child.thumbprint, issuer.thumbprint)
        result = self._signed_by.get(pair)
        if result is None:
            try:
                signature = child.parsed["signature_value"].native  # IndexError: an empty BIT STRING
                digest = child.parsed["signature_algorithm"].hash_algo
                key = issuer.parsed["tbs_certificate"]["subject_public_key_info"].dump()
                signed = child.parsed["tbs_certificate"].dump()
            except (ValueError, TypeError, KeyError, IndexError, OverflowError):
                signature = digest = key = signed = None
            result = key is not None and verify_signature(key, signature, signed, digest)
            self._signed_by[pair] = result
        return result


_SHARED: weakref.WeakValueDictionary[bytes, Cert] = weakref.WeakValueDictionary()


def shared_cert(der: bytes) -> Cert:
    """The parsed certificate of `der`, shared by every object unpickled in this process while it is in use."""
    cert = _SHARED.get(der)
    if cert is None:
        cert = _SHARED[der] = _parse(der)
    return cert


def _parse(der: bytes) -> Cert:
    cert = x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    validity = tbs["validity"]
    eku = cert.extended_key_usage_value
    aki = cert.authority_key_identifier_value
    return Cert(
        der=der,
        thumbprint=hashlib.sha1(der).hexdigest().upper(),
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        subject_der=tbs["subject"].dump(),
        issuer_der=tbs["issuer"].dump(),
        serial=tbs["serial_number"].native,
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        ekus=frozenset(e.dotted for e in eku) if eku else frozenset(),
        key_id=cert.key_identifier,
        authority_key_id=aki["key_identifier"].native if aki else None,
        parsed=cert,
    )
