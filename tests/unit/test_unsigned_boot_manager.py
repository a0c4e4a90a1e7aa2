"""secureboot-boot-manager-unsigned in-process: a boot manager with no signature (the sample PE writer's
unsigned EFI application), judged against what --target-firmware says of the hosts' db. It used to be an
errors entry ("not signed"), which a CI gate does not fail on: a host that will not boot is a finding."""

from __future__ import annotations

from datetime import date

import pytest
from imgscan.plugins.boot_signature import BootSignature
from imgscan.plugins.secureboot_ca import SecureBootCa
from imgscan.plugins.secureboot_signer import SecureBootSigner
from imgscan.plugins.secureboot_unsigned import SecureBootUnsigned

from imgscan.signing.authenticode import read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget, SignatureDatabase
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.pe_writer import unsigned_efi
from sample_images.scenario import load, volume_files
from sample_images.uefi import boot_manager, signing_cas
from tests.unit.helpers import at, kinds_of, run_check
from tests.unit.memory import memory_scan

BCDBOOT = "Windows/Boot/EFI/bootmgfw.efi"
RULE = "secureboot-boot-manager-unsigned"


def _image_hash(data: bytes) -> bytes:
    cache = CertCache()
    return read_pe("bootmgfw.efi", data, Judge(build_store(cache, None), cache, None)).image_hashes["sha256"]


def _db(hashes: frozenset[bytes] = frozenset()) -> SignatureDatabase:
    _, cas = signing_cas()
    return SignatureDatabase("host-db.bin", "0" * 64, (cas["2011"].der,), ("Microsoft Windows Production PCA 2011",), hashes)


def _rules(boot: bytes, target: FirmwareTarget = UNKNOWN) -> list[tuple[str, str]]:
    """(rule, severity) of every boot-file finding on a healthy UEFI tree whose boot manager is `boot`."""
    files = dict(volume_files(load("uefi-healthy"))) | {BCDBOOT: boot}
    kinds = kinds_of(SecureBootUnsigned, files, "memory")
    found = []
    for check in (SecureBootUnsigned, SecureBootSigner, SecureBootCa, BootSignature):
        found += [
            (f.rule.id, f.severity.name.lower())
            for f in run_check(check, at("2026-12-01", "memory", firmware=target), **kinds).stamped
        ]
    return found


def test_an_unsigned_boot_manager_is_a_finding_by_what_the_hosts_hold():
    data = unsigned_efi()
    assert _rules(data) == [(RULE, "medium")]
    for generation in ("2011-only", "2023"):
        assert _rules(data, FirmwareTarget(generation)) == [(RULE, "high")]
    assert _rules(data, FirmwareTarget("2011-only", _db())) == [(RULE, "high")]


def test_a_db_that_lists_its_image_hash_starts_it():
    data = unsigned_efi()
    assert _rules(data, FirmwareTarget("2011-only", _db(frozenset({_image_hash(data)})))) == []


@pytest.mark.parametrize("ca", ["2011", "2023"])
def test_a_signed_boot_manager_is_never_unsigned(ca):
    assert RULE not in {rule for rule, _ in _rules(boot_manager(ca, False), FirmwareTarget("2011-only"))}


def test_in_a_whole_scan_it_is_a_finding_with_its_image_hash_not_an_errors_entry():
    scenario = load("uefi-healthy")
    data = unsigned_efi()
    report = memory_scan(scenario, date(2026, 12, 1), dict(volume_files(scenario)) | {BCDBOOT: data}).report
    (finding,) = [f for f in report["findings"] if f["rule"] == RULE]
    assert finding["evidence"][0]["image_hash"] == _image_hash(data).hex()
    assert "carries no Authenticode signature" in finding["message"]
    assert not [e for e in report["errors"] if e["path"].replace("\\", "/").endswith("bootmgfw.efi")]
