"""--target-firmware DB_FILE and --target-dbx DBX_FILE: Secure Boot db and dbx exported from a host.
Signature lists are written by efitools (cert-to-efi-sig-list, hash-to-efi-sig-list) from Microsoft's
own certificates (as virt-firmware ships them) and by pesign's efisiglist, and read back by
sig-list-to-certs and openssl; a real firmware db and dbx are those of Debian OVMF's Microsoft-enrolled
variable store, read by virt-fw-vars; pesign computes a real shim's image hash independently."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from imgscan.errors import ImgscanError
from imgscan.signing.firmware_db import firmware_target, read_dbx, read_signature_database
from tests.conftest import run_imgscan

OWNER = "77fa9abd-0359-4d32-bd60-28f4e78f784b"  # Microsoft's owner GUID for its db entries
OVMF_MS_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.ms.fd")  # Debian ovmf: Microsoft's 2011 KEK and db enrolled
SHIM = Path("/usr/lib/shim/shimx64.efi.signed")
PEM = {
    "pca2011": "windows-2011.pem",
    "uefi2011": "ms-uefi-2011.pem",
    "ca2023": "windows-2023.pem",
    "uefi2023": "ms-uefi-2023.pem",
}


def _list(tmp_path: Path, key: str) -> bytes:
    """One EFI_SIGNATURE_LIST holding one of Microsoft's certificates, written by efitools."""
    source = resources.files("virt.firmware").joinpath("certs", "microsoft.com", PEM[key])
    (tmp_path / f"{key}.pem").write_bytes(source.read_bytes())
    out = tmp_path / f"{key}.esl"
    subprocess.run(["cert-to-efi-sig-list", "-g", OWNER, tmp_path / f"{key}.pem", out], check=True, capture_output=True)
    return out.read_bytes()


def _hash_list(tmp_path: Path) -> bytes:
    out = tmp_path / "hash.esl"
    subprocess.run(["hash-to-efi-sig-list", SHIM, out], check=True, capture_output=True)
    return out.read_bytes()


def _db(tmp_path: Path, name: str, *parts: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(parts))
    return path


def _names(path: Path) -> list[str]:
    return list(read_signature_database(path).names)


def _independent_names(path: Path, tmp_path: Path) -> list[str]:
    """sig-list-to-certs writes each X.509 entry as PREFIX-N.der; openssl names its subject."""
    prefix = tmp_path / f"{path.stem}-cert"
    subprocess.run(["sig-list-to-certs", path, prefix], check=True, capture_output=True)
    names = []
    for der in sorted(tmp_path.glob(f"{path.stem}-cert-*.der"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        subject = subprocess.run(
            ["openssl", "x509", "-inform", "DER", "-in", der, "-noout", "-subject", "-nameopt", "multiline"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        names.append(re.search(r"commonName\s*=\s*(.+)", subject).group(1).strip())
    return names


def test_2011_db_and_2023_db_as_efitools_writes_them(tmp_path):
    old = _db(tmp_path, "db2011.bin", _list(tmp_path, "pca2011"), _list(tmp_path, "uefi2011"))
    new = _db(tmp_path, "db2023.bin", _list(tmp_path, "pca2011"), _hash_list(tmp_path), _list(tmp_path, "ca2023"))
    assert firmware_target(str(old)).generation == "2011-only" and firmware_target(str(new)).generation == "2023"
    assert firmware_target(str(new)).db == read_signature_database(new)  # the entries travel with the target
    for db in (old, new):
        assert _names(db) == _independent_names(db, tmp_path)
    assert _names(new) == ["Microsoft Windows Production PCA 2011", "Windows UEFI CA 2023"]  # the hash list is skipped


def test_efivarfs_copy_with_its_attributes_first(tmp_path):
    content = _list(tmp_path, "uefi2011") + _list(tmp_path, "ca2023")
    efivar = _db(tmp_path, "db-d719b2cb-3d3a-4596-a3bc-dad00e67656f", (0x27).to_bytes(4, "little"), content)
    assert firmware_target(str(efivar)).generation == "2023"


def test_real_ovmf_db_holds_the_2011_certificates_only(tmp_path):
    """Debian's OVMF with Microsoft's keys enrolled, as virt-fw-vars reads its db: a 2011-only firmware."""
    dump = tmp_path / "vars.json"
    virt_fw_vars = Path(sys.executable).parent / "virt-fw-vars"  # installed with the test extras, beside python
    subprocess.run([virt_fw_vars, "-i", OVMF_MS_VARS, "--output-json", dump], check=True, capture_output=True)
    (db,) = [v for v in json.loads(dump.read_text())["variables"] if v["name"] == "db"]
    path = _db(tmp_path, "ovmf-db.bin", bytes.fromhex(db["data"]))
    assert _names(path) == _independent_names(path, tmp_path)
    assert {"Microsoft Windows Production PCA 2011", "Microsoft Corporation UEFI CA 2011"} <= set(_names(path))
    assert firmware_target(str(path)).generation == "2011-only"


def test_keywords_pass_and_relative_paths_follow_the_base(tmp_path):
    keywords = [firmware_target(k) for k in ("2011-only", "2023", "unknown")]
    assert [(t.generation, t.db) for t in keywords] == [("2011-only", None), ("2023", None), ("unknown", None)]
    assert [t.setting() for t in keywords] == ["2011-only", "2023", "unknown"]  # what fleet --resume stored before
    path = _db(tmp_path, "host-db.bin", _list(tmp_path, "ca2023"))
    target = firmware_target("host-db.bin", tmp_path)
    assert target.generation == "2023" and target.setting() == f"2023@{hashlib.sha256(path.read_bytes()).hexdigest()}"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00" * 10, "not a Secure Boot db or dbx export"),
        (b"garbage that is long enough to look like a header, but is not one" * 2, "not a Secure Boot db or dbx export"),
        (b"", "is empty"),
        (b"xx", "not a Secure Boot db or dbx export"),
        (b"\x27\x00\x00\x00", "not a Secure Boot db or dbx export"),
    ],
    ids=["short", "garbage", "empty", "two-bytes", "attributes-only"],
)
def test_bad_exports_are_one_line_errors(tmp_path, content, problem):
    path = _db(tmp_path, "bad.bin", content)
    with pytest.raises(ImgscanError, match=problem) as raised:
        firmware_target(str(path))
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_truncated_list_and_a_certificate_that_is_not_one(tmp_path):
    whole = _list(tmp_path, "pca2011")
    with pytest.raises(ImgscanError, match="inconsistent sizes"):
        firmware_target(str(_db(tmp_path, "cut.bin", whole[:-100])))
    broken = bytearray(whole)
    broken[28 + 16 : 28 + 16 + 64] = b"\xff" * 64  # the certificate's first bytes, after the owner GUID
    with pytest.raises(ImgscanError, match="not a certificate"):
        firmware_target(str(_db(tmp_path, "broken.bin", bytes(broken))))


def test_a_db_without_a_windows_ca_is_an_owners_own(tmp_path):
    """A db that holds neither Windows CA (an owner's own keys, or only third-party loaders' CA) starts no
    Microsoft-signed Windows boot manager: its generation says so, and its certificates are kept to judge
    boot managers signed by other keys. A db with no certificate and no hash starts nothing at all."""
    target = firmware_target(str(_db(tmp_path, "thirdparty.bin", _list(tmp_path, "uefi2011"))))
    assert target.generation == "no-windows-ca"
    assert target.db is not None and target.db.names == ("Microsoft Corporation UEFI CA 2011",)
    other = _list(tmp_path, "pca2011")
    other = b"\x00" * 16 + other[16:]  # the same list under an unknown signature type GUID
    with pytest.raises(ImgscanError, match="holds no certificate and no SHA-256 image hash"):
        firmware_target(str(_db(tmp_path, "unknown-types.bin", other)))


def test_cli_rejects_a_bad_export_in_one_line(tmp_path):
    bad = _db(tmp_path, "bad.bin", b"\x01" * 40)
    run = run_imgscan("scan", tmp_path, "--target-firmware", bad)
    assert run.code == 2 and "Traceback" not in run.stderr
    assert f"{bad}: not a Secure Boot db or dbx export" in run.stderr and "Get-SecureBootUEFI" in run.stderr


def test_real_shim_image_hash_in_a_dbx_written_by_pesign(tmp_path):
    """pesign computes the Authenticode SHA-256 of Microsoft-signed shim on its own and efisiglist writes
    it into a dbx list: read back, it is the hash imgscan computes and matches against dbx."""
    from imgscan.signing.authenticode import read_pe
    from imgscan.signing.certs import CertCache
    from imgscan.signing.trust_store import build_store
    from imgscan.signing.validity import Judge

    printed = subprocess.run(
        ["pesign", "--hash", "--in", SHIM, "--digest_type", "sha256"], check=True, capture_output=True, text=True
    )
    digest = re.fullmatch(r"hash: ([0-9a-f]{64})\n", printed.stdout).group(1)
    subprocess.run(["efisiglist", "-o", tmp_path / "dbx.esl", "-a", "-h", digest], check=True, capture_output=True)
    dbx = read_dbx("dbx.esl", tmp_path)
    cache = CertCache()
    pe = read_pe(str(SHIM), SHIM.read_bytes(), Judge(build_store(cache, None), cache, None))
    assert dbx.hashes == {pe.image_hashes["sha256"]} == {bytes.fromhex(digest)} and dbx.certificates == ()


def test_real_ovmf_dbx_reads(tmp_path):
    """Debian OVMF's dbx, as virt-fw-vars reads it: SHA-256 entries and no certificate."""
    dump = tmp_path / "vars.json"
    subprocess.run(
        [Path(sys.executable).parent / "virt-fw-vars", "-i", OVMF_MS_VARS, "--output-json", dump], check=True, capture_output=True
    )
    (dbx,) = [v for v in json.loads(dump.read_text())["variables"] if v["name"] == "dbx"]
    path = _db(tmp_path, "dbx.bin", bytes.fromhex(dbx["data"]))
    read = read_dbx(str(path))
    assert read.hashes and all(len(h) == 32 for h in read.hashes) and read.certificates == ()
    assert read.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_dbx_must_be_a_file(tmp_path):
    with pytest.raises(ImgscanError, match="is not a file"):
        read_dbx(str(tmp_path / "missing.bin"))
