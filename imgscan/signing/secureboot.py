"""Secure Boot generations: which certificate authority a boot file is signed under, and what the
image's registry says about the move from the 2011 to the 2023 certificates.

The CAs and their days are in `imgscan/data/secureboot.toml` (from Microsoft's certificate files).
A boot file is judged by the signatures that hold (the image hash matches and the signature
verifies): each names, in its chain, the CA that firmware must have in its db to start the file.
The registry values are those of KB5068202 / KB5062713, under the current control set's
`Control\\SecureBoot`; db and KEK themselves live in firmware NVRAM, not on the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgscan.hives import Hive
from imgscan.signing.authenticode import EmbeddedSignature, PeFile
from imgscan.signing.authorities import Authority, authorities
from imgscan.signing.firmware_db import SignatureDatabase


def holding(pe: PeFile) -> list[EmbeddedSignature]:
    """The file's signatures that hold: readable, verifying, and vouching for the file's image hash."""
    matching = {id(s) for s in pe.hash_mismatch}
    return [s for s in pe.signatures if s.signature is not None and not s.signature.problem and id(s) not in matching]


def db_allows(pe: PeFile, db: SignatureDatabase) -> str | None:
    """Why firmware with `db` starts the file (its image hash, or the db certificate a signature that
    holds chains to), or None when it does not."""
    from imgscan.signing.certs import CertCache, shared_cert

    if pe.image_hashes.get("sha256") in db.hashes:
        return "its SHA-256 image hash"
    listed = dict(zip(db.certificates, db.names, strict=True))
    cache = CertCache()
    for der in (der for signature in holding(pe) for der in signature.chain_der):
        if der in listed:
            return f"the certificate {listed[der]!r} of its signature chain"
        cert = shared_cert(der)
        for anchor_der, name in listed.items():
            anchor = shared_cert(anchor_der)
            if anchor.subject_der == cert.issuer_der and cache.signed_by(cert, anchor):
                return f"the certificate {name!r}, which issued {cert.common_name!r} of its signature chain"
    return None


def signing_authorities(pe: PeFile) -> list[Authority]:
    """The known CAs in the chains of the file's signatures that hold, in signature order."""
    known = authorities()
    found: list[Authority] = []
    for signature in holding(pe):
        found += [known[name] for name in signature.chain if name in known and known[name] not in found]
    return found


def generations(pe: PeFile) -> set[int]:
    return {authority.generation for authority in signing_authorities(pe)}


# what each UEFICA2023Status value means, in words that add to the value itself (KB5068202)
SERVICING_STATUS = {
    "NotStarted": "the 2023 certificate update has not begun",
    "InProgress": "the 2023 certificate update is under way",
    "Updated": "the 2023 certificate update has completed",
}
CAPABLE = {
    0: "the 2023 CA is not in the db",
    1: "the 2023 CA is in the db",
    2: "the 2023 CA is in the db and the 2023 boot manager starts",
}


@dataclass(frozen=True)
class SecureBootState:
    """What the image's SYSTEM hive says about the 2023 certificate update (None: value absent)."""

    key: str | None  # the SecureBoot key path read
    available_updates: int | None
    ca2023_status: str | None  # UEFICA2023Status
    ca2023_capable: int | None  # WindowsUEFICA2023Capable

    @property
    def updated(self) -> bool:
        return self.ca2023_status == "Updated" or self.ca2023_capable == 2

    def describe(self) -> str:
        parts = []
        if self.ca2023_status is not None:
            parts.append(f"UEFICA2023Status = {self.ca2023_status} ({SERVICING_STATUS.get(self.ca2023_status, 'unknown')})")
        if self.ca2023_capable is not None:
            parts.append(f"WindowsUEFICA2023Capable = {self.ca2023_capable} ({CAPABLE.get(self.ca2023_capable, 'unknown')})")
        if self.available_updates is not None:
            parts.append(f"AvailableUpdates = 0x{self.available_updates:X} (updates still queued for the firmware)")
        return "; ".join(parts) or "no Secure Boot servicing values (the 2023 certificate update never ran)"

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "available_updates": self.available_updates,
            "uefica2023_status": self.ca2023_status,
            "windows_uefica2023_capable": self.ca2023_capable,
        }


def secure_boot_state(system: Hive | None) -> SecureBootState:
    control_set = system.control_set() if system else None
    if system is None or control_set is None:
        return SecureBootState(None, None, None, None)
    key = rf"{control_set}\Control\SecureBoot"
    available = system.value(key, "AvailableUpdates")
    status = system.value(rf"{key}\Servicing", "UEFICA2023Status")
    capable = system.value(rf"{key}\Servicing", "WindowsUEFICA2023Capable")
    return SecureBootState(
        key=f"SYSTEM\\{key}",
        available_updates=available if isinstance(available, int) else None,
        ca2023_status=status if isinstance(status, str) else None,
        ca2023_capable=capable if isinstance(capable, int) else None,
    )
