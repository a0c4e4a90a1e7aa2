"""Issue 16: partitions, UEFI boot files and their Authenticode signatures, and the Secure Boot and
WinRE rules, on built GPT disks, with what imgscan reads checked by independent readers (sfdisk,
mtools, ntfsinfo, osslsigncode, sbverify) and on a real Microsoft-signed UEFI binary, whose CAs and
the CA days imgscan knows are checked against Microsoft's own Secure Boot certificates."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from imgscan.signing.authenticode import read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.build import build
from sample_images.scenario import load
from sample_images.uefi import boot_manager, signing_cas
from tests.conftest import run_imgscan

SHIM = Path("/usr/lib/shim/shimx64.efi.signed")  # Debian shim-signed: signed by Microsoft under two CAs
SCENARIOS = ("uefi-healthy", "secureboot-2023", "secureboot-2011", "winre-small", "bootmgr-tampered")


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    out = tmp_path_factory.mktemp("uefi")
    return {name: build(load(name), out, ("vhdx", "gpt")) for name in SCENARIOS}


def _judge() -> Judge:
    cache = CertCache()
    return Judge(build_store(cache, None), cache, None)


def _scan(image: Path, *args: str) -> dict:
    run = run_imgscan("scan", image, "-f", "json", *args)
    assert run.code in (0, 1), run.stderr
    return run.report


def _rules(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["rule"], []).append(finding)
    return found


def _extract(raw: Path, partition: dict, out: Path) -> None:
    """One partition's bytes into a file of its own (streamed: a disk can be hundreds of MB)."""
    with raw.open("rb") as source, out.open("wb") as target:
        source.seek(partition["offset"])
        remaining = partition["size"]
        while remaining:
            chunk = source.read(min(remaining, 1 << 20))
            target.write(chunk)
            remaining -= len(chunk)


def test_partition_table_and_free_space_match_independent_readers(disks, tmp_path):
    raw = disks["winre-small"]["gpt"]
    table = json.loads(subprocess.run(["sfdisk", "--json", raw], capture_output=True, text=True, check=True).stdout)
    expected = [(p["start"] * 512, p["type"].upper()) for p in table["partitiontable"]["partitions"]]
    report = _scan(disks["winre-small"]["vhdx"])
    partitions = report["inventory"]["partitions"]
    assert [(p["offset"], p["type"]) for p in partitions] == expected
    assert [p["role"] for p in partitions] == ["efi-system", "windows", "recovery"]
    esp, _, recovery = partitions
    _extract(raw, esp, tmp_path / "esp.img")
    listing = subprocess.run(["mdir", "-i", tmp_path / "esp.img", "::/"], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"([\d ]+) bytes free", listing).group(1).replace(" ", "")) == esp["free_bytes"]
    _extract(raw, recovery, tmp_path / "rec.img")
    info = subprocess.run(["ntfsinfo", "-m", "-f", tmp_path / "rec.img"], capture_output=True, text=True, check=True).stdout
    clusters = int(re.search(r"Free Clusters:\s+(\d+)", info).group(1))
    cluster_size = int(re.search(r"Cluster Size:\s+(\d+)", info).group(1))
    assert clusters * cluster_size == recovery["free_bytes"]


def test_boot_manager_signature_agrees_with_osslsigncode(tmp_path):
    for ca, tampered in (("2011", False), ("2023", False), ("2011", True)):
        data = boot_manager(ca, tampered)
        (tmp_path / "boot.efi").write_bytes(data)
        out = subprocess.run(["osslsigncode", "verify", "-in", tmp_path / "boot.efi"], capture_output=True, text=True).stdout
        current = re.search(r"Current message digest\s*:\s*([0-9A-F]+)", out).group(1)
        calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", out).group(1)
        pe = read_pe("boot.efi", data, _judge())
        (signature,) = pe.signatures
        assert signature.digest.hex().upper() == current
        assert pe.image_hashes["sha256"].hex().upper() == calculated
        assert (current == calculated) is (not tampered) is (not pe.hash_mismatch)
        assert signature.chain[1] == {"2011": "Microsoft Windows Production PCA 2011", "2023": "Windows UEFI CA 2023"}[ca]
        (tmp_path / "ca.pem").write_bytes(signing_cas()[1][ca].pem)
        verified = subprocess.run(["sbverify", "--cert", tmp_path / "ca.pem", tmp_path / "boot.efi"], capture_output=True)
        assert (verified.returncode == 0) is (not tampered)


def test_real_microsoft_signed_shim_both_generations(tmp_path):
    """shim-signed carries two WIN_CERTIFICATE entries: Microsoft Corporation UEFI CA 2011 and Microsoft
    UEFI CA 2023. sbverify lists the same signers and verifies the first signature's image hash."""
    data = SHIM.read_bytes()
    pe = read_pe(str(SHIM), data, _judge())
    chains = [s.chain for s in pe.signatures]
    assert [c[1] for c in chains] == ["Microsoft Corporation UEFI CA 2011", "Microsoft UEFI CA 2023"]
    assert not pe.hash_mismatch and all(s.signature.problem is None for s in pe.signatures)
    listed = subprocess.run(["sbverify", "--list", SHIM], capture_output=True, text=True, check=True).stdout
    issuers = re.findall(r"image signature issuers:\n - .*?CN=([^\n/]+)", listed)
    assert issuers == ["Microsoft Corporation UEFI CA 2011", "Microsoft UEFI CA 2023"]
    issuer = next(c for c in pe.signatures[0].signature.certificates if c.common_name == "Microsoft Corporation UEFI CA 2011")
    (tmp_path / "ca.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n" + __import__("base64").encodebytes(issuer.der) + b"-----END CERTIFICATE-----\n"
    )
    assert subprocess.run(["sbverify", "--cert", tmp_path / "ca.pem", SHIM], capture_output=True).returncode == 0
    changed = bytearray(data)
    changed[0x1000] ^= 0xFF
    (tmp_path / "changed.efi").write_bytes(changed)
    assert (
        subprocess.run(["sbverify", "--cert", tmp_path / "ca.pem", tmp_path / "changed.efi"], capture_output=True).returncode != 0
    )
    assert len(read_pe("changed.efi", bytes(changed), _judge()).hash_mismatch) == 2


def _openssl_x509(der: bytes, *args: str) -> str:
    return subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", *args], input=der, capture_output=True, check=True
    ).stdout.decode()


def _microsoft_pem(name: str) -> bytes:
    from importlib import resources

    return resources.files("virt.firmware").joinpath("certs", "microsoft.com", name).read_bytes()


def _microsoft_uefi_certificates() -> dict[str, bytes]:
    """Microsoft's PCA/UEFI CA certificates of 2011 and 2023 (the files firmware db is enrolled from), by
    common name, as virt-firmware ships them; read with openssl, not with imgscan."""
    from importlib import resources

    found: dict[str, bytes] = {}
    for item in resources.files("virt.firmware").joinpath("certs", "microsoft.com").iterdir():
        der = subprocess.run(
            ["openssl", "x509", "-outform", "DER"], input=item.read_bytes(), capture_output=True, check=True
        ).stdout
        subject = _openssl_x509(der, "-subject", "-nameopt", "multiline")
        found[re.search(r"commonName\s*=\s*(.+)", subject).group(1).strip()] = der
    return found


def test_ca_days_are_those_of_microsofts_certificates():
    """Every CA imgscan knows is one of Microsoft's real Secure Boot certificates, with its notAfter day."""
    from imgscan.signing.secureboot import authorities

    real = _microsoft_uefi_certificates()
    assert {"Microsoft Windows Production PCA 2011", "Windows UEFI CA 2023"} <= real.keys()
    for name, authority in authorities().items():
        end = _openssl_x509(real[name], "-enddate", "-dateopt", "iso_8601")
        assert authority.expires is not None and end.startswith(f"notAfter={authority.expires.isoformat()} "), (name, end)


def test_real_shim_chains_end_in_microsofts_own_ca_certificates():
    """The CA certificate each of shim's signatures chains to is byte for byte the one Microsoft enrols
    in firmware db, so the generation imgscan names is the key firmware checks, not only a name."""
    judge = _judge()
    pe = read_pe(str(SHIM), SHIM.read_bytes(), judge)
    real = _microsoft_uefi_certificates()
    assert len(pe.signatures) == 2
    for signature in pe.signatures:
        assert signature.signature is not None and signature.signature.signer is not None
        ca = judge.chain(signature.signature.signer, signature.signature.certificates).certs[1]
        assert ca.common_name == signature.chain[1] and ca.der == real[ca.common_name]


def test_ca_2023_boot_manager_by_target_firmware(disks):
    image = disks["secureboot-2023"]["vhdx"]
    unknown = _rules(_scan(image))["secureboot-ca-2023-required"]
    assert {f["severity"] for f in unknown} == {"medium"}
    assert {e["path"] for f in unknown for e in f["evidence"]} == {r"EFI\Microsoft\Boot\bootmgfw.efi", r"EFI\Boot\bootx64.efi"}
    assert {f["severity"] for f in _rules(_scan(image, "--target-firmware", "2011-only"))["secureboot-ca-2023-required"]} == {
        "high"
    }
    assert "secureboot-ca-2023-required" not in _rules(_scan(image, "--target-firmware", "2023"))


def test_target_firmware_from_an_exported_db(disks, tmp_path):
    """The db of a host, as efitools writes Microsoft's certificates into signature lists, decides as the
    keyword would: a 2011-only db makes the 2023-signed boot manager a high finding, a 2023 db none."""
    image = disks["secureboot-2023"]["vhdx"]
    lists = {}
    for name, pem in (("pca2011", "windows-2011.pem"), ("ca2023", "windows-2023.pem")):
        (tmp_path / pem).write_bytes(_microsoft_pem(pem))
        subprocess.run(["cert-to-efi-sig-list", tmp_path / pem, tmp_path / f"{name}.esl"], check=True, capture_output=True)
        lists[name] = (tmp_path / f"{name}.esl").read_bytes()
    (tmp_path / "old-db.bin").write_bytes(lists["pca2011"])
    (tmp_path / "new-db.bin").write_bytes(lists["pca2011"] + lists["ca2023"])
    told = _scan(image, "--target-firmware", tmp_path / "old-db.bin")
    assert told["target_firmware"] == {"db": "2011-only", "dbx": None}  # the report says what it was told
    assert {f["severity"] for f in _rules(told)["secureboot-ca-2023-required"]} == {"high"}
    assert "secureboot-ca-2023-required" not in _rules(_scan(image, "--target-firmware", tmp_path / "new-db.bin"))
    manifest = tmp_path / "fleet.csv"
    manifest.write_text(f"path,host,target_firmware\n{image},OLD-FW,old-db.bin\n", encoding="utf-8")
    (row,) = json.loads(run_imgscan("fleet", manifest, "--db", tmp_path / "fleet.sqlite", "-f", "json").stdout)
    assert row["worst"] == "high" and "secureboot-ca-2023-required" in row["rules"]


def test_boot_manager_revoked_by_the_hosts_dbx(disks, tmp_path):
    """dbx lists written by efitools: the 2011 CA's certificate revokes the 2011-signed boot manager and
    not the 2023-signed one; the boot manager's image hash, as efitools computes it, revokes both, since
    the two samples are the same code signed twice and the image hash leaves the signature out. Without
    --target-dbx the rule is silent."""
    _, cas = signing_cas()
    (tmp_path / "pca.pem").write_bytes(cas["2011"].pem)
    subprocess.run(["cert-to-efi-sig-list", tmp_path / "pca.pem", tmp_path / "pca.esl"], check=True, capture_output=True)
    (tmp_path / "bootmgfw.efi").write_bytes(boot_manager("2023", False))
    subprocess.run(["hash-to-efi-sig-list", tmp_path / "bootmgfw.efi", tmp_path / "hash.esl"], check=True, capture_output=True)
    efitools_hash = (tmp_path / "hash.esl").read_bytes()[-32:]

    old, new = disks["secureboot-2011"]["vhdx"], disks["secureboot-2023"]["vhdx"]
    report = _scan(old, "--target-dbx", tmp_path / "pca.esl")
    assert report["target_firmware"]["dbx"] == {
        "path": str(tmp_path / "pca.esl"),
        "sha256": hashlib.sha256((tmp_path / "pca.esl").read_bytes()).hexdigest(),
        "hashes": 0,
        "certificates": ["Microsoft Windows Production PCA 2011"],
    }
    by_cert = _rules(report)["secureboot-boot-manager-revoked"]
    assert {f["severity"] for f in by_cert} == {"high"}
    assert {e["path"] for f in by_cert for e in f["evidence"]} == {r"EFI\Microsoft\Boot\bootmgfw.efi", r"EFI\Boot\bootx64.efi"}
    assert all("'Microsoft Windows Production PCA 2011'" in f["message"] for f in by_cert)
    by_hash = _rules(_scan(new, "--target-dbx", tmp_path / "hash.esl"))["secureboot-boot-manager-revoked"]
    assert {e["image_hash"] for f in by_hash for e in f["evidence"]} == {efitools_hash.hex()}
    assert all(f["evidence"][0]["revoked_by"] == ["its SHA-256 image hash"] for f in by_hash)
    same_code = _rules(_scan(old, "--target-dbx", tmp_path / "hash.esl"))["secureboot-boot-manager-revoked"]
    assert {e["image_hash"] for f in same_code for e in f["evidence"]} == {efitools_hash.hex()}
    assert "secureboot-boot-manager-revoked" not in _rules(_scan(new, "--target-dbx", tmp_path / "pca.esl"))
    assert "secureboot-boot-manager-revoked" not in _rules(_scan(old))


def test_ca_2011_only_dates(disks):
    image = disks["secureboot-2011"]["vhdx"]
    before = _rules(_scan(image, "--as-of", "2026-06-01"))["secureboot-ca-2011-only"]
    after = _rules(_scan(image, "--as-of", "2026-10-19"))["secureboot-ca-2011-only"]
    assert [(f["severity"], f["starts"]) for f in before] == [("info", "2026-10-19")]
    assert [(f["severity"], f["starts"]) for f in after] == [("medium", "2026-10-19")]
    assert "UEFICA2023Status = NotStarted" in after[0]["message"]
    assert "secureboot-ca-2011-only" not in _rules(_scan(image, "--target-firmware", "2023"))


def test_winre_partition_too_small(disks):
    found = _rules(_scan(disks["winre-small"]["vhdx"], "--as-of", "2024-02-01"))["winre-partition-too-small"]
    assert [(f["severity"], f["starts"], f["hresult"]) for f in found] == [("high", "2024-01-09", "0x80070643")]
    assert found[0]["evidence"][0]["free_bytes"] < 250 * 1024 * 1024
    early = _rules(_scan(disks["winre-small"]["vhdx"], "--as-of", "2023-06-01"))["winre-partition-too-small"]
    assert [f["severity"] for f in early] == ["medium"]  # within the horizon: starts 2024-01-09


def test_tampered_boot_manager(disks):
    found = _rules(_scan(disks["bootmgr-tampered"]["vhdx"]))["boot-file-signature-invalid"]
    assert {f["severity"] for f in found} == {"high"} and len(found) == 2
    evidence = found[0]["evidence"][0]
    assert evidence["signed_image_hash"] != evidence["image_hash"]


def test_healthy_uefi_control_has_none_of_them(disks):
    rules = set(_rules(_scan(disks["uefi-healthy"]["vhdx"])))
    assert not rules & {
        "secureboot-ca-2023-required",
        "secureboot-ca-2011-only",
        "winre-partition-too-small",
        "boot-file-signature-invalid",
        "secureboot-boot-manager-revoked",
    }


def test_a_damaged_esp_is_an_error_and_the_scan_goes_on(disks, tmp_path):
    damaged = tmp_path / "damaged.raw"
    shutil.copyfile(disks["secureboot-2023"]["gpt"], damaged)
    with damaged.open("r+b") as fh:
        fh.seek(1024 * 1024)  # sample_images.uefi.ESP_START: the FAT boot sector, overwritten
        fh.write(b"\xde\xad" * 256)
    report = _scan(damaged)
    assert any(e["path"] == "partition 1 (efi-system)" and "no file system" in e["message"] for e in report["errors"])
    (boot_file,) = report["inventory"]["boot_files"]  # the boot manager bcdboot installs from, instead
    assert boot_file["where"] == "Windows partition"
    assert "secureboot-ca-2023-required" in _rules(report)


def test_fleet_manifest_names_each_hosts_firmware(disks, tmp_path):
    image = disks["secureboot-2023"]["vhdx"]
    manifest = tmp_path / "fleet.csv"
    manifest.write_text(f"path,host,target_firmware\n{image},OLD-FW,2011-only\n", encoding="utf-8")
    run = run_imgscan("fleet", manifest, "--db", tmp_path / "fleet.sqlite", "-f", "json")
    (row,) = json.loads(run.stdout)
    assert row["worst"] == "high" and "secureboot-ca-2023-required" in row["rules"]
    manifest.write_text(f"path,host,target_firmware\n{image},X,2012\n", encoding="utf-8")
    bad = run_imgscan("fleet", manifest, "--db", tmp_path / "other.sqlite")
    assert bad.code == 2 and "target_firmware 2012: is neither" in bad.stderr and "Traceback" not in bad.stderr


def test_fleet_manifest_target_dbx_and_resume_follows_each_hosts_settings(disks, tmp_path):
    """A manifest's target_dbx column revokes that host's boot manager; with --resume a host whose
    firmware settings changed is scanned again, one whose settings did not is not."""
    _, cas = signing_cas()
    (tmp_path / "pca.pem").write_bytes(cas["2011"].pem)
    subprocess.run(["cert-to-efi-sig-list", tmp_path / "pca.pem", tmp_path / "pca.esl"], check=True, capture_output=True)
    old, new = disks["secureboot-2011"]["vhdx"], disks["secureboot-2023"]["vhdx"]
    manifest = tmp_path / "fleet.csv"
    db = tmp_path / "fleet.sqlite"

    def fleet(rows: str, *args: str) -> dict[str, dict]:
        manifest.write_text("path,host,target_dbx\n" + rows, encoding="utf-8")
        run = run_imgscan("fleet", manifest, "--db", db, "-f", "json", *args)
        assert run.code in (0, 1), run.stderr
        return {row["host"]: row for row in json.loads(run.stdout)}

    def rows() -> dict[str, tuple[str, str | None]]:
        with sqlite3.connect(db) as con:
            return {host: (settings, at) for host, settings, at in con.execute("SELECT host, settings, scanned_at FROM scans")}

    first = fleet(f"{old},OLD,pca.esl\n{new},NEW,pca.esl\n")
    assert "secureboot-boot-manager-revoked" in first["OLD"]["rules"]
    assert "secureboot-boot-manager-revoked" not in first["NEW"]["rules"]
    with sqlite3.connect(db) as con:  # a mark that only a new scan of the host would clear (an error would make it
        con.execute("UPDATE scans SET scanned_at = 'kept' WHERE host IN ('OLD', 'NEW')")  # be judged again)
    again = fleet(f"{old},OLD,\n{new},NEW,pca.esl\n", "--resume")
    assert "secureboot-boot-manager-revoked" not in again["OLD"]["rules"]  # scanned again, without the dbx
    after = rows()
    assert after.keys() == {"OLD", "NEW"}  # OLD's row replaced, not doubled
    assert after["OLD"][0] == "unknown:" and after["OLD"][1] != "kept" and after["NEW"][1] == "kept"  # only OLD changed
    manifest.write_text(f"path,host,target_dbx\n{old},X,missing.esl\n", encoding="utf-8")
    bad = run_imgscan("fleet", manifest, "--db", tmp_path / "other.sqlite")
    assert bad.code == 2 and "target_dbx missing.esl: is not a file" in bad.stderr and "Traceback" not in bad.stderr
