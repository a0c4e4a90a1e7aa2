"""Authenticode signatures embedded in PE files (UEFI boot managers): each signature, the chain it
rests on, and whether the file still has the image hash the signature vouches for.

pefile finds the headers, sections and the security directory; the signatures themselves are
PKCS#7 SignedData over an SpcIndirectDataContent, parsed and verified by the same code as catalogs
(`imgscan.signing.catalog.parse_indirect_data`). The image hash follows the Authenticode specification
("Windows Authenticode Portable Executable Signature Format"): the headers without the checksum and
the security directory entry, each section's raw data in file order, then what follows the last
section up to the certificate table. A file may carry several WIN_CERTIFICATE entries (a shim signed
under both the 2011 and the 2023 UEFI CAs does): every one is read; firmware accepts the file when
any of them chains to a certificate in its db.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imgscan.signing.certs import HASHES, iso

if TYPE_CHECKING:
    from imgscan.signing.catalog import Catalog
    from imgscan.signing.validity import Judge, Verdict

WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002
SECURITY_DIRECTORY = 4  # IMAGE_DIRECTORY_ENTRY_SECURITY


@dataclass(frozen=True)
class EmbeddedSignature:
    """One WIN_CERTIFICATE entry: its signature as parsed and judged, or why it could not be."""

    signature: Catalog | None
    verdict: Verdict | None
    chain: tuple[str, ...]  # common names, signer first, as far as the chain could be built
    digest_algorithm: str | None
    digest: bytes | None  # the image hash it vouches for
    problem: str | None = None
    chain_der: tuple[bytes, ...] = ()  # the certificates of `chain` that were found, for matching firmware dbx entries

    def as_dict(self, actual: dict[str, bytes]) -> dict[str, object]:
        if self.signature is None:
            return {"problem": self.problem}
        stamp = self.signature.timestamp
        matches = self.digest is not None and actual.get(self.digest_algorithm or "") == self.digest
        return {
            "signer": self.signature.signer.common_name if self.signature.signer else None,
            "chain": list(self.chain),
            "digest_algorithm": self.digest_algorithm,
            "image_hash_matches": matches,
            "signature_problem": self.signature.problem,
            "timestamp": stamp.kind if stamp else "none",
            "timestamp_time": iso(stamp.time) if stamp else None,
            "status": self.verdict.status if self.verdict else None,
        }


@dataclass(frozen=True)
class PeFile:
    """A PE file's signatures and its computed image hashes (by digest algorithm)."""

    path: str
    sha256: str
    signatures: tuple[EmbeddedSignature, ...] = ()
    image_hashes: dict[str, bytes] = field(default_factory=dict)
    problem: str | None = None  # why it is not a readable PE

    @property
    def hash_mismatch(self) -> list[EmbeddedSignature]:
        """Signatures whose vouched-for hash is not the file's: the file changed after signing."""
        return [
            s
            for s in self.signatures
            if s.signature is not None and s.digest is not None and self.image_hashes.get(s.digest_algorithm or "") != s.digest
        ]

    @property
    def broken(self) -> list[EmbeddedSignature]:
        """Signatures that were read but do not verify."""
        return [s for s in self.signatures if s.signature is not None and s.signature.problem]

    @property
    def invalid(self) -> bool:
        """The file does not match a signature it carries, or one of them does not verify: a damaged file
        (boot-file-signature-invalid), whoever signed it."""
        return bool(self.hash_mismatch or self.broken)

    def as_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"path": self.path, "sha256": self.sha256}
        if self.problem:
            return record | {"problem": self.problem}
        return record | {"signatures": [s.as_dict(self.image_hashes) for s in self.signatures]}


class NotAPe(ValueError):
    """The bytes are not a PE file imgscan can read."""


def read_pe(path: str, data: bytes, judge: Judge) -> PeFile:
    """Every embedded signature of a PE file, judged, with the image hash under each digest algorithm used.
    Never raises: a file it cannot read has a `problem`; a signature that cannot be read has one of its own
    (fuzz/fuzz_authenticode.py). An unsigned file is readable: no signatures, and its image hash, which is
    all firmware can start it by."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        layout = _layout(data)
    except NotAPe as exc:
        return PeFile(path, sha256, problem=str(exc))
    signatures = tuple(_signature(path, blob, judge) for blob in _certificates(data, layout.table))
    # SHA-256 always, signed or not: a db or dbx lists a boot file by its SHA-256 image hash
    algorithms = {s.digest_algorithm for s in signatures if s.digest_algorithm} | {"sha256"}
    hashes = {algorithm: _image_hash(data, layout, algorithm) for algorithm in sorted(algorithms)}
    return PeFile(path, sha256, signatures, hashes)


@dataclass(frozen=True)
class _Layout:
    checksum: int  # file offset of OptionalHeader.CheckSum
    security_entry: int  # file offset of the security data directory entry
    headers_end: int  # SizeOfHeaders
    sections: tuple[tuple[int, int], ...]  # (PointerToRawData, SizeOfRawData), in file order
    table: tuple[int, int]  # certificate table (file offset, size); (0, 0) when unsigned


def _layout(data: bytes) -> _Layout:
    import pefile

    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError as exc:
        raise NotAPe(f"not a PE file ({exc})") from exc
    directories = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    if len(directories) <= SECURITY_DIRECTORY:
        raise NotAPe("the PE's optional header has no security directory entry")
    entry = directories[SECURITY_DIRECTORY]
    offset, size = entry.VirtualAddress, entry.Size  # a file offset, not an RVA, for this directory
    if size and (offset < pe.OPTIONAL_HEADER.SizeOfHeaders or offset + size > len(data)):
        raise NotAPe(f"security directory points outside the file (offset {offset}, size {size}, file {len(data)})")
    sections = sorted(_sections(data, pe.OPTIONAL_HEADER.get_file_offset() + pe.FILE_HEADER.SizeOfOptionalHeader, pe))
    if pe.OPTIONAL_HEADER.SizeOfHeaders > len(data):
        raise NotAPe(f"headers end at byte {pe.OPTIONAL_HEADER.SizeOfHeaders}, beyond the file ({len(data)} bytes)")
    return _Layout(
        checksum=pe.OPTIONAL_HEADER.get_field_absolute_offset("CheckSum"),
        security_entry=entry.get_file_offset(),
        headers_end=pe.OPTIONAL_HEADER.SizeOfHeaders,
        sections=tuple(sections),
        table=(offset, size),
    )


def _sections(data: bytes, table: int, pe: Any) -> list[tuple[int, int]]:
    """(PointerToRawData, SizeOfRawData) of every section the header counts, read from the section table
    itself: pefile leaves out the sections it finds malformed, but the image hash covers them all, so a
    section whose raw data lies outside the file makes the file one no firmware can hash."""
    found = []
    for number in range(pe.FILE_HEADER.NumberOfSections):
        entry = table + 40 * number
        if entry + 40 > len(data):
            raise NotAPe(f"the section table ends beyond the file (section {number + 1})")
        size, start = struct.unpack_from("<II", data, entry + 16)
        if size and start + size > len(data):
            raise NotAPe(f"section {number + 1}'s raw data (bytes {start} to {start + size}) lies outside the file")
        if size:
            found.append((start, size))
    return found


def _certificates(data: bytes, table: tuple[int, int]) -> list[bytes]:
    """The PKCS#7 blob of each WIN_CERTIFICATE entry (8-byte aligned, as the specification requires)."""
    offset, size = table
    end = offset + size
    blobs = []
    while offset + 8 <= end:
        length, _revision, kind = struct.unpack_from("<IHH", data, offset)
        if length < 8 or offset + length > end:
            blobs.append(b"")  # a damaged entry: reported as such, and the walk ends
            break
        if kind == WIN_CERT_TYPE_PKCS_SIGNED_DATA:
            blobs.append(data[offset + 8 : offset + length])
        offset += (length + 7) // 8 * 8
    return blobs


def _signature(path: str, blob: bytes, judge: Judge) -> EmbeddedSignature:
    from imgscan.signing.catalog import CatalogError, parse_indirect_data

    if not blob:
        return EmbeddedSignature(None, None, (), None, None, "certificate table entry is damaged (length beyond the table)")
    try:
        signature, algorithm, digest = parse_indirect_data(path, blob, judge.cache)
    except CatalogError as exc:
        return EmbeddedSignature(None, None, (), None, None, f"signature cannot be read: {exc}")
    if algorithm not in HASHES:
        return EmbeddedSignature(None, None, (), None, None, f"signature names an unknown digest algorithm {algorithm}")
    chain: tuple[str, ...] = ()
    chain_der: tuple[bytes, ...] = ()
    if signature.signer is not None:
        built = judge.chain(signature.signer, signature.certificates)
        names = [c.common_name for c in built.certs]
        top = built.certs[-1]
        if not top.self_signed and built.anchor_source is None:
            names.append(top.parsed.issuer.native.get("common_name") or top.issuer)  # the issuer it names
        chain = tuple(names)
        chain_der = tuple(c.der for c in built.certs)
    return EmbeddedSignature(signature, judge.judge(signature), chain, algorithm, digest, chain_der=chain_der)


def _image_hash(data: bytes, layout: _Layout, algorithm: str) -> bytes:
    """The image hash by the specification's steps, as UEFI firmware (EDK2) and pesign compute it: the
    headers without the checksum and the security entry, each section's raw data by file offset, then
    the bytes after SUM_OF_BYTES_HASHED (the headers' and sections' sizes added up) up to the file's
    end less the certificate table's size. (Not "up to the table": bytes appended after the table
    count, as firmware counts them; fuzz/fuzz_authenticode.py compares with a reading of the spec.)"""
    digest = hashlib.new(algorithm)
    digest.update(data[: layout.checksum])
    digest.update(data[layout.checksum + 4 : layout.security_entry])
    digest.update(data[layout.security_entry + 8 : layout.headers_end])
    hashed = layout.headers_end
    for start, size in layout.sections:
        digest.update(data[start : start + size])
        hashed += size
    extra = len(data) - layout.table[1] - hashed
    if extra > 0:
        digest.update(data[hashed : hashed + extra])
    return digest.digest()
