"""The Authenticode digest of a cabinet and the check of its signature (imgscan.signing.cab_signature), on
cabinets made here: cabarchive writes them, a reserved area is inserted as Microsoft's signing tools insert
it, and the PKCS#7 is the sample builders' Authenticode signature (sample_images.catalog_writer). No Debian
tool: tests/test_cab_signature.py compares the same code with osslsigncode on real updates."""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import pytest
from cabarchive import CabArchive, CabFile

from imgscan.preflight.cabinet import UpdateUnreadable, file_signature
from imgscan.signing import cab_signature
from imgscan.signing.cab_signature import CabSignatureError, digests, locate, read_signature
from imgscan.signing.pkcs7 import ContentInfo
from sample_images.catalog_writer import write_pe_signature
from sample_images.pki import make_pki

SIGNED_TAG = 0x00100000
HASHED = set(range(0, 4)) | set(range(8, 34)) | set(range(56, 60))  # the header bytes the digest takes (module docstring)


def cabinet(payload: bytes = bytes(range(256)) * 8) -> bytes:
    archive = CabArchive()
    archive["update.mum"] = CabFile(b"<assembly/>\r\n" * 40)
    archive["payload.bin"] = CabFile(payload)
    saved: bytes = archive.save(compress=True)
    return saved


def with_reserve(cab: bytes, reserve: bytes) -> bytes:
    """`cab` with RESERVE_PRESENT and `reserve` as its header's reserved bytes: what follows the header moves,
    so cbCabinet, coffFiles and each folder's coffCabStart move with it."""
    shift = 4 + len(reserve)
    folders = struct.unpack_from("<H", cab, 26)[0]
    head = bytearray(cab[:36])
    struct.pack_into("<I", head, 8, struct.unpack_from("<I", cab, 8)[0] + shift)
    struct.pack_into("<I", head, 16, struct.unpack_from("<I", cab, 16)[0] + shift)
    struct.pack_into("<H", head, 30, struct.unpack_from("<H", cab, 30)[0] | 0x0004)
    rest = bytearray(cab[36:])
    for number in range(folders):
        struct.pack_into("<I", rest, 8 * number, struct.unpack_from("<I", rest, 8 * number)[0] + shift)
    return bytes(head) + struct.pack("<HBB", len(reserve), 0, 0) + reserve + bytes(rest)


def expected_digest(data: bytes, end: int, algorithm: str = "sha256") -> bytes:
    """The digest spelled out from the module docstring's list, byte ranges written here."""
    return hashlib.new(algorithm, data[0:4] + data[8:34] + data[56:60] + data[60:end]).digest()


@pytest.fixture(scope="module")
def pki():
    return make_pki()


def signed(pki, cab: bytes | None = None) -> bytes:
    """A cabinet signed as Microsoft signs one: a 20-byte reserved area naming the signature, which follows
    the cabinet's cbCabinet bytes padded to a multiple of 8. The signature's size is known before the digest
    it signs (the same signer and chain give the same size for any digest)."""
    unsigned = cabinet() if cab is None else cab
    end = len(unsigned) + 24
    signer = pki.signer("Cabinet Signer", "2019-01-01T00:00:00", "2030-01-01T00:00:00")
    size = len(write_pe_signature(bytes(32), signer, [pki.code_pca]))
    laid_out = with_reserve(unsigned, struct.pack("<III", SIGNED_TAG, end, size + (-size % 8)) + bytes(8))
    assert len(laid_out) == end
    pkcs7 = write_pe_signature(expected_digest(laid_out, end), signer, [pki.code_pca])
    assert len(pkcs7) == size
    return laid_out + pkcs7 + bytes(-size % 8)


def written(tmp_path: Path, data: bytes, name: str = "update.cab") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_an_unsigned_cabinet_declares_no_signature(tmp_path):
    path = written(tmp_path, cabinet())
    assert locate(path.read_bytes()[:60]) is None
    assert read_signature(path) is None and file_signature(path) is None


@pytest.mark.parametrize("reserve", [bytes(6), bytes(12), bytes(20), b"\x01\x00\x10\x00" + bytes(16)], ids=len)
def test_reserved_bytes_not_tagged_as_a_signature_declare_none(tmp_path, reserve):
    """RESERVE_PRESENT with reserved bytes of the writer's own: no signature to check, as before."""
    path = written(tmp_path, with_reserve(cabinet(), reserve))
    assert read_signature(path) is None and file_signature(path) is None


def test_a_signature_in_a_reserved_area_of_another_size_cannot_be_checked(tmp_path):
    cab = cabinet()
    path = written(tmp_path, with_reserve(cab, struct.pack("<III", SIGNED_TAG, len(cab) + 20, 8) + bytes(4)))
    with pytest.raises(CabSignatureError, match="in 16 reserved bytes, not the 20"):
        read_signature(path)
    with pytest.raises(UpdateUnreadable, match="in 16 reserved bytes"):
        file_signature(path)


def test_the_digest_skips_exactly_the_header_fields_that_locate_the_signature(pki, tmp_path):
    """Each of the 60 header bytes flipped in turn: the digest changes for the hashed ones (signature,
    cbCabinet to setID, the reserved area's last 4 bytes) and for no other."""
    data = signed(pki)
    end = struct.unpack_from("<I", data, 44)[0]
    path = written(tmp_path, data)
    with path.open("rb") as fh:
        original = digests(fh, end, ("sha256",))["sha256"]
    assert original == expected_digest(data, end)
    changed = set()
    for at in range(60):
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        path.write_bytes(flipped)
        with path.open("rb") as fh:
            if digests(fh, end, ("sha256",))["sha256"] != original:
                changed.add(at)
    assert changed == HASHED


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_the_digest_is_the_same_whatever_the_chunk_size_and_for_every_algorithm_in_one_pass(pki, tmp_path, monkeypatch, chunk):
    data = signed(pki)
    end = struct.unpack_from("<I", data, 44)[0]
    monkeypatch.setattr(cab_signature, "CHUNK", chunk)
    with written(tmp_path, data).open("rb") as fh:
        found = digests(fh, end, ("sha1", "sha256", "sha384"))
    assert found == {name: expected_digest(data, end, name) for name in ("sha1", "sha256", "sha384")}


def test_the_digest_reads_in_chunks_and_never_the_whole_file(pki, tmp_path, monkeypatch):
    data = signed(pki)
    end = struct.unpack_from("<I", data, 44)[0]
    monkeypatch.setattr(cab_signature, "CHUNK", 100)
    reads: list[int] = []

    class Counting:
        def __init__(self, fh):
            self.fh = fh

        def seek(self, offset):
            return self.fh.seek(offset)

        def read(self, size=-1):
            reads.append(size)
            return self.fh.read(size)

    with written(tmp_path, data).open("rb") as fh:
        digests(Counting(fh), end, ("sha256",))  # type: ignore[arg-type]
    assert max(reads) == 100 and -1 not in reads and len(reads) == 1 + (end - 60 + 99) // 100


def test_a_signed_cabinet_matches_and_its_signature_verifies(pki, tmp_path):
    path = written(tmp_path, signed(pki))
    found = read_signature(path)
    assert found is not None and found.valid and found.algorithm == "sha256" and found.signer == "Cabinet Signer"
    assert file_signature(path) == found and found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_file_is_read_once_for_its_digest_and_its_sha256(pki, tmp_path, monkeypatch):
    """An update can be hundreds of MB: the signature's digest and the SHA-256 the report gives come from one
    pass, every byte read once (the header, the signature, then the file from the top)."""
    data = signed(pki, cabinet(random.Random(1).randbytes(300_000)))  # incompressible: ~75 chunks
    path = written(tmp_path, data)
    monkeypatch.setattr(cab_signature, "CHUNK", 4096)
    real_open, counted = Path.open, []

    def counting_open(self, *args, **kwargs):
        fh = real_open(self, *args, **kwargs)
        read = fh.read
        fh.read = lambda n=-1: counted.append(len(got := read(n))) or got  # type: ignore[method-assign]
        return fh

    monkeypatch.setattr(Path, "open", counting_open)
    found = read_signature(path)
    assert found is not None and found.valid and found.sha256 == hashlib.sha256(data).hexdigest()
    offset, size = struct.unpack_from("<II", data, 44)
    assert sum(counted) == 60 + size + len(data)  # the header, the signature, then every byte once


def test_a_byte_changed_after_the_header_is_a_mismatch(pki, tmp_path):
    data = bytearray(signed(pki))
    data[200] ^= 0x01
    found = read_signature(written(tmp_path, bytes(data)))
    assert found is not None and not found.matches and not found.valid and found.problem is None


def test_a_signature_whose_signer_signature_was_changed_does_not_verify(pki, tmp_path):
    data = signed(pki)
    offset = struct.unpack_from("<I", data, 44)[0]
    value = ContentInfo.load(data[offset:], strict=False)["content"]["signer_infos"][0]["signature"].native
    at = data.index(value, offset) + len(value) // 2
    broken = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
    found = read_signature(written(tmp_path, broken))
    assert found is not None and found.matches and not found.valid
    assert found.problem == "signature does not verify with the signer certificate's key"


def test_a_signature_that_is_not_authenticode_cannot_be_read(pki, tmp_path):
    data = signed(pki)
    offset, size = struct.unpack_from("<II", data, 44)
    inner = b"\x04\x82" + (size - 8).to_bytes(2, "big") + bytes(size - 8)  # an OCTET STRING of zeros
    junk = b"\x30\x82" + (size - 4).to_bytes(2, "big") + inner  # a SEQUENCE that fills the space, not a ContentInfo
    assert len(junk) == size
    with pytest.raises(CabSignatureError, match="its signature cannot be read"):
        read_signature(written(tmp_path, data[:offset] + junk))


def test_a_signature_cut_short_cannot_be_read(pki, tmp_path):
    with pytest.raises(CabSignatureError, match="cut short"):
        read_signature(written(tmp_path, signed(pki)[:-9]))


def test_a_signature_placed_inside_the_header_cannot_be_read(pki, tmp_path):
    data = bytearray(signed(pki))
    struct.pack_into("<I", data, 44, 40)
    with pytest.raises(CabSignatureError, match="inside the header"):
        read_signature(written(tmp_path, bytes(data)))


def test_a_signature_said_to_be_larger_than_any_is_not_read_into_memory(pki, tmp_path, monkeypatch):
    data = signed(pki)
    monkeypatch.setattr(cab_signature, "MAX_SIGNATURE", struct.unpack_from("<I", data, 48)[0] - 1)
    with pytest.raises(CabSignatureError, match="more than any signature takes"):
        read_signature(written(tmp_path, data))
