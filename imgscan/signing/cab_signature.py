"""Authenticode signatures of cabinet files (.msu, .cab): the digest a signed cabinet's signature vouches
for, worked out from the file, and whether the signature itself verifies.

Microsoft signs a cabinet by giving its header 20 reserved bytes (flag RESERVE_PRESENT, cbCFHeader 20)
that say where the PKCS#7 SignedData lies: after the cabinet's own cbCabinet bytes, padded with zero bytes
to a multiple of 8. The digest it signs (SpcIndirectDataContent's) cannot cover the bytes that locate the
signature, nor the signature, so it is taken over the rest of the file:

- hashed: "MSCF" (bytes 0-3); cbCabinet, reserved2, coffFiles, reserved3, the version, cFolders, cFiles,
  flags and setID (8-33); the reserved area's last 4 bytes (56-59); then everything after the header up to
  the signature (the cabinet-set names, CFFOLDER and CFFILE entries, CFDATA blocks);
- skipped: reserved1 (4-7); iCabinet, cbCFHeader, cbCFFolder and cbCFData (34-39); the reserved area's first
  16 bytes (40-55: its tag, the signature's offset and size); the signature and its padding.

This is what osslsigncode computes (cab.c, `cab_digest_calc`); tests/test_cab_signature.py holds imgscan to
osslsigncode on every real update of ../shared/realdata/updates and on byte flips in each part above.

The signature is read and verified by the code that reads every other Authenticode signature
(`catalog.parse_indirect_data`): SpcIndirectDataContent's digest must be the file's, the signer's
messageDigest attribute the hash of that content, and the signer's signature over its signed attributes
must verify with the signer certificate's key. Only the primary signature is checked, as WinVerifyTrust
checks it unless asked for another; one nested in it (dual signing) is not read. Not judged here: whether
the signer's chain reaches a root the image trusts, expiry, timestamps, revocation. This says only whether
the signature matches the file.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from imgscan.signing.catalog import CatalogError, parse_indirect_data
from imgscan.signing.certs import HASHES, CertCache
from imgscan.signing.members import SEQUENCE, NotPlainDer, tlv

CHUNK = 1 << 20  # bytes per read: an update can be hundreds of MB, hashed in one pass and never read whole
MAGIC = b"MSCF"
RESERVE_PRESENT = 0x0004  # CFHEADER flags (MS-CAB): cbCFHeader, cbCFFolder, cbCFData and the reserved bytes follow
SIGNED_RESERVE = 0x00100000  # the first word of a signed cabinet's reserved bytes; then the signature's offset and size
SIGNED_RESERVE_SIZE = 20  # cbCFHeader of a signed cabinet
HEADER = 40 + SIGNED_RESERVE_SIZE  # a signed cabinet's CFHEADER up to the end of its reserved bytes
HASHED_HEADER = ((0, 4), (8, 34), (56, 60))  # the parts of those bytes the digest takes; then HEADER up to the signature
SIGNATURE_ALIGN = 8  # the signature is padded with zero bytes to a multiple of this
MAX_SIGNATURE = 1 << 24  # bytes read as the PKCS#7: Microsoft's, certificates and timestamps included, are tens of KB


class CabSignatureError(ValueError):
    """The cabinet declares a signature that cannot be checked; `str()` says why in one line."""


@dataclass(frozen=True)
class Location:
    """Where a cabinet's header says its signature lies."""

    offset: int  # the first byte of the signature: the digest covers what comes before it
    size: int  # with its zero padding


@dataclass(frozen=True)
class CabSignature:
    """A cabinet's primary Authenticode signature, held against the file."""

    algorithm: str  # the digest algorithm of SpcIndirectDataContent ("sha1", "sha256", ...)
    signed_digest: bytes  # the digest the signature vouches for
    file_digest: bytes  # the file's, by the same algorithm
    problem: str | None  # why the signature itself does not verify; None: it does
    signer: str | None  # the signer certificate's common name
    sha256: str  # the whole file's, hex (read in the same pass as the digest)

    @property
    def matches(self) -> bool:
        """The file is the one that was signed."""
        return self.signed_digest == self.file_digest

    @property
    def valid(self) -> bool:
        """The file is the one that was signed, and the signature verifies (chain and dates aside)."""
        return self.matches and self.problem is None


def locate(head: bytes) -> Location | None:
    """Where the signature lies by the cabinet's first HEADER bytes; None when the header declares none: not a
    cabinet, no reserved area, or one not tagged as a signature's (an unsigned cabinet may reserve bytes
    for its own use). Raises CabSignatureError for a signature declared in a reserved area of another size
    than 20 bytes: no digest is defined for one, and no signer writes one."""
    if len(head) < 52 or head[:4] != MAGIC:
        return None
    (flags,), (reserve,) = struct.unpack_from("<H", head, 30), struct.unpack_from("<H", head, 36)
    if not flags & RESERVE_PRESENT or reserve < 12:
        return None
    tag, offset, size = struct.unpack_from("<III", head, 40)
    if tag != SIGNED_RESERVE:
        return None
    if reserve != SIGNED_RESERVE_SIZE:
        raise CabSignatureError(
            f"its header declares a signature in {reserve} reserved bytes, not the {SIGNED_RESERVE_SIZE} of a signed cabinet"
        )
    if offset < HEADER:
        raise CabSignatureError(f"its header puts its signature at byte {offset}, inside the header")
    return Location(offset, size)


def digests(fh: BinaryIO, end: int, algorithms: Collection[str], whole: hashlib._Hash | None = None) -> dict[str, bytes]:
    """The Authenticode digest, by each of `algorithms`, of the cabinet open in `fh` whose signature starts at
    byte `end` (`Location.offset`): the HASHED_HEADER parts, then bytes HEADER to `end`, read once in CHUNK
    pieces for all algorithms together. `whole`, when given, takes every byte of the file in the same pass
    (the update's SHA-256: an update can be hundreds of MB, read once). Raises CabSignatureError when the
    file ends before `end`."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    fh.seek(0)
    head = fh.read(HEADER)
    if len(head) < HEADER or end < HEADER:
        raise CabSignatureError(f"the file ends inside its {HEADER}-byte header")
    for start, stop in HASHED_HEADER:
        for hasher in hashers.values():
            hasher.update(head[start:stop])
    if whole is not None:
        whole.update(head)
    left = end - HEADER
    while left:
        chunk = fh.read(min(CHUNK, left))
        if not chunk:
            raise CabSignatureError(f"the file ends {left} byte(s) before its signature")
        for hasher in hashers.values():
            hasher.update(chunk)
        if whole is not None:
            whole.update(chunk)
        left -= len(chunk)
    while whole is not None and (chunk := fh.read(CHUNK)):
        whole.update(chunk)
    return {name: hasher.digest() for name, hasher in hashers.items()}


def read_signature(path: Path, cache: CertCache | None = None) -> CabSignature | None:
    """The cabinet's primary signature held against the file, with the file's SHA-256 from the same read;
    None when its header declares no signature (not a cabinet, too short to be one, or unsigned). Raises
    CabSignatureError (one line) for a signature that is not all there (`_blob`) or cannot be read as an
    Authenticode signature, or that vouches for a digest of an algorithm imgscan does not compute."""
    with path.open("rb") as fh:
        head = fh.read(HEADER)
        where = locate(head)
        if where is None:
            return None
        blob = _blob(fh, head, where)
        try:
            signature, algorithm, signed = parse_indirect_data(path.name, blob, cache or CertCache())
        except CatalogError as exc:
            raise CabSignatureError(f"its signature cannot be read: {exc}") from exc
        if algorithm not in HASHES:
            raise CabSignatureError(f"its signature vouches for a digest by {algorithm}, which imgscan does not compute")
        whole = hashlib.sha256()
        computed = digests(fh, where.offset, (algorithm,), whole)[algorithm]
    if not signature.signed:
        problem: str | None = "it holds no signer"
    elif signature.signer is None:
        problem = "its signer's certificate is not in it"
    else:
        problem = signature.problem
    signer = signature.signer.common_name if signature.signer else None
    return CabSignature(algorithm, signed, computed, problem, signer, whole.hexdigest())


def _blob(fh: BinaryIO, head: bytes, where: Location) -> bytes:
    """The signature's bytes, once they are all there: the PKCS#7 follows the cabinet's own cbCabinet bytes,
    padded with zero bytes to a multiple of 8. cabextract calls it "extra bytes" and expands a cabinet cut
    inside it without a word, so a download cut short (or stripped of its signature) reads as a whole update;
    Windows refuses it."""
    (cabinet,) = struct.unpack_from("<I", head, 8)
    if where.offset != cabinet:
        raise CabSignatureError(f"its header puts its signature at byte {where.offset}, not after the cabinet's {cabinet} bytes")
    size = os.fstat(fh.fileno()).st_size
    if size < where.offset:  # cut inside the cabinet itself, not only its signature
        raise CabSignatureError(
            f"it is cut short: the file ends at byte {size}, inside the cabinet's {cabinet} bytes (its signature follows them)"
        )
    if where.offset + where.size > size:
        raise CabSignatureError(
            f"its signature is cut short: the file ends {where.offset + where.size - size} byte(s) before the end of it"
        )
    if where.size > MAX_SIGNATURE:
        raise CabSignatureError(f"its header gives its signature {where.size} bytes, more than any signature takes")
    fh.seek(where.offset)
    blob = fh.read(where.size)
    try:
        tag, _, end = tlv(blob, 0, where.size)
    except NotPlainDer:
        tag, end = 0, 0
    if tag != SEQUENCE or where.size - end >= SIGNATURE_ALIGN or blob[end:].strip(b"\0"):
        raise CabSignatureError(f"its {where.size} signature bytes at byte {where.offset} are not a PKCS#7 signature")
    return blob
