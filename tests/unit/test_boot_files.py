"""Boot files in-process: the Secure Boot rules on a tree (WIM-like: the boot manager bcdboot installs
from), and bad boot files that must become errors entries, never a crash."""

from __future__ import annotations

import struct
from datetime import date

import pytest

from imgscan.signing.authenticode import read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.pe_writer import unsigned_efi
from sample_images.scenario import load, volume_files
from sample_images.uefi import boot_manager
from tests.unit.memory import memory_scan

BCDBOOT = "Windows/Boot/EFI/bootmgfw.efi"


def _judge() -> Judge:
    cache = CertCache()
    return Judge(build_store(cache, None), cache, None)


def _rules(report: dict) -> set[str]:
    return {f["rule"] for f in report["findings"]}


def test_a_tree_is_judged_by_the_boot_manager_bcdboot_installs():
    report = memory_scan(load("secureboot-2023"), date(2026, 12, 1)).report
    assert "secureboot-ca-2023-required" in _rules(report)
    (boot_file,) = report["inventory"]["boot_files"]
    assert boot_file["where"] == "Windows partition" and boot_file["signed_under"] == ["Windows UEFI CA 2023"]
    assert "winre-partition-too-small" not in _rules(report)  # a tree has no partitions to judge


def _with_security_directory(data: bytes, offset: int, size: int) -> bytes:
    e_lfanew = struct.unpack_from("<I", data, 0x3C)[0]
    entry = e_lfanew + 24 + 112 + 4 * 8  # PE32+: the security directory is data directory 4
    return data[:entry] + struct.pack("<II", offset, size) + data[entry + 8 :]


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("not a PE", b"This is a text file, not a boot manager.\r\n" * 20, "not a PE file"),
        ("directory outside the file", _with_security_directory(unsigned_efi(), 0x10000, 0x100), "outside the file"),
        (
            "garbage signature",
            _with_security_directory(unsigned_efi() + struct.pack("<IHH", 24, 0x200, 2) + b"\x30garbage" + b"\0" * 8, 0x400, 24),
            "signature cannot be read",
        ),
        (
            "entry longer than the table",
            _with_security_directory(unsigned_efi() + struct.pack("<IHH", 999, 0x200, 2) + b"\0" * 8, 0x400, 16),
            "damaged",
        ),
    ],
)
def test_bad_boot_files_are_errors_not_crashes(name, data, problem):
    pe = read_pe("bootmgfw.efi", data, _judge())
    texts = [pe.problem] + [s.problem for s in pe.signatures]
    assert any(t and problem in t for t in texts), (name, texts)
    scenario = load("uefi-healthy")
    files = dict(volume_files(scenario)) | {BCDBOOT: data}
    report = memory_scan(scenario, date(2026, 12, 1), files).report
    assert any(e["path"].replace("\\", "/").endswith("bootmgfw.efi") and problem in e["message"] for e in report["errors"])
    assert not _rules(report) & {"secureboot-ca-2023-required", "secureboot-ca-2011-only"}


def test_a_signed_boot_manager_reads_cleanly():
    pe = read_pe("bootmgfw.efi", boot_manager("2011", False), _judge())
    assert pe.problem is None and not pe.hash_mismatch and pe.signatures[0].problem is None


def test_dbx_revocations_by_certificate_and_by_image_hash():
    """In-process: what secureboot-boot-manager-revoked matches, on the sample boot managers."""
    from imgscan.plugins.secureboot_revoked import revocations

    from imgscan.signing.firmware_db import SignatureDatabase
    from sample_images.uefi import signing_cas

    _, cas = signing_cas()
    old = read_pe("old.efi", boot_manager("2011", False), _judge())
    new = read_pe("new.efi", boot_manager("2023", False), _judge())
    by_cert = SignatureDatabase("dbx", "0" * 64, (cas["2011"].der,), ("Microsoft Windows Production PCA 2011",), frozenset())
    assert revocations(old, by_cert) == ["the certificate 'Microsoft Windows Production PCA 2011' of its signature chain"]
    assert revocations(new, by_cert) == []
    tampered = read_pe("t.efi", boot_manager("2023", True), _judge())
    by_hash = SignatureDatabase("dbx", "0" * 64, (), (), frozenset({new.image_hashes["sha256"]}))
    assert revocations(new, by_hash) == revocations(old, by_hash) == ["its SHA-256 image hash"]  # same code, two signatures
    assert revocations(tampered, by_hash) == []  # one changed byte is another image hash
