"""What the hosts' firmware trusts and revokes: `--target-firmware` (a keyword, or the db variable
exported from a representative host) and `--target-dbx` (the dbx variable exported the same way).

An administrator exports db on Windows with PowerShell,
`[IO.File]::WriteAllBytes("db.bin", (Get-SecureBootUEFI db).Bytes)`, and on Linux copies
`/sys/firmware/efi/efivars/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f` (efivarfs puts the variable's
4-byte attributes first); dbx likewise. The content is a sequence of EFI_SIGNATURE_LIST structures (UEFI
Specification 2.10, 32.4.1 "Signature Database"): a signature type GUID, the list's size, its
header's size and each entry's size, then entries of an owner GUID and the data (a DER certificate
for EFI_CERT_X509_GUID, an image hash for EFI_CERT_SHA256_GUID, ...). Those two types are what
db and Microsoft's dbx revocations use; other entry types (e.g. EFI_CERT_X509_SHA256, a certificate's
TBS hash) are read past and not matched, so a dbx that revokes only by them is not seen.

The db holds Windows UEFI CA 2023: the hosts start a boot manager signed under it ("2023"). It holds
only Microsoft Windows Production PCA 2011: "2011-only". It holds neither (an owner's own PK/KEK/db
setup): "no-windows-ca", and only the keys it holds start anything. The CAs are recognised by their
subject names, as Microsoft's own check for the update does (KB5068202 looks for 'Windows UEFI CA
2023' in the db's bytes). The db's certificates and image hashes themselves travel with the target
(`FirmwareTarget.db`), so a boot manager signed by the owner's key can be checked against them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from imgscan.errors import ImgscanError

# What the hosts' Secure Boot db holds, as --target-firmware and the fleet manifest say: not yet updated
# (only the 2011 certificates), updated (Windows UEFI CA 2023 added), or not known. The CLI reads it to build
# its --help, so this module imports little at load time: hashlib and asn1crypto where a file is read, and
# the GUIDs below written as bytes rather than built with uuid.
TARGET_FIRMWARE = ("2011-only", "2023", "unknown")

# the signature type GUIDs as EFI stores them (little-endian fields): a5c059a1-94e4-4aa7-87b5-ab155c2bf072
# (EFI_CERT_X509_GUID) and c1c41626-504c-4092-aca9-41f936934328 (EFI_CERT_SHA256_GUID)
EFI_CERT_X509 = bytes.fromhex("a159c0a5e494a74a87b5ab155c2bf072")
EFI_CERT_SHA256 = bytes.fromhex("2616c4c14c509240aca941f936934328")
PCA_2011 = "Microsoft Windows Production PCA 2011"
CA_2023 = "Windows UEFI CA 2023"
NO_WINDOWS_CA = "no-windows-ca"  # an exported db that holds neither Windows CA
ADVICE = "export it with PowerShell: [IO.File]::WriteAllBytes('db.bin', (Get-SecureBootUEFI db).Bytes), dbx likewise"


@dataclass(frozen=True)
class SignatureDatabase:
    """The entries imgscan uses of an exported db or dbx: X.509 certificates and SHA-256 image hashes."""

    path: str
    sha256: str  # of the export file, for the evidence
    certificates: tuple[bytes, ...]  # DER
    names: tuple[str, ...]  # the certificates' subject common names, in order
    hashes: frozenset[bytes]  # Authenticode SHA-256 image hashes


def signature_lists(data: bytes) -> list[tuple[bytes, list[bytes]]]:
    """(signature type GUID, entry data without the owner GUID) of every EFI_SIGNATURE_LIST in `data`."""
    lists: list[tuple[bytes, list[bytes]]] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 28:
            raise ValueError(f"{len(data) - offset} bytes at offset {offset} are too few for a signature list header")
        kind = data[offset : offset + 16]
        size, header, entry = struct.unpack_from("<III", data, offset + 16)
        body = offset + 28 + header
        if entry <= 16 or size < 28 + header or offset + size > len(data) or (size - 28 - header) % entry:
            raise ValueError(f"the signature list at offset {offset} has inconsistent sizes ({size}, {header}, {entry})")
        lists.append((kind, [data[at + 16 : at + entry] for at in range(body, offset + size, entry)]))
        offset += size
    return lists


def read_signature_database(path: Path) -> SignatureDatabase:
    """An exported db or dbx (with or without efivarfs' attributes); a damaged one is an ImgscanError."""
    import hashlib

    from asn1crypto import x509  # only when a db file is given: keeps the CLI's start-up light

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImgscanError(str(path), f"cannot read the firmware variable export: {exc.strerror or exc}", ADVICE) from exc
    if not data:
        raise ImgscanError(str(path), "the firmware variable export is empty", ADVICE)
    try:
        lists = signature_lists(data)
    except ValueError as first:
        try:
            lists = signature_lists(data[4:])  # efivarfs: the attributes, then the content
        except ValueError:
            lists = []
        if not lists:
            raise ImgscanError(str(path), f"not a Secure Boot db or dbx export: {first}", ADVICE) from None
    certificates = tuple(der for kind, entries in lists if kind == EFI_CERT_X509 for der in entries)
    names = []
    for der in certificates:
        try:
            names.append(x509.Certificate.load(der).subject.native.get("common_name") or "")
        except ValueError as exc:
            raise ImgscanError(str(path), f"an X.509 entry is not a certificate ({exc})", ADVICE) from None
    hashes = frozenset(h for kind, entries in lists if kind == EFI_CERT_SHA256 for h in entries)
    return SignatureDatabase(str(path), hashlib.sha256(data).hexdigest(), certificates, tuple(names), hashes)


def _export(text: str, base: Path | None, what: str) -> Path:
    path = Path(text) if base is None or Path(text).is_absolute() else base / text
    if not path.is_file():
        raise ImgscanError(text, f"is {what}", ADVICE)
    return path


def read_dbx(text: str, base: Path | None = None) -> SignatureDatabase:
    """`--target-dbx`: the dbx exported from a host (relative to `base`)."""
    return read_signature_database(_export(text, base, "not a file (give the dbx exported from a host)"))


@dataclass(frozen=True)
class FirmwareTarget:
    """What the hosts' Secure Boot db holds: `generation` (2011-only, 2023, unknown, or no-windows-ca),
    which the rules about Microsoft's two CA generations read, and the exported db itself when one was
    given, whose certificates and image hashes decide whether a file signed by another key starts."""

    generation: str = "unknown"
    db: SignatureDatabase | None = None

    def setting(self) -> str:
        """What a fleet's --resume compares for a host: the generation, and the export's content if any."""
        return f"{self.generation}@{self.db.sha256}" if self.db else self.generation


UNKNOWN = FirmwareTarget()  # nothing told of the hosts' firmware


def firmware_target(text: str, base: Path | None = None) -> FirmwareTarget:
    """The keyword itself (2011-only, 2023, unknown), or what the db export at `text` (relative to
    `base`) holds, with its entries."""
    if text in TARGET_FIRMWARE:
        return FirmwareTarget(text)
    path = _export(text, base, f"neither {', '.join(TARGET_FIRMWARE)} nor a firmware db export file")
    db = read_signature_database(path)
    if not db.certificates and not db.hashes:
        raise ImgscanError(
            str(path),
            "the db holds no certificate and no SHA-256 image hash, so nothing starts on it with Secure Boot on",
            "check that it is the db of a host the image goes to, or give 2011-only, 2023 or unknown",
        )
    generation = "2023" if CA_2023 in db.names else "2011-only" if PCA_2011 in db.names else NO_WINDOWS_CA
    return FirmwareTarget(generation, db)
