"""secureboot-boot-manager-untrusted-signer in-process: a boot manager signed by the owner's own key (by
the sample PE writer, no Debian tool), judged against what --target-firmware says of the hosts' db."""

from __future__ import annotations

from functools import cache

import pytest
from cryptography.x509.oid import NameOID
from imgscan.plugins.boot_signature import BootSignature
from imgscan.plugins.secureboot_ca import SecureBootCa
from imgscan.plugins.secureboot_signer import SecureBootSigner

from imgscan.signing.authenticode import read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget, SignatureDatabase
from imgscan.signing.secureboot import db_allows
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.pe_writer import signed_efi
from sample_images.pki import CODE_SIGNING, Identity, issue
from sample_images.scenario import load, volume_files
from sample_images.uefi import boot_manager, owner_key, signing_cas
from tests.unit.helpers import at, kinds_of, run_check

BCDBOOT = "Windows/Boot/EFI/bootmgfw.efi"
RULE = "secureboot-boot-manager-untrusted-signer"
OWNER_CA = issue("Fabrikam Secure Boot CA", "2024-01-01T00:00:00", "2040-01-01T00:00:00", ca=True)
ISSUED = issue("Fabrikam Boot Signing 2025", "2025-01-01T00:00:00", "2030-01-01T00:00:00", OWNER_CA, (CODE_SIGNING,))


def _db(*certs: Identity, hashes: frozenset[bytes] = frozenset()) -> SignatureDatabase:
    names = tuple(str(c.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value) for c in certs)
    return SignatureDatabase("host-db.bin", "0" * 64, tuple(c.der for c in certs), names, hashes)


@cache
def _image() -> tuple[tuple[str, bytes], ...]:
    return tuple(dict(volume_files(load("uefi-healthy"))).items())


def _healthy() -> dict[str, bytes | None]:
    """A healthy UEFI image's files, built once for the module (its boot manager is replaced per test)."""
    return dict(_image())


def _scan(boot: bytes, target: FirmwareTarget = UNKNOWN) -> dict:
    """The boot-file checks alone (this rule's, and the two whose rules it must not overlap) on the image's
    `boot` kind, as a report gives their findings and the rule's `target_db` inventory."""
    kinds = kinds_of(SecureBootSigner, _healthy() | {BCDBOOT: boot}, "memory")
    report: dict = {"findings": [], "inventory": {}}
    for check in (SecureBootSigner, SecureBootCa, BootSignature):
        ran = run_check(check, at("2026-12-01", "memory", firmware=target), **kinds)
        report["findings"] += [f.to_dict() for f in ran.stamped]
        for item in ran.inventory:
            report["inventory"].setdefault(item.section, []).append(item.item)
    return report


def _found(report: dict, rule: str = RULE) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def _owner_signed() -> bytes:
    return signed_efi(owner_key(), [])


def test_owner_signed_boot_manager_by_what_the_hosts_hold():
    data = _owner_signed()
    (unknown,) = _found(_scan(data))
    assert unknown["severity"] == "medium" and unknown["hits"] == "at every boot with Secure Boot on"
    (evidence,) = unknown["evidence"]
    assert evidence["path"] == "Windows\\Boot\\EFI\\bootmgfw.efi"
    assert evidence["signer"] == evidence["issuer"] == "Fabrikam Secure Boot Image Signing"
    assert "'Fabrikam Secure Boot Image Signing' (self-signed)" in unknown["message"]
    for generation in ("2011-only", "2023"):
        assert [f["severity"] for f in _found(_scan(data, FirmwareTarget(generation)))] == ["high"]
    _, cas = signing_cas()
    microsoft_only = _found(_scan(data, FirmwareTarget("2011-only", _db(cas["2011"]))))
    assert [f["severity"] for f in microsoft_only] == ["high"]
    assert microsoft_only[0]["evidence"][0]["db"] == "host-db.bin"
    assert "holds: Microsoft Windows Production PCA 2011" in microsoft_only[0]["message"]


def test_a_db_that_holds_the_key_its_issuer_or_the_image_hash_starts_it():
    owner = read_pe("boot.efi", _owner_signed(), _judge())
    assert db_allows(owner, _db(owner_key())) == "the certificate 'Fabrikam Secure Boot Image Signing' of its signature chain"
    issued = read_pe("boot.efi", signed_efi(ISSUED, []), _judge())  # the CA is not in the signature: only in db
    assert db_allows(issued, _db(OWNER_CA)) == (
        "the certificate 'Fabrikam Secure Boot CA', which issued 'Fabrikam Boot Signing 2025' of its signature chain"
    )
    assert db_allows(issued, _db(owner_key())) is None
    namesake = issue("Fabrikam Secure Boot CA", "2024-01-01T00:00:00", "2040-01-01T00:00:00", ca=True)  # another key
    assert db_allows(issued, _db(namesake)) is None
    assert db_allows(owner, _db(hashes=frozenset({owner.image_hashes["sha256"]}))) == "its SHA-256 image hash"
    report = _scan(_owner_signed(), FirmwareTarget("2011-only", _db(signing_cas()[1]["2011"], owner_key())))
    assert not _found(report)
    (record,) = report["inventory"]["target_db"]
    assert record["allowed_by"] == "the certificate 'Fabrikam Secure Boot Image Signing' of its signature chain"


def test_microsoft_signed_boot_managers_never_give_it_unless_the_db_holds_no_windows_ca():
    for ca in ("2011", "2023"):
        data = boot_manager(ca, False)
        for target in (UNKNOWN, FirmwareTarget("2011-only"), FirmwareTarget("2023")):
            assert not _found(_scan(data, target))
    owner_only = FirmwareTarget("no-windows-ca", _db(owner_key()))
    report = _scan(boot_manager("2011", False), owner_only)
    (found,) = _found(report)
    assert found["severity"] == "high" and "under Microsoft Windows Production PCA 2011" in found["message"]
    assert not {f["rule"] for f in report["findings"]} & {"secureboot-ca-2011-only", "secureboot-ca-2023-required"}
    assert not _found(_scan(_owner_signed(), owner_only))


@pytest.mark.parametrize("signed", [_owner_signed, lambda: boot_manager("2011", False)], ids=["owner", "microsoft"])
def test_a_changed_file_is_invalid_not_foreign(signed):
    data = bytearray(signed())
    data[0x210] ^= 0x01  # inside .text, which the image hash covers
    report = _scan(bytes(data), FirmwareTarget("2011-only"))
    assert [f["rule"] for f in report["findings"] if f["rule"].startswith(("boot-", "secureboot-"))] == [
        "boot-file-signature-invalid"
    ]


def _judge() -> Judge:
    cache = CertCache()
    return Judge(build_store(cache, None), cache, None)
