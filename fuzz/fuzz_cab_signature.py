"""The Authenticode reader of cabinets (`imgscan.signing.cab_signature.read_signature`: the header fields that
locate the signature, the digest over the signed bytes, the PKCS#7 read by `catalog.parse_indirect_data`)
against a reading of osslsigncode's CAB digest written here, and against osslsigncode itself.

Input: a cabinet's bytes (.cab or .msu).

Contract (the module's docstring):
- read_signature returns None (no signature declared) or a CabSignature, or raises CabSignatureError with
  a one-line message; nothing else;
- differential: the digest imgscan computes is the one `reference_digest` gives (osslsigncode's steps in
  cab.c `cab_digest_calc`, read here with struct: the header field by field, the cabinet-set names and the
  CFFOLDER entries walked to coffFiles) wherever that reading accepts the header;
- differential: where `osslsigncode verify` reads the same bytes, its "Calculated message digest" is imgscan's;
- 1 GB and 10 s of CPU per input at most.
`sign` (osslsigncode with a key of the test PKI) makes the seeds, and the signed cabinets of
tests/test_cab_signature.py.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "asn1crypto"):
    from imgscan.signing import cab_signature

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=150)
PREV_CABINET, NEXT_CABINET, RESERVE_PRESENT = 0x0001, 0x0002, 0x0004
CALCULATED = re.compile(r"Calculated message digest\s*:\s*([0-9A-F]+)")


def reference_digest(data: bytes, algorithm: str) -> bytes | None:
    """The digest by osslsigncode's steps, or None where they refuse the cabinet (unsigned, a set's first
    cabinet names a previous one, a reserved area of another shape, a coffFiles the walk does not reach)."""
    try:
        (flags,), (header_size,) = struct.unpack_from("<H", data, 30), struct.unpack_from("<I", data, 36)
        folders, (files_at,) = struct.unpack_from("<H", data, 26)[0], struct.unpack_from("<I", data, 16)
        tag, offset, size = struct.unpack_from("<III", data, 40)
    except struct.error:
        return None
    if data[:4] != b"MSCF" or data[4:8] != bytes(4) or flags & PREV_CABINET or not flags & RESERVE_PRESENT:
        return None
    if header_size != 20 or tag != 0x00100000 or not offset or offset + size != len(data):
        return None
    digest = hashlib.new(algorithm)
    digest.update(data[0:4])  # signature
    digest.update(data[8:34])  # cbCabinet, reserved2, coffFiles, reserved3, versions, cFolders, cFiles, flags, setID
    digest.update(data[56:60])  # the reserved area's last 4 bytes
    at = 60
    if flags & NEXT_CABINET:  # szCabinetNext, szDiskNext: two NUL-terminated strings
        for _ in range(2):
            end = data.find(b"\0", at, offset)
            at = offset if end < 0 else end + 1
    at += 8 * folders
    if at != files_at or at > offset:
        return None
    digest.update(data[60:offset])  # the names, CFFOLDERs, then everything up to the signature
    return digest.digest()


@functools.cache
def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="imgscan-fuzz-cabsig-"))


def osslsigncode_digest(path: Path) -> bytes | None:
    """osslsigncode's computed digest for the primary signature, None when it does not get that far."""
    try:
        done = subprocess.run(["osslsigncode", "verify", "-in", str(path)], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    found = CALCULATED.search(done.stdout)
    return bytes.fromhex(found.group(1)) if found else None


def check(data: bytes) -> None:
    path = _scratch() / "fuzzed.cab"
    path.write_bytes(data)
    try:
        signature = cab_signature.read_signature(path)
    except cab_signature.CabSignatureError as exc:
        assert str(exc) and "\n" not in str(exc), repr(str(exc))
        return
    if signature is None:
        return
    assert isinstance(signature, cab_signature.CabSignature)
    assert signature.problem is None or "\n" not in signature.problem, signature.problem
    reference = reference_digest(data, signature.algorithm)
    assert reference is None or signature.file_digest == reference, "digest differs from osslsigncode's steps"
    theirs = osslsigncode_digest(path)
    assert theirs is None or theirs == signature.file_digest, f"digest {signature.file_digest.hex()} differs from osslsigncode's"


@functools.cache
def _signer() -> tuple[bytes, bytes]:
    """(certificates PEM: signer then its CA, private key PEM) of a code-signing certificate of the test PKI."""
    from cryptography.hazmat.primitives import serialization

    from sample_images.pki import make_pki

    pki = make_pki()
    signer = pki.signer("imgscan Test Cabinet Signer", "2000-01-01T00:00:00", "2040-01-01T00:00:00")
    key: bytes = signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signer.pem + pki.code_pca.pem, key


def sign(cabinet: bytes, digest: str = "sha256", *, nest: bool = False) -> bytes:
    """`cabinet` signed by osslsigncode with the test PKI's signer (`nest`: a signature added inside the one
    it already has, as Microsoft dual-signed with SHA-1 and SHA-256)."""
    certs, key = _signer()
    with tempfile.TemporaryDirectory(prefix="imgscan-sign-cab-") as folder:
        work = Path(folder)
        (work / "certs.pem").write_bytes(certs)
        (work / "key.pem").write_bytes(key)
        (work / "in.cab").write_bytes(cabinet)
        args = ["osslsigncode", "sign", "-certs", "certs.pem", "-key", "key.pem", "-h", digest]
        args += ["-nest"] if nest else []
        subprocess.run([*args, "-in", "in.cab", "-out", "out.cab"], cwd=work, check=True, capture_output=True)
        return (work / "out.cab").read_bytes()


def unsigned_cabinets() -> Iterator[bytes]:
    """Small cabinets as gcab writes them (stored and MSZIP): no reserved area."""
    with tempfile.TemporaryDirectory(prefix="imgscan-fuzz-cabsig-seeds-") as folder:
        work = Path(folder)
        (work / "update.mum").write_bytes(b'<?xml version="1.0" encoding="utf-8"?>\r\n<assembly/>\r\n')
        (work / "payload.bin").write_bytes(bytes(range(256)) * 4)
        for flags in ([], ["-z"]):
            target = work / "out.cab"
            subprocess.run(
                ["gcab", "-c", *flags, str(target), "update.mum", "payload.bin"], cwd=work, check=True, capture_output=True
            )
            yield target.read_bytes()


def grafted(cabinet: bytes, signature: bytes) -> bytes:
    """A signed `cabinet` carrying another file's signature instead of its own (a real Microsoft one: its
    certificates and attributes, over a digest that is not this cabinet's)."""
    offset = struct.unpack_from("<I", cabinet, 44)[0]
    padded = signature + bytes(-len(signature) % 8)
    return cabinet[:48] + struct.pack("<I", len(padded)) + cabinet[52:offset] + padded


def seeds() -> Iterator[bytes]:
    """gcab cabinets unsigned, signed with SHA-1 and SHA-256 and dual-signed by osslsigncode, and one carrying
    the signature of each real update (../shared/realdata/updates)."""
    from fuzz.sources import REALDATA

    plain = list(unsigned_cabinets())
    yield from plain
    signed = [sign(plain[0], "sha1"), sign(plain[1], "sha256")]
    signed.append(sign(signed[0], "sha256", nest=True))
    yield from signed
    for path in sorted((REALDATA / "updates").glob("*.*")) if (REALDATA / "updates").is_dir() else []:
        data = path.read_bytes()
        offset, size = struct.unpack_from("<II", data, 44)
        yield grafted(signed[1], data[offset : offset + size])


if __name__ == "__main__":
    fuzz(check, LIMITS)
