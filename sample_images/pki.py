"""A small test PKI for the sample catalogs, shaped like Microsoft's of 2012.

root ─ code-signing PCA ─ signer certificates (code signing EKU)
     └ time-stamp PCA  ─ TSA certificates: one with the timestamping EKU,
                          one without it (the Advisory 2749655 defect)

Keys are RSA-2048, generated per build; the root goes into the image's
SOFTWARE ROOT store, so imgscan must read that store to trust the catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# RSA-2048 as Microsoft's 2012 PKI; the in-process unit tests lower it to 1024 (tests/unit/conftest.py), where
# key generation was most of their time and no reader they exercise depends on the key's size
KEY_BITS = 2048


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@dataclass
class Identity:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "imgscan test PKI"),
        ]
    )


def issue(
    common_name: str,
    not_before: str,
    not_after: str,
    issuer: Identity | None = None,
    ekus: tuple[x509.ObjectIdentifier, ...] = (),
    ca: bool = False,
) -> Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(not_after))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Identity(cert, key)


CODE_SIGNING = ExtendedKeyUsageOID.CODE_SIGNING
TIME_STAMPING = ExtendedKeyUsageOID.TIME_STAMPING
LIFETIME_SIGNING = x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.13")


@dataclass
class TestPki:
    __test__ = False  # a fixture type, not a pytest test class
    root: Identity
    code_pca: Identity
    stamp_pca: Identity
    tsa_good: Identity  # has the timestamping EKU
    tsa_no_eku: Identity  # lacks it: Microsoft's signing service, June–August 2012

    def signer(self, common_name: str, not_before: str, not_after: str, lifetime: bool = False) -> Identity:
        ekus = (CODE_SIGNING, LIFETIME_SIGNING) if lifetime else (CODE_SIGNING,)
        return issue(common_name, not_before, not_after, self.code_pca, ekus)


def make_pki() -> TestPki:
    root = issue("imgscan Test Root Authority", "2000-01-01T00:00:00", "2040-01-01T00:00:00", ca=True)
    code_pca = issue("imgscan Test Windows PCA", "2005-01-01T00:00:00", "2030-01-01T00:00:00", root, ca=True)
    stamp_pca = issue("imgscan Test Time-Stamp PCA", "2005-01-01T00:00:00", "2030-01-01T00:00:00", root, ca=True)
    tsa_good = issue("imgscan Test Time-Stamp Service", "2010-01-01T00:00:00", "2025-01-01T00:00:00", stamp_pca, (TIME_STAMPING,))
    tsa_no_eku = issue(
        "imgscan Test Time-Stamp Service (no EKU)", "2012-06-01T00:00:00", "2025-01-01T00:00:00", stamp_pca, (CODE_SIGNING,)
    )
    return TestPki(root, code_pca, stamp_pca, tsa_good, tsa_no_eku)
