"""The PE reader of Authenticode signatures (`imgscan.signing.authenticode.read_pe`: the layout pefile finds,
the WIN_CERTIFICATE walk and the image hash) against a plain reading of the Authenticode PE
specification written here.

Input: a PE file's bytes.

Contract (read_pe's docstring):
- read_pe returns a PeFile (a `problem` for a file it cannot read) and never raises;
- differential: the image hash imgscan computes is the one the specification ("Windows Authenticode
  Portable Executable Signature Format", the algorithm UEFI firmware such as EDK2 follows) gives
  for the same headers, read here with struct and not with pefile;
- differential: where pesign (`pesign --hash`) reads the same bytes, it gives the same image hash;
- memory bounded by a few copies of the file (1 GB, 10 s per input at most).
`reference_hash` itself is checked against `pesign --hash` on the seeds by tests/test_fuzz.py.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__, "pefile"):
    from imgscan.signing import authenticode, certs, trust_store, validity

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=100)


def reference_hash(data: bytes, algorithm: str) -> bytes | None:
    """The Authenticode image hash by the specification's steps, from the headers read with struct;
    None for a file that is not a PE with a security directory entry."""

    def u16(at: int) -> int:
        return int(struct.unpack_from("<H", data, at)[0])

    def u32(at: int) -> int:
        return int(struct.unpack_from("<I", data, at)[0])

    try:
        pe = u32(0x3C)
        if data[:2] != b"MZ" or data[pe : pe + 4] != b"PE\0\0":
            return None
        sections, optional_size = u16(pe + 6), u16(pe + 20)
        optional = pe + 24
        directories = {0x10B: optional + 96, 0x20B: optional + 112}.get(u16(optional))
        if directories is None or u32(directories - 4) <= 4:  # NumberOfRvaAndSizes: no security entry
            return None
        checksum, security, headers_end = optional + 64, directories + 4 * 8, u32(optional + 60)
        table_size = u32(security + 4)
        table = [
            data[at + 20 : at + 24] + data[at + 16 : at + 20]
            for at in range(optional + optional_size, optional + optional_size + 40 * sections, 40)
        ]
    except struct.error:
        return None
    digest = hashlib.new(algorithm)
    digest.update(data[:checksum])  # 1-3: the headers without the checksum and the security entry
    digest.update(data[checksum + 4 : security])
    digest.update(data[security + 8 : headers_end])
    hashed = headers_end  # 4: SUM_OF_BYTES_HASHED
    for entry in sorted(struct.unpack("<II", e) for e in table if len(e) == 8):  # 5-6: sections by file offset
        start, size = entry
        if size:
            digest.update(data[start : start + size])
            hashed += size
    extra = len(data) - table_size - hashed  # 7: what follows, without the certificate table
    if extra > 0:
        digest.update(data[hashed : hashed + extra])
    return digest.digest()


@functools.cache
def _store() -> Any:
    return trust_store.build_store(certs.CertCache(), None)


def check(data: bytes) -> None:
    pe = authenticode.read_pe("bootmgfw.efi", data, validity.Judge(_store(), certs.CertCache(), None))
    # a readable PE has signatures or, unsigned, its image hash; one that is not has neither
    assert isinstance(pe, authenticode.PeFile) and (pe.problem is None) == bool(pe.signatures or pe.image_hashes)
    assert all(s.problem is None or "\n" not in s.problem for s in pe.signatures)
    try:
        layout = authenticode._layout(data)
    except authenticode.NotAPe:
        return
    mine = authenticode._image_hash(data, layout, "sha256")
    reference = reference_hash(data, "sha256")
    assert reference is None or mine == reference, "image hash differs from the specification's"
    theirs = pesign_hash(data)
    assert theirs is None or mine == theirs, f"image hash {mine.hex()} differs from pesign's {theirs.hex()}"


@functools.cache
def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="imgscan-fuzz-pe-"))


def pesign_hash(data: bytes) -> bytes | None:
    """pesign's SHA-256 image hash of the file (`pesign --hash`), None when pesign refuses the file."""
    path = _scratch() / "fuzzed.efi"
    path.write_bytes(data)
    try:
        done = subprocess.run(["pesign", "--hash", "--in", str(path)], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None
    words = done.stdout.split()
    return bytes.fromhex(words[-1]) if done.returncode == 0 and words and len(words[-1]) == 64 else None


def seeds() -> Iterator[bytes]:
    """The sample boot managers (signed by the sample PKI), and the real ones' headers."""
    from fuzz.sources import real_files, sample_files

    yield from sample_files(".efi")
    for real in real_files("boot", ".efi"):
        yield real[:4096]


if __name__ == "__main__":
    _store()  # parsing the bundled roots takes seconds under instrumentation: not inside the first input's time
    fuzz(check, LIMITS)
