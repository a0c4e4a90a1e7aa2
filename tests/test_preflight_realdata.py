"""Every real Microsoft update package of ../shared/realdata/updates: read without error (or with its one-line
reason), its facts equal to the README's table and to the update.mum cabextract expands, and its verdict on
each bundled sample image and on the `preflight` scenario (Windows 7 SP1 with its base packages)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from imgscan.preflight.cabinet import UpdateUnreadable, file_signature
from imgscan.preflight.package import read_update
from imgscan.preflight.run import preflight
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REALDATA, REPO

UPDATES = REALDATA / "updates"
FILES = sorted(UPDATES.glob("*.*")) if UPDATES.is_dir() else []
ROW = re.compile(r"^\| updates/(?P<file>\S+) \|.*\| (?P<facts>[^|]*releaseType=[^|]*) \|$")
NA, FAILS = "not-applicable", "will-not-install"
# file -> (status, reason codes) on the bundled images healthy (Windows 7 SP1 x64 with SHA-2 support, a March
# 2019 servicing stack and the ESU licensing package), ref-w7-2012q3 and ws-acc-0417 (Windows 7 SP1 x64 before SHA-2
# support), all three with Windows 7 SP1's own packages (Foundation, Client-Features, edition, en-US language
# pack, Tablet PC), as the `preflight` scenario (before SHA-2 support, on a volume with 8.8 MB free)
NO_PARENT = (NA, "no-parent-installed")
INSTALLS = ("installs", "")
NO_SPACE = (FAILS, "not-enough-space")  # 16 MB of payload; the sample volumes have less free
SHA2 = (FAILS, "sha2-support-missing,servicing-stack-too-old")
ESU = (FAILS, "sha2-support-missing,servicing-stack-too-old,esu-prerequisites-missing")
EXPECTED = {
    # (healthy, ref-w7-2012q3, ws-acc-0417, preflight)
    "HackAndPwn_Windows6.1-KB2462137-v2-x64.msu": (NO_PARENT,) * 4,  # AD LDS
    "HackAndPwn_Windows6.1-KB2891638-x64.msu": (NO_PARENT,) * 4,  # a WindowsFoundation language pack
    "HackAndPwn_Windows6.1-KB2990999-x64.msu": (NO_PARENT,) * 4,  # needs IE11's optional package
    "HackAndPwn_Windows6.1-KB3046480-x86.msu": ((NA, "wrong-architecture"),) * 4,
    "HackAndPwn_Windows6.1-KB3064209-x64.msu": (INSTALLS,) * 4,
    "HackAndPwn_Windows6.1-KB3161102-v2-x64.msu": (INSTALLS,) * 4,  # Tablet PC components
    "HackAndPwn_Windows6.1-KB4016754-x64.msu": (INSTALLS,) * 4,
    "HackAndPwn_Windows6.1-KB4072650-x64.cab": (NO_PARENT,) * 4,  # Hyper-V integration services
    "HackAndPwn_Windows6.1-KB4524752-x64.msu": (INSTALLS, SHA2, SHA2, SHA2),
    # its manifests are built for servicing stack 6.1.7601.24516 and its page wants the SSU of February 2020
    # (KB4537829); healthy has KB4490628 (March 2019), whose sample .mum installs stack 6.1.7601.24000
    "HackAndPwn_Windows6.1-KB4528069-x64.msu": ((FAILS, "servicing-stack-too-old"), ESU, ESU, ESU),
    "HackAndPwn_Windows6.1-KB4528069-x86.msu": ((NA, "wrong-architecture"),) * 4,
    "HackAndPwn_Windows6.1-KB943790-x64.msu": ((NA, "wrong-windows-build"),) * 4,  # for 6.1.7600 (Windows 7 RTM)
    "PocketAppZ_Windows6.1-KB2687862-x64.msu": (NO_SPACE,) * 4,
    "ohsevin_Windows6.0-KB2999226-x64.cab": ((NA, "wrong-windows-version"),) * 4,
    "ohsevin_Windows6.1-KB2999226-x64.cab": (INSTALLS,) * 4,
    "ohsevin_Windows8.1-KB2999226-x64.cab": ((NA, "wrong-windows-version"),) * 4,
}

pytestmark = pytest.mark.skipif(not FILES, reason=f"{UPDATES} is absent (the real update packages live beside the checkout)")


def readme_facts() -> dict[str, dict[str, str]]:
    """The README's 'what is known' column of each update, parsed."""
    found = {}
    for line in (REALDATA / "README.md").read_text(encoding="utf-8").splitlines():
        row = ROW.match(line)
        if row:
            facts = row.group("facts")
            counts = re.search(r"(\d+)mum/(\d+)cat", facts)
            assert counts, line
            found[row.group("file")] = {
                "release_type": re.search(r"releaseType=([^;]*)", facts).group(1),  # type: ignore[union-attr]
                "restart": re.search(r"restart=([^;]*)", facts).group(1),  # type: ignore[union-attr]
                "mums": counts.group(1),
                "cats": counts.group(2),
                "digest": re.search(r"cat digest ([^,]*)", facts).group(1),  # type: ignore[union-attr]
                "parents": re.search(r"parents: ([^;]*(?:;[^;]*)*); sha256", facts).group(1),  # type: ignore[union-attr]
            }
    return found


def test_the_expected_table_names_every_real_update():
    assert sorted(EXPECTED) == sorted(p.name for p in FILES) == sorted(readme_facts())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_real_update_is_read_as_the_readme_and_cabextract_say(path, tmp_path):
    update = read_update(path)
    readme = readme_facts()[path.name]
    top = update.top[0]
    assert (top.release_type or "", top.restart or "") == (readme["release_type"], readme["restart"])
    readable = [c for c in update.catalogs if c.catalog is not None]
    assert (str(len(update.manifests)), str(len(readable))) == (readme["mums"], readme["cats"])
    digests = {c.catalog.digest_algorithm for c in readable if c.catalog}
    assert digests == ({readme["digest"].lower()} if readable else set())
    parents = {f"{a.name}/{a.version_text}" for m in update.manifests for p in m.parents for a in p.alternatives}
    listed = [p for p in readme["parents"].split(";") if re.fullmatch(r"\S+/\d+\.\d+\.\d+\.\d+", p)]
    assert listed and set(listed) <= parents
    # the identity, against update.mum as cabextract expands it (a regex, not imgscan's parser)
    subprocess.run(["cabextract", "-q", "-d", str(tmp_path), str(path)], check=True, capture_output=True)
    for inner in tmp_path.glob("*.cab"):
        if inner.name.lower() != "wsusscan.cab":
            subprocess.run(["cabextract", "-q", "-d", str(tmp_path / "inner"), str(inner)], check=True, capture_output=True)
    mum = next(tmp_path.rglob("update.mum")).read_text(encoding="utf-8-sig")
    identity = re.search(r"<assemblyIdentity\s([^>]*)/>", mum).group(1)  # type: ignore[union-attr]
    attrs = dict(re.findall(r'(\w+)="([^"]*)"', identity))
    assert (top.identity.name, top.identity.version_text, top.identity.arch) == (
        attrs["name"],
        attrs["version"],
        attrs["processorArchitecture"],
    )
    if path.name == "HackAndPwn_Windows6.1-KB943790-x64.msu":  # the old delta layout: its catalog cannot be read
        assert update.problems == (
            "update.cat: stored as a PA30 delta in _manifest_.cix.xml, "
            "which cannot be expanded without the file it was made against",
        )
    else:
        assert update.problems == ()


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str, tuple[str, ...]]]]:
    images = {name: REPO / "sample_images" / "built" / f"{name}.vhdx" for name in ("healthy", "ref-w7-2012q3", "ws-acc-0417")}
    images["preflight"] = build(load("preflight"), tmp_path_factory.mktemp("preflight"), ("vhdx",))["vhdx"]
    found = {}
    for name, image in images.items():
        report = preflight(image, [UPDATES], date(2020, 3, 1), 365).report
        assert report["errors"] == []
        found[name] = {
            Path(u["file"]).name: (u["status"], ",".join(r["code"] for r in u["reasons"]), tuple(u["notes"]))
            for u in report["updates"]
        }
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_real_update_on_each_sample_image(path, verdicts):
    names = ("healthy", "ref-w7-2012q3", "ws-acc-0417", "preflight")
    assert tuple(verdicts[name][path.name][:2] for name in names) == EXPECTED[path.name]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_what_could_not_be_read_is_said_whatever_the_verdict(path, verdicts):
    """KB943790's catalog is a PA30 delta: its not-applicable verdict rests on update.mum alone, and the report
    says the catalog was not read (it said nothing of it before)."""
    problems = read_update(path).problems
    for image in verdicts.values():
        assert image[path.name][2][: len(problems)] == problems
    if path.name == "HackAndPwn_Windows6.1-KB943790-x64.msu":
        assert problems and all(verdicts[name][path.name][0] == NA for name in verdicts)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_an_update_whose_signature_is_not_all_there_is_refused_as_osslsigncode_finds_it(path, tmp_path):
    """Microsoft's .msu and .cab files end in their Authenticode signature, which cabextract calls "extra bytes":
    a download cut 1, 100 or 5000 bytes short, or stripped of its signature, read as a whole update (INSTALLS,
    exit 0). imgscan's header check and `osslsigncode extract-signature` must agree on every variant."""
    data = path.read_bytes()
    cabinet = int.from_bytes(data[8:12], "little")
    variants = {"whole": data, "cut-1": data[:-1], "cut-100": data[:-100], "cut-5000": data[:-5000], "stripped": data[:cabinet]}
    variants["not-pkcs7"] = data[:cabinet] + b"\x31" + data[cabinet + 1 :]  # the signature's SEQUENCE tag damaged
    variants["half"] = data[: cabinet // 2]  # cut inside the cabinet itself: said so, not as a short signature
    for name, content in variants.items():
        copy = tmp_path / f"{name}{path.suffix}"
        copy.write_bytes(content)
        extracted = subprocess.run(
            ["osslsigncode", "extract-signature", "-in", copy, "-out", tmp_path / f"{name}.der"], capture_output=True
        )
        try:
            problem = None if file_signature(copy) else "no signature"
        except UpdateUnreadable as exc:
            problem = exc.problem
        assert (problem is None) == (extracted.returncode == 0) == (name == "whole"), (name, problem)
        if name == "half":
            assert problem == (
                f"it is cut short: the file ends at byte {cabinet // 2}, inside the cabinet's {cabinet} bytes "
                "(its signature follows them)"
            )
    report = preflight(
        REPO / "sample_images" / "built" / "healthy.vhdx", [tmp_path / f"cut-100{path.suffix}"], date(2020, 3, 1), 365
    )
    assert report.report["updates"] == [] and "its signature is cut short" in report.report["errors"][0]["message"]


def test_a_damaged_update_is_named_by_its_own_members_not_a_temporary_folder(tmp_path):
    """A byte flipped in the cabinet data: cabextract's checksum errors named the members by the temporary
    folder they were being expanded to (/tmp/imgscan-update-…/msu/WSUSSCAN.cab). The update no longer matches
    its signature, so it will not install (0x80096010) and the checksum errors are a note on what was not read;
    the same bytes with no signature declared (the reserved area's tag cleared) are an errors line."""
    data = bytearray((UPDATES / "HackAndPwn_Windows6.1-KB4016754-x64.msu").read_bytes())
    data[50_000] ^= 0xFF
    damaged = tmp_path / "signed" / "KB4016754.msu"
    damaged.parent.mkdir()
    damaged.write_bytes(bytes(data))
    data[40:44] = bytes(4)
    unsigned = tmp_path / "unsigned" / "KB4016754.msu"
    unsigned.parent.mkdir()
    unsigned.write_bytes(bytes(data))
    report = preflight(REPO / "sample_images" / "built" / "healthy.vhdx", [damaged, unsigned], date(2020, 3, 1), 365).report
    [update] = report["updates"]
    assert (update["file"], update["status"], update["hresult"]) == (str(damaged), FAILS, "0x80096010")
    [error] = report["errors"]
    assert error["path"] == str(unsigned)
    for message in (update["notes"][0], error["message"]):
        assert "WSUSSCAN.cab: checksum error" in message and "imgscan-update-" not in message


def test_a_bare_volume_image_measures_its_free_space(tmp_path):
    """A bare NTFS volume (the Windows partition carved out, no partition table) had "no Windows partition of its
    own to measure", so KB2687862 (16 MB of payload on a volume with 8 MB free) went from will-not-install, as on
    the disk, to INSTALLS. The volume's own allocation map gives the same free space as the disk's partition."""
    disk = tmp_path / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", REPO / "sample_images" / "built" / "ws-acc-0417.vhdx", disk], check=True)
    table = json.loads(subprocess.run(["sfdisk", "--json", disk], capture_output=True, check=True, text=True).stdout)
    start, sectors = max((p["start"], p["size"]) for p in table["partitiontable"]["partitions"])
    volume = tmp_path / "volume.ntfs"
    volume.write_bytes(disk.read_bytes()[start * 512 : (start + sectors) * 512])
    update = UPDATES / "PocketAppZ_Windows6.1-KB2687862-x64.msu"
    on_disk, on_volume = (preflight(image, [update], date(2020, 3, 1), 365).report for image in (disk, volume))
    assert on_volume["facts"]["free_bytes"] == on_disk["facts"]["free_bytes"] > 0
    assert [u["status"] for u in on_volume["updates"]] == [u["status"] for u in on_disk["updates"]] == [FAILS]
    assert "allocation map" in on_volume["facts"]["free_bytes_source"]


NFURY = (
    r"for installs started by user nfury (State 0xc9 in Users\nfury\NTUSER.DAT): its signature check fails with "
    "0x800B010E (then 0x800B010B, 0x80070643) whenever a revocation server cannot be reached"
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_an_update_that_installs_says_who_meets_0x800b010e_while_revocation_is_unreachable(path, verdicts):
    """ws-acc-0417's user nfury has WinTrust State 0xc9: scan predicts 0x800B010E for the installs that account
    starts while a revocation server cannot be reached, and preflight said INSTALLS without a word of it."""
    status, _, notes = verdicts["ws-acc-0417"][path.name]
    said = [note for note in notes if "0x800B010E" in note]
    assert len(said) == (0 if status in (NA, "installed", "superseded") else 1), (status, notes)
    assert all(note.startswith(NFURY) for note in said)
    others = ("healthy", "ref-w7-2012q3", "preflight")  # no account of theirs rejects an offline revocation server
    assert not any("0x800B010E" in note for image in others for note in verdicts[image][path.name][2])
