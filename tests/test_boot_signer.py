"""Issue 21: a boot manager re-signed with the owner's own key (sbattach --remove, then sbsign with a
self-signed image signing key) on a built GPT disk. sbverify and osslsigncode read the re-signed file
on their own; efitools writes the hosts' db; mtools takes the file off the disk's EFI system partition.
Without a db that holds the key, secureboot-boot-manager-untrusted-signer reports it; with one (given
to --target-firmware or in a fleet manifest) it does not; a Microsoft-signed boot manager never gives it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from imgscan.signing.authenticode import read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.build import build
from sample_images.scenario import load
from sample_images.uefi import ESP_SIZE, ESP_START, boot_manager, owner_key, signing_cas
from tests.conftest import run_imgscan

RULE = "secureboot-boot-manager-untrusted-signer"
OWNER = "Fabrikam Secure Boot Image Signing"
ESP_FILES = {r"EFI\Microsoft\Boot\bootmgfw.efi", r"EFI\Boot\bootx64.efi"}


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    out = tmp_path_factory.mktemp("owner")
    return {name: build(load(name), out, ("vhdx", "gpt")) for name in ("bootmgr-owner-signed", "uefi-healthy")}


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, Path]:
    """Signature lists written by efitools: the owner's key, Microsoft's 2011 PCA (the sample one), and a
    db of both, as a company that adds its key to Microsoft's db has."""
    out = tmp_path_factory.mktemp("db")
    lists = {}
    for name, pem in (("owner", owner_key().pem), ("pca2011", signing_cas()[1]["2011"].pem)):
        (out / f"{name}.pem").write_bytes(pem)
        subprocess.run(["cert-to-efi-sig-list", out / f"{name}.pem", out / f"{name}.esl"], check=True, capture_output=True)
        lists[name] = out / f"{name}.esl"
    (out / "both.esl").write_bytes(lists["pca2011"].read_bytes() + lists["owner"].read_bytes())
    return lists | {"both": out / "both.esl"}


def _scan(image: Path, *args: object) -> dict:
    run = run_imgscan("scan", image, "-f", "json", *args)
    assert run.code in (0, 1), run.stderr
    return run.report


def _found(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == RULE]


def _esp_boot_manager(raw: Path, out: Path) -> bytes:
    """bootmgfw.efi as mtools reads it off the disk's EFI system partition."""
    with raw.open("rb") as fh:
        fh.seek(ESP_START)
        (out / "esp.img").write_bytes(fh.read(ESP_SIZE))
    subprocess.run(["mcopy", "-i", out / "esp.img", "::/EFI/Microsoft/Boot/bootmgfw.efi", out / "bootmgfw.efi"], check=True)
    return (out / "bootmgfw.efi").read_bytes()


def test_the_disk_holds_the_re_signed_file_as_independent_readers_see_it(disks, tmp_path):
    data = _esp_boot_manager(disks["bootmgr-owner-signed"]["gpt"], tmp_path)
    assert data == boot_manager("2011", False, True)
    listed = subprocess.run(["sbverify", "--list", tmp_path / "bootmgfw.efi"], capture_output=True, text=True, check=True).stdout
    # Microsoft's signature is gone, not kept beside the owner's
    assert re.findall(r"^signature \d+$", listed, re.MULTILINE) == ["signature 1"]
    assert re.findall(r"image signature issuers:\n - /CN=([^/\n]+)", listed) == [OWNER]
    assert re.findall(r"subject: /CN=([^/\n]+)", listed) == [OWNER]
    (tmp_path / "owner.pem").write_bytes(owner_key().pem)
    (tmp_path / "pca.pem").write_bytes(signing_cas()[1]["2011"].pem)
    assert (
        subprocess.run(["sbverify", "--cert", tmp_path / "owner.pem", tmp_path / "bootmgfw.efi"], capture_output=True).returncode
        == 0
    )
    assert (
        subprocess.run(["sbverify", "--cert", tmp_path / "pca.pem", tmp_path / "bootmgfw.efi"], capture_output=True).returncode
        != 0
    )
    out = subprocess.run(["osslsigncode", "verify", "-in", tmp_path / "bootmgfw.efi"], capture_output=True, text=True).stdout
    current = re.search(r"Current message digest\s*:\s*([0-9A-F]+)", out).group(1)
    calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", out).group(1)
    assert re.search(r"Subject: /CN=([^/\n]+)", out).group(1) == OWNER
    cache = CertCache()
    pe = read_pe("bootmgfw.efi", data, Judge(build_store(cache, None), cache, None))
    (signature,) = pe.signatures
    assert current == calculated == signature.digest.hex().upper() == pe.image_hashes["sha256"].hex().upper()
    assert signature.chain == (OWNER,)


def test_owner_signed_boot_manager_is_reported_with_file_signer_and_issuer(disks):
    image = disks["bootmgr-owner-signed"]["vhdx"]
    found = _found(_scan(image))
    assert {f["severity"] for f in found} == {"medium"}  # the hosts' db is not known
    assert {e["path"] for f in found for e in f["evidence"]} == ESP_FILES
    assert {(e["signer"], e["issuer"]) for f in found for e in f["evidence"]} == {(OWNER, OWNER)}
    assert all("Secure Boot violation" in f["message"] and f["hits"] == "at every boot with Secure Boot on" for f in found)
    for generation in ("2011-only", "2023"):
        assert {f["severity"] for f in _found(_scan(image, "--target-firmware", generation))} == {"high"}
    table = run_imgscan("scan", image).stdout
    heads = [line for line in table.splitlines() if line.startswith(f"MEDIUM   {RULE}")]
    assert len(heads) == 2 and all(line.endswith("(at every boot with Secure Boot on)") for line in heads)


def test_a_db_that_holds_the_owners_key_gives_no_finding(disks, dbs):
    image = disks["bootmgr-owner-signed"]["vhdx"]
    trusted = _scan(image, "--target-firmware", dbs["both"])
    assert trusted["target_firmware"]["db"] == "2011-only" and not _found(trusted)
    assert {r["allowed_by"] for r in trusted["inventory"]["target_db"]} == {f"the certificate '{OWNER}' of its signature chain"}
    owner_only = _scan(image, "--target-firmware", dbs["owner"])  # a company's own PK/KEK/db, Microsoft's removed
    assert owner_only["target_firmware"]["db"] == "no-windows-ca" and not _found(owner_only)
    refused = _found(_scan(image, "--target-firmware", dbs["pca2011"]))
    assert {f["severity"] for f in refused} == {"high"}
    assert {e["db"] for f in refused for e in f["evidence"]} == {str(dbs["pca2011"])}


def test_hash_entry_written_by_efitools_starts_the_file(disks, tmp_path):
    (tmp_path / "bootmgfw.efi").write_bytes(boot_manager("2011", False, True))
    subprocess.run(["hash-to-efi-sig-list", tmp_path / "bootmgfw.efi", tmp_path / "hash.esl"], check=True, capture_output=True)
    report = _scan(disks["bootmgr-owner-signed"]["vhdx"], "--target-firmware", tmp_path / "hash.esl")
    assert not _found(report) and {r["allowed_by"] for r in report["inventory"]["target_db"]} == {"its SHA-256 image hash"}


def test_microsoft_signed_boot_manager_never_gives_it(disks, dbs):
    image = disks["uefi-healthy"]["vhdx"]
    for args in ((), ("--target-firmware", "2011-only"), ("--target-firmware", "2023"), ("--target-firmware", dbs["both"])):
        assert not _found(_scan(image, *args)), args
    refused = _scan(image, "--target-firmware", dbs["owner"])  # hosts that trust only the owner's key
    assert {f["severity"] for f in _found(refused)} == {"high"}
    assert not {f["rule"] for f in refused["findings"]} & {"secureboot-ca-2011-only", "secureboot-ca-2023-required"}


def test_fleet_manifest_gives_each_host_its_db(disks, dbs, tmp_path):
    """One copy of the image per host (a fleet scans each image file once)."""
    copies = {host: tmp_path / f"{host}.vhdx" for host in ("OWN-DB", "MS-DB", "UNKNOWN")}
    for copy in copies.values():
        shutil.copyfile(disks["bootmgr-owner-signed"]["vhdx"], copy)
    manifest = tmp_path / "fleet.csv"
    manifest.write_text(
        "path,host,target_firmware\n"
        f"{copies['OWN-DB']},OWN-DB,{dbs['both']}\n"
        f"{copies['MS-DB']},MS-DB,{dbs['pca2011']}\n"
        f"{copies['UNKNOWN']},UNKNOWN,\n"
        f"{disks['uefi-healthy']['vhdx']},MS-SIGNED,{dbs['pca2011']}\n",
        encoding="utf-8",
    )
    run = run_imgscan("fleet", manifest, "--db", tmp_path / "fleet.sqlite", "-f", "json")
    assert run.code in (0, 1), run.stderr
    rows = {row["host"]: row for row in json.loads(run.stdout)}
    assert RULE not in rows["OWN-DB"]["rules"] and RULE not in rows["MS-SIGNED"]["rules"]
    assert RULE in rows["MS-DB"]["rules"] and rows["MS-DB"]["worst"] == "high"
    assert RULE in rows["UNKNOWN"]["rules"]
