"""`imgscan preflight` end to end: sample updates (sample_images/updates.py) against a sample image
(scenario `preflight`) signed by the same test PKI, through the CLI as a user runs it. The cabinets gcab
writes are read back by cabextract (an independent reader) before imgscan judges them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sample_images.build import build
from sample_images.pki import make_pki
from sample_images.scenario import load
from sample_images.updates import SAMPLES, build_samples, update_files
from tests.conftest import run_imgscan

AS_OF = "2020-03-01"
EXPECTED = {  # sample -> (status, code) on the preflight image as of AS_OF
    "ssu": ("installs", None),
    "sha2-support": ("installs", None),
    "sha2-only": ("will-not-install", "0x80092004"),
    "x86": ("not-applicable", "0x80240017"),
    "parent-missing": ("not-applicable", "0x80240017"),
    "expires": ("installs", None),
    "untrusted": ("will-not-install", "0x800B0109"),
}


@pytest.fixture(scope="session")
def preflight_lab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The preflight image (vhdx), a broken variant of it (directory) and the sample updates, one PKI."""
    out = tmp_path_factory.mktemp("preflight")
    pki = make_pki()
    scenario = load("preflight")
    scenario.pki = pki
    image = build(scenario, out / "image", ("vhdx",))["vhdx"]
    broken = load("preflight")
    broken.pki = pki
    broken.pending = ["pending.xml"]
    broken.disabled_services = ["wuauserv"]
    broken.packages[1].missing = ".cat"  # Client-Features-Package: CheckSUR's "CBS Catalog Missing"
    broken_dir = build(broken, out / "broken", ("dir",))["dir"]
    updates = build_samples(pki, out / "updates")
    return {"image": image, "broken": broken_dir, "updates": out / "updates", "pki": pki, **updates}


def by_kb(report: dict) -> dict[str, dict]:
    return {u["kb"]: u for u in report["updates"]}


def test_cabextract_reads_what_the_sample_builder_packed(preflight_lab):
    for name, spec in SAMPLES.items():
        listing = subprocess.run(["cabextract", "-l", str(preflight_lab[name])], capture_output=True, text=True, check=True)
        inner = listing.stdout
        if spec.container == "msu":
            assert f"Windows6.1-{spec.kb}-" in inner and "-pkgProperties.txt" in inner
            work = preflight_lab["updates"].parent / f"check-{name}"
            subprocess.run(["cabextract", "-q", "-d", str(work), str(preflight_lab[name])], check=True)
            cab = next(work.glob("*.cab"))
            inner = subprocess.run(["cabextract", "-l", str(cab)], capture_output=True, text=True, check=True).stdout
            shutil.rmtree(work)
        for file_name in update_files(spec, make_pki()):
            assert file_name in inner, f"{name}: {file_name} missing from the cabinet"


def test_each_sample_update_gets_its_verdict(preflight_lab):
    run = run_imgscan("preflight", preflight_lab["image"], preflight_lab["updates"], "--as-of", AS_OF, "-f", "json")
    assert run.code == 1, run.stderr  # an update will not install
    found = by_kb(run.report)
    for name, (status, code) in EXPECTED.items():
        verdict = found[SAMPLES[name].kb]
        assert (verdict["status"], verdict["hresult"]) == (status, code), (name, verdict["summary"])
    sha2 = found[SAMPLES["sha2-only"].kb]
    assert [r["code"] for r in sha2["reasons"]] == ["sha2-support-missing", "servicing-stack-too-old"]
    parent = found[SAMPLES["parent-missing"].kb]
    assert "Microsoft-Windows-DirectoryServices-ADAM-Package-Client 6.1.7601.17514" in parent["reasons"][0]["message"]
    ssu = found[SAMPLES["ssu"].kb]
    assert ssu["servicing_stack_update"] and len(ssu["registers"]) == 2 and ssu["restart"] == "possible"
    assert run.report["facts"]["free_bytes"] > 0 and run.report["facts"]["architecture"] == "amd64"


def test_an_update_whose_catalog_expires_without_a_timestamp_fails_from_that_day(preflight_lab):
    kb = SAMPLES["expires"].kb
    before = run_imgscan("preflight", preflight_lab["image"], preflight_lab["expires"], "--as-of", AS_OF, "-f", "json")
    assert before.code == 0
    verdict = by_kb(before.report)[kb]
    assert verdict["status"] == "installs" and verdict["fails_from"] == "2020-12-31"
    assert [(r["code"], r["hresult"], r["starts"]) for r in verdict["later"]] == [("catalog-expired", "0x800B0101", "2020-12-31")]
    after = run_imgscan("preflight", preflight_lab["image"], preflight_lab["expires"], "--as-of", "2020-12-31", "-f", "json")
    assert after.code == 1
    assert (by_kb(after.report)[kb]["status"], by_kb(after.report)[kb]["hresult"]) == ("will-not-install", "0x800B0101")


def test_the_order_installs_the_ssu_and_sha2_support_first(preflight_lab):
    run = run_imgscan("preflight", preflight_lab["image"], preflight_lab["updates"], "--as-of", AS_OF, "-f", "json")
    order = [step["kb"] for step in run.report["order"]["install"]]
    assert order[:3] == [SAMPLES["ssu"].kb, SAMPLES["sha2-support"].kb, SAMPLES["sha2-only"].kb]
    blocked = {b["kb"]: b["reasons"] for b in run.report["order"]["cannot_install"]}
    assert blocked == {
        SAMPLES["x86"].kb: ["wrong-architecture"],
        SAMPLES["parent-missing"].kb: ["no-parent-installed"],
        SAMPLES["untrusted"].kb: ["catalog-untrusted"],
    }


def test_every_blocking_reason_of_a_broken_image(preflight_lab):
    run = run_imgscan("preflight", preflight_lab["broken"], preflight_lab["sha2-only"], "--as-of", AS_OF, "-f", "json")
    assert run.code == 1, run.stderr
    verdict = run.report["updates"][0]
    assert [(r["code"], r["hresult"]) for r in verdict["reasons"]] == [
        ("sha2-support-missing", "0x80092004"),
        ("servicing-stack-too-old", "0x80092004"),
        ("servicing-pending", "0x800F0806"),
        ("component-store-corrupt", "0x800F081F"),
        ("update-service-disabled", "0x80070422"),
    ]
    assert run.report["facts"]["free_bytes"] is None  # a directory has no volume to measure: unknown, not a guess
    assert any("free space not checked" in note for note in verdict["notes"])


def test_table_output_and_exit_code_when_everything_installs(preflight_lab):
    run = run_imgscan("preflight", preflight_lab["image"], preflight_lab["ssu"], preflight_lab["sha2-support"], "--as-of", AS_OF)
    assert run.code == 0, run.stderr
    assert "INSTALLS   Windows6.1-KB4490628-x64.msu" in run.stdout
    assert "Install order:\n  1. Windows6.1-KB4490628-x64.msu KB4490628\n  2. Windows6.1-KB4474419-x64.msu" in run.stdout


def test_the_same_input_gives_byte_identical_json(preflight_lab, tmp_path):
    outputs = []
    for name in ("one.json", "two.json"):
        run = run_imgscan("preflight", preflight_lab["image"], preflight_lab["updates"], "--as-of", AS_OF, "-o", tmp_path / name)
        assert run.code == 1
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["as_of"] == AS_OF


def _bad_inputs(folder: Path, good: Path) -> dict[str, Path]:
    """Damaged update files, each named after what is wrong with it."""
    folder.mkdir()
    made = {"not-a-cab.msu": b"This is not a cabinet.\r\n" * 50, "truncated.msu": good.read_bytes()[: good.stat().st_size // 2]}
    for name, data in made.items():
        (folder / name).write_bytes(data)
    work = folder / "work"
    for name, files in {
        "no-manifest.cab": {"readme.txt": b"no manifest here"},
        "not-xml.cab": {"update.mum": b"\x00\x01 not xml", "update.cat": b"0"},
        "laughs.cab": {
            "update.mum": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b"<assembly>&lol2;</assembly>"
        },
    }.items():
        work.mkdir()
        for file_name, data in files.items():
            (work / file_name).write_bytes(data)
        subprocess.run(["gcab", "-c", "-z", str(folder / name), *files], cwd=work, check=True)
        shutil.rmtree(work)
    return {path.name: path for path in folder.iterdir()}


def test_bad_update_files_are_one_line_errors_and_the_others_are_still_judged(preflight_lab, tmp_path):
    bad = _bad_inputs(tmp_path / "bad", preflight_lab["ssu"])
    run = run_imgscan("preflight", preflight_lab["image"], *bad.values(), preflight_lab["ssu"], "--as-of", AS_OF, "-f", "json")
    assert run.code == 0, run.stderr
    errors = {Path(e["path"]).name: e["message"] for e in run.report["errors"]}
    assert set(errors) == set(bad)
    assert "no valid cabinets found" in errors["not-a-cab.msu"]
    assert errors["no-manifest.cab"].startswith("holds no update manifest")
    assert "not XML" in errors["not-xml.cab"]
    assert "refused" in errors["laughs.cab"]
    assert all("\n" not in message and "Traceback" not in message for message in errors.values())
    assert [u["kb"] for u in run.report["updates"]] == [SAMPLES["ssu"].kb]
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == len(bad)


def test_a_catalog_that_does_not_parse_leaves_the_verdict_open(preflight_lab, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    files = update_files(SAMPLES["ssu"], preflight_lab["pki"])
    for name, data in files.items():
        (work / name).write_bytes(b"not a catalog" if name == "update.cat" else data)
    cab = tmp_path / "Windows6.1-KB4490628-x64.cab"
    subprocess.run(["gcab", "-c", "-z", str(cab), *sorted(files)], cwd=work, check=True)
    run = run_imgscan("preflight", preflight_lab["image"], cab, "--as-of", AS_OF, "-f", "json")
    verdict = run.report["updates"][0]
    assert verdict["status"] == "unknown" and run.code == 0
    assert any(note.startswith("update.cat: not a readable catalog") for note in verdict["notes"])


def test_no_readable_update_is_exit_2(preflight_lab, tmp_path):
    junk = tmp_path / "junk.msu"
    junk.write_bytes(b"junk")
    run = run_imgscan("preflight", preflight_lab["image"], junk, "--as-of", AS_OF)
    assert run.code == 2
    assert run.stderr.splitlines()[-1] == "imgscan: error: no update could be read (see the errors above)"


def test_reading_updates_leaves_no_temporary_folder(preflight_lab, tmp_path):
    temp = tmp_path / "temp"
    temp.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "imgscan",
            "preflight",
            str(preflight_lab["image"]),
            str(preflight_lab["updates"]),
            "--as-of",
            AS_OF,
            "-q",
        ],
        capture_output=True,
        text=True,
        env={"TMPDIR": str(temp), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )
    assert proc.returncode == 1, proc.stderr
    assert list(temp.iterdir()) == []
