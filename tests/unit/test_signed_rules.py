"""The rules whose kind values are signed files, each on its own: one check run (run_check) on catalogs and
boot managers signed in-process by the sample builders (sample_images.pki, catalog_writer, pe_writer, uefi),
read by imgscan's own readers into the kind values a scan would hand the check. A firing case and a quiet
case per rule, on rule, severity (after the scan's time policy), subjects and phase."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import cache

from imgscan.plugins.boot_signature import BootSignature
from imgscan.plugins.catalog_signatures import CatalogSignatures
from imgscan.plugins.component_store import ComponentStore
from imgscan.plugins.qfe_empty import QfeEmpty
from imgscan.plugins.secureboot_ca import PCA_2011_EXPIRES, SecureBootCa
from imgscan.plugins.secureboot_revoked import SecureBootRevoked
from imgscan.plugins.secureboot_signer import SecureBootSigner

from imgscan.artefacts.boot import Boot, BootFile
from imgscan.artefacts.catalog_set import read_catalogs
from imgscan.artefacts.catalogs import Catalogs
from imgscan.artefacts.packages import Packages
from imgscan.check import Severity
from imgscan.servicing import PACKAGES_DIR, Package
from imgscan.signing.authenticode import read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.firmware_db import FirmwareTarget, SignatureDatabase
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from imgscan.timing import Phase
from sample_images.catalog_writer import write_catalog
from sample_images.pe_writer import signed_efi
from sample_images.pki import TestPki, make_pki
from sample_images.uefi import boot_manager, owner_key
from tests.unit.helpers import Ran, at, run_check
from tests.unit.memory import MemoryVolume

KB = "KB2705219"
IDENTITY = f"Package_for_{KB}~31bf3856ad364e35~amd64~~6.1.1.0"
MUM = b'<assembly><package identifier="KB2705219" releaseType="Security Update"/></assembly>'
SIGNED = datetime(2012, 6, 15, tzinfo=timezone.utc)
SIGNER_EXPIRES = "2013-06-30"  # the catalog signer's last day: an untimestamped signature ends with it
AFTER = at("2013-07-01")  # the signer has expired
BEFORE = at("2013-01-01")  # within the default 365-day horizon of the expiry
ESP = "EFI system partition 1"
BOOTMGR = r"EFI\Microsoft\Boot\bootmgfw.efi"


@cache
def _pki() -> TestPki:
    return make_pki()


def _judge(root_trusted: bool = True) -> Judge:
    cache_ = CertCache()
    store = build_store(cache_, None)
    store.image_stores_read = True  # as if read from the image's SOFTWARE hive, which holds the root or not
    if root_trusted:
        store.add(_pki().root.der, "image ROOT")  # as the image's SOFTWARE ROOT store holds it
    return Judge(store, cache_, None)


@cache
def _catalog(timestamped: bool, members: tuple[bytes, ...] = (MUM,)) -> bytes:
    pki = _pki()
    signer = pki.signer("imgscan Test Windows Signing", "2011-07-01T00:00:00", f"{SIGNER_EXPIRES}T23:59:59")
    stamp = (pki.tsa_good, SIGNED) if timestamped else None
    return write_catalog(list(members), SIGNED, signer, [pki.code_pca, pki.stamp_pca], stamp)


def _package(cat: bool = True, mum: bool = True) -> Package:
    return Package(
        identity=IDENTITY,
        state=0x70,  # installed
        install_time=SIGNED,
        install_user="S-1-5-18",
        kb=KB,
        release_type="Security Update",
        mum_path=rf"{PACKAGES_DIR}\{IDENTITY}.mum" if mum else None,
        cat_path=rf"{PACKAGES_DIR}\{IDENTITY}.cat" if cat else None,
        problem=None,
        mum_digests=frozenset({hashlib.sha1(MUM).digest(), hashlib.sha256(MUM).digest()}),
        identifier=KB,
    )


def _servicing(cat: bytes | None, judge: Judge | None = None, extra: dict[str, bytes] | None = None) -> dict[str, object]:
    """The `packages`, `catalogs` and `signature_judge` kinds of an image holding the one package and its catalog `cat`."""
    files: dict[str, bytes | None] = {rf"{PACKAGES_DIR}\{IDENTITY}.mum": MUM} | (extra or {})
    if cat is not None:
        files[rf"{PACKAGES_DIR}\{IDENTITY}.cat"] = cat
    judge = judge or _judge()
    catalogs = read_catalogs(MemoryVolume(files), judge)
    return {"packages": Packages([_package(cat=cat is not None)]), "catalogs": Catalogs(catalogs), "signature_judge": judge}


def _only(ran: Ran, rule: str) -> list:
    return [f for f in ran.stamped if f.rule.id == rule]


# catalog-expiry, catalog-untrusted, catalog-unreadable


def test_catalog_expiry():
    kinds = _servicing(_catalog(timestamped=False))
    (expired,) = run_check(CatalogSignatures, AFTER, **kinds).stamped
    assert expired.rule.id == "catalog-expiry" and expired.effective_severity is Severity.HIGH
    assert expired.phase is Phase.FAILING and str(expired.starts) == "2013-07-01"  # the day after the signer's last
    assert expired.subjects[0] == IDENTITY and f"catalog signature expired on {expired.starts}" in expired.message
    (expires,) = run_check(CatalogSignatures, BEFORE, **kinds).stamped
    assert expires.phase is Phase.SOON and expires.effective_severity is Severity.MEDIUM
    assert run_check(CatalogSignatures, at("2011-01-01", horizon_days=30), **kinds).stamped == []  # after the horizon
    timestamped = _servicing(_catalog(timestamped=True))
    assert run_check(CatalogSignatures, AFTER, **timestamped).stamped == []  # the timestamp keeps it valid


def test_catalog_untrusted():
    untrusted = _servicing(_catalog(timestamped=True), _judge(root_trusted=False))
    (found,) = run_check(CatalogSignatures, AFTER, **untrusted).stamped
    assert found.rule.id == "catalog-untrusted" and found.effective_severity is Severity.HIGH
    assert found.subjects[0] == IDENTITY and found.phase is None  # undated: it never validated
    assert found.hresult == "0x800B0109"  # CERT_E_UNTRUSTEDROOT
    assert _only(run_check(CatalogSignatures, AFTER, **_servicing(_catalog(timestamped=True))), "catalog-untrusted") == []
    assert found.rests_on == ()  # judged against the image's own stores: a verdict of its own
    blind = Judge(build_store(CertCache(), None), CertCache(), None)
    blind.store.image_stores_read = False  # no SOFTWARE hive: the image's ROOT store could not be read
    (unsure,) = run_check(CatalogSignatures, AFTER, **_servicing(_catalog(timestamped=True), blind)).stamped
    assert unsure.rule.id == "catalog-untrusted" and unsure.rests_on == (r"Windows\System32\config\SOFTWARE",)


def test_catalog_unreadable():
    stray = rf"Windows\winsxs\Catalogs\{'ab' * 32}.cat"
    kinds = _servicing(_catalog(timestamped=True), extra={stray: b"not a PKCS#7 catalog"})
    (found,) = run_check(CatalogSignatures, AFTER, **kinds).stamped
    assert found.rule.id == "catalog-unreadable" and found.effective_severity is Severity.LOW
    assert found.evidence[0]["path"] == stray and found.phase is None and found.message.startswith(stray)
    assert _only(run_check(CatalogSignatures, AFTER, **_servicing(_catalog(timestamped=True))), "catalog-unreadable") == []


# qfe-empty


def test_qfe_empty():
    kinds = _servicing(_catalog(timestamped=False))
    ran = run_check(QfeEmpty, AFTER, **kinds)
    (found,) = ran.stamped
    assert found.rule.id == "qfe-empty" and found.effective_severity is Severity.CRITICAL
    assert found.subjects == (IDENTITY,) and found.phase is Phase.FAILING and str(found.starts) == "2013-07-01"
    assert ran.inventory[0].item["empty"] is True
    (soon,) = run_check(QfeEmpty, BEFORE, **kinds).stamped
    assert soon.phase is Phase.SOON and soon.effective_severity is Severity.HIGH
    valid = run_check(QfeEmpty, AFTER, **_servicing(_catalog(timestamped=True)))
    assert valid.stamped == [] and valid.inventory[0].item["empty"] is False
    assert [row["HotFixID"] for row in valid.inventory[0].item["rows"]] == [KB]


# component-store-inconsistent


def test_component_store_inconsistent():
    (missing,) = run_check(ComponentStore, AFTER, **_servicing(None)).stamped
    assert missing.rule.id == "component-store-inconsistent" and missing.effective_severity is Severity.HIGH
    assert missing.subjects == (IDENTITY,) and missing.phase is None
    assert [e["checksur"] for e in missing.evidence] == ["CBS Catalog Missing"]
    (corrupt,) = run_check(ComponentStore, AFTER, **_servicing(_catalog(True, members=(b"another file",)))).stamped
    assert [e["checksur"] for e in corrupt.evidence] == ["CBS MUM Corrupt"] and corrupt.hresult == "0x800F081F"
    assert run_check(ComponentStore, AFTER, **_servicing(_catalog(timestamped=True))).stamped == []


# boot-file-signature-invalid and the Secure Boot rules

DECEMBER = at("2026-12-01")  # after the 2011 PCA's expiry


def _boot(data: bytes) -> Boot:
    cache_ = CertCache()
    pe = read_pe(BOOTMGR, data, Judge(build_store(cache_, None), cache_, None))
    return Boot(files=[BootFile(ESP, pe)])


def test_boot_file_signature_invalid():
    (found,) = run_check(BootSignature, DECEMBER, boot=_boot(boot_manager("2011", True))).stamped
    assert found.rule.id == "boot-file-signature-invalid" and found.effective_severity is Severity.HIGH
    assert found.subjects == (BOOTMGR,) and found.phase is None and "content changed after signing" in found.message
    assert run_check(BootSignature, DECEMBER, boot=_boot(boot_manager("2011", False))).stamped == []


def test_secureboot_ca_2023_required():
    boot = _boot(boot_manager("2023", False))
    (found,) = run_check(SecureBootCa, DECEMBER, boot=boot).stamped
    assert found.rule.id == "secureboot-ca-2023-required" and found.effective_severity is Severity.MEDIUM
    assert found.subjects == (BOOTMGR,) and found.phase is None
    (told,) = run_check(SecureBootCa, at("2026-12-01", firmware=FirmwareTarget("2011-only")), boot=boot).stamped
    assert told.effective_severity is Severity.HIGH
    assert run_check(SecureBootCa, at("2026-12-01", firmware=FirmwareTarget("2023")), boot=boot).stamped == []


def test_secureboot_ca_2011_only():
    boot = _boot(boot_manager("2011", False))
    (found,) = run_check(SecureBootCa, DECEMBER, boot=boot).stamped
    assert found.rule.id == "secureboot-ca-2011-only" and found.starts == PCA_2011_EXPIRES
    assert found.phase is Phase.FAILING and found.effective_severity is Severity.MEDIUM
    assert found.evidence[0]["path"] == BOOTMGR and found.subjects == ()  # the rule's subject is the evidence's file
    (before,) = run_check(SecureBootCa, at("2026-01-01"), boot=boot).stamped
    assert before.phase is Phase.SOON and before.effective_severity is Severity.INFO
    assert run_check(SecureBootCa, at("2026-12-01", firmware=FirmwareTarget("2023")), boot=boot).stamped == []


def test_secureboot_boot_manager_revoked():
    boot = _boot(boot_manager("2011", False))
    image_hash = boot.files[0].pe.image_hashes["sha256"]
    dbx = SignatureDatabase("host-dbx.bin", "0" * 64, (), (), frozenset({image_hash}))
    (found,) = run_check(SecureBootRevoked, at("2026-12-01", dbx=dbx), boot=boot).stamped
    assert found.rule.id == "secureboot-boot-manager-revoked" and found.effective_severity is Severity.HIGH
    assert found.subjects == (BOOTMGR,) and found.phase is None
    assert found.evidence[0]["revoked_by"] == ["its SHA-256 image hash"]
    other = SignatureDatabase("host-dbx.bin", "0" * 64, (), (), frozenset({b"\0" * 32}))
    assert run_check(SecureBootRevoked, at("2026-12-01", dbx=other), boot=boot).stamped == []
    assert run_check(SecureBootRevoked, DECEMBER, boot=boot).skipped == SecureBootRevoked.not_applicable


def test_secureboot_boot_manager_untrusted_signer():
    owner = _boot(signed_efi(owner_key(), []))  # in-process: no sbsign
    (found,) = run_check(SecureBootSigner, DECEMBER, boot=owner).stamped
    assert found.rule.id == "secureboot-boot-manager-untrusted-signer" and found.effective_severity is Severity.MEDIUM
    assert found.subjects == (BOOTMGR,) and found.phase is None
    assert found.evidence[0]["signer"] == found.evidence[0]["issuer"] == "Fabrikam Secure Boot Image Signing"
    (told,) = run_check(SecureBootSigner, at("2026-12-01", firmware=FirmwareTarget("2011-only")), boot=owner).stamped
    assert told.effective_severity is Severity.HIGH
    assert run_check(SecureBootSigner, DECEMBER, boot=_boot(boot_manager("2011", False))).stamped == []
