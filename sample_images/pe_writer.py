"""Write small signed UEFI boot files: a minimal PE32+ EFI application with an Authenticode signature.

The PE is laid out by hand (DOS stub, PE header, one .text section) so that the sample images need no
compiler, and signed with the test PKI by the catalog writer's PKCS#7 code. The tests check both the
signature and the image hash with osslsigncode and sbverify, implementations nobody here wrote.
"""

from __future__ import annotations

import hashlib
import struct

from sample_images.catalog_writer import write_pe_signature
from sample_images.pki import Identity

FILE_ALIGNMENT = 0x200
EFI_APPLICATION = 10
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002


def unsigned_efi(payload: bytes = b"imgscan sample boot manager\0") -> bytes:
    """A PE32+ image for x64 UEFI whose single section holds `payload`."""
    text = payload.ljust(FILE_ALIGNMENT, b"\xcc")
    dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)  # e_lfanew at 0x3C
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 240, 0x0022)
    optional = struct.pack(
        "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII",
        0x20B,  # PE32+
        14,
        0,  # linker version
        len(text),
        0,
        0,  # code, initialised, uninitialised sizes
        0x1000,
        0x1000,  # entry point, base of code
        0x10000000,  # image base
        0x1000,
        FILE_ALIGNMENT,  # section and file alignment
        6,
        0,
        0,
        0,
        6,
        0,  # OS, image, subsystem versions
        0,  # Win32VersionValue
        0x2000,  # SizeOfImage
        FILE_ALIGNMENT,  # SizeOfHeaders
        0,  # CheckSum
        EFI_APPLICATION,
        0x0160,  # subsystem, DLL characteristics
        0x100000,
        0x1000,
        0x100000,
        0x1000,  # stack and heap reserve/commit
        0,  # loader flags
        16,  # NumberOfRvaAndSizes
    ) + b"\0" * (16 * 8)
    section = struct.pack("<8sIIIIIIHHI", b".text", len(text), 0x1000, len(text), FILE_ALIGNMENT, 0, 0, 0, 0, 0x60000020)
    headers = (dos + b"PE\0\0" + coff + optional + section).ljust(FILE_ALIGNMENT, b"\0")
    return headers + text


def signed_efi(signer: Identity, chain: list[Identity], payload: bytes = b"imgscan sample boot manager\0") -> bytes:
    """The image signed by `signer` with `chain` (intermediates) in the signature: its Authenticode
    SHA-256 image hash (everything but the checksum and the security directory entry: this image has
    no data after its section), signed, appended as one WIN_CERTIFICATE and named in the directory."""
    image = unsigned_efi(payload)
    e_lfanew = struct.unpack_from("<I", image, 0x3C)[0]
    checksum = e_lfanew + 24 + 64
    security = e_lfanew + 24 + 112 + 4 * 8
    image_hash = hashlib.sha256(image[:checksum] + image[checksum + 4 : security] + image[security + 8 :]).digest()
    pkcs7 = write_pe_signature(image_hash, signer, chain)
    entry = struct.pack("<IHH", 8 + len(pkcs7), 0x0200, WIN_CERT_TYPE_PKCS_SIGNED_DATA) + pkcs7
    entry += b"\0" * (-len(entry) % 8)
    directory = struct.pack("<II", len(image), len(entry))
    return image[:security] + directory + image[security + 8 :] + entry
