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

import jsonschema
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
    "newer-stack": ("will-not-install", "0x800F0823"),  # CBS_E_NEW_SERVICING_STACK_REQUIRED
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
        SAMPLES["newer-stack"].kb: ["servicing-stack-too-old"],  # the sample SSU's stack is older still
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
    assert run.code == 2, run.stderr  # the SSU installs, but a gate must not pass updates it could not read
    assert (
        run.stderr.splitlines()[-1]
        == f"imgscan: error: {len(bad)} of {len(bad) + 1} update(s) could not be read (see the errors above)"
    )
    errors = {Path(e["path"]).name: e["message"] for e in run.report["errors"]}
    assert set(errors) == set(bad)
    # said as errors, as the report says them (they were warnings on stderr), and also with -q
    quiet = run_imgscan("preflight", preflight_lab["image"], *bad.values(), preflight_lab["ssu"], "--as-of", AS_OF, "-q")
    for said in (run.stderr, quiet.stderr):
        assert "warning" not in said
        assert [line.split(": ")[2] for line in said.splitlines()[:-1]] == [e["path"] for e in run.report["errors"]]
    assert "no valid cabinets found" in errors["not-a-cab.msu"]
    assert errors["no-manifest.cab"].startswith("holds no update manifest")
    assert "not XML" in errors["not-xml.cab"]
    assert "refused" in errors["laughs.cab"]
    assert all("\n" not in message and "Traceback" not in message for message in errors.values())
    assert [u["kb"] for u in run.report["updates"]] == [SAMPLES["ssu"].kb]
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == len(bad) + 1
    blocked = run_imgscan("preflight", preflight_lab["image"], *bad.values(), preflight_lab["untrusted"], "--as-of", AS_OF)
    assert blocked.code == 1, blocked.stderr  # one that will not install: exit 1, as without the unreadable files


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


def test_a_multi_image_wim_is_judged_by_the_image_index_or_name_chooses(preflight_lab, tmp_path):
    """A WIM's error asks for --index or --image-name: preflight takes them, as scan does, and says which image it judged."""
    multi = build(load("preflight"), tmp_path / "wim", ("wim-multi",))["wim-multi"]
    unchosen = run_imgscan("preflight", multi, preflight_lab["ssu"], "--as-of", AS_OF)
    assert unchosen.code == 2 and "--index N or --image-name NAME" in unchosen.stderr, unchosen.stderr
    for choice in (("--index", "1"), ("--image-name", multi_name(multi, 1))):
        run = run_imgscan("preflight", multi, preflight_lab["ssu"], *choice, "--as-of", AS_OF, "-f", "json")
        assert run.code in (0, 1), run.stderr
        assert run.report["image"]["wim"]["index"] == 1 and run.report["updates"][0]["kb"] == SAMPLES["ssu"].kb
    other = run_imgscan("preflight", multi, preflight_lab["ssu"], "--index", "2", "--as-of", AS_OF)  # Windows PE: no Windows
    assert other.code == 2 and "Traceback" not in other.stderr


def multi_name(wim: Path, index: int) -> str:
    """The name of image `index`, as wimlib (an independent reader) lists it."""
    listing = subprocess.run(["wimlib-imagex", "info", str(wim), str(index)], capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in listing.splitlines() if line.startswith("Name:"))


def test_no_readable_update_is_exit_2(preflight_lab, tmp_path):
    junk = tmp_path / "junk.msu"
    junk.write_bytes(b"junk")
    run = run_imgscan("preflight", preflight_lab["image"], junk, "--as-of", AS_OF)
    assert run.code == 2
    assert run.stderr.splitlines()[-1] == "imgscan: error: no update could be read (see the errors above)"


def test_a_missing_update_is_a_usage_error_before_the_image_is_read(preflight_lab, tmp_path):
    missing = tmp_path / "KB0000000.msu"
    for command in (
        ("preflight", preflight_lab["image"], preflight_lab["ssu"], missing),
        ("fleet", preflight_lab["image"], "--updates", missing, "--db", tmp_path / "f.sqlite"),
    ):
        run = run_imgscan(*command)
        assert run.code == 2 and run.stdout == "" and len(run.stderr.splitlines()) == 1, run
        assert f"{missing}: no such file or folder" in run.stderr and not (tmp_path / "f.sqlite").exists()


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


# ---- formats and gating (SARIF, JUnit, HTML, the JSON schema): each the same verdicts, exit 1 in every one


@pytest.fixture(scope="module")
def month(preflight_lab, tmp_path_factory) -> dict[str, Any]:
    """The sample month judged once per format, each written where its -o name says."""
    out = tmp_path_factory.mktemp("formats")
    runs = {"json": run_imgscan("preflight", preflight_lab["image"], preflight_lab["updates"], "--as-of", AS_OF, "-f", "json")}
    for fmt, name in (("sarif", "month.sarif"), ("junit", "month.xml"), ("html", "month.html")):
        runs[fmt] = run_imgscan("preflight", preflight_lab["image"], preflight_lab["updates"], "--as-of", AS_OF, "-o", out / name)
        runs[fmt].path = out / name  # type: ignore[attr-defined]
    return runs


def test_the_report_name_says_the_format_and_every_format_gates(month):
    assert {fmt: run.code for fmt, run in month.items()} == {"json": 1, "sarif": 1, "junit": 1, "html": 1}
    assert all(run.stdout == "" for fmt, run in month.items() if fmt != "json")
    assert json.loads(month["sarif"].path.read_text())["version"] == "2.1.0"
    assert month["junit"].path.read_text().startswith('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>')
    assert month["html"].path.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "html"])
def test_exit_0_when_every_update_installs_and_1_when_one_does_not_in_every_format(preflight_lab, fmt):
    fine = run_imgscan("preflight", preflight_lab["image"], preflight_lab["ssu"], "--as-of", AS_OF, "-f", fmt)
    failing = run_imgscan("preflight", preflight_lab["image"], preflight_lab["sha2-only"], "--as-of", AS_OF, "--format", fmt)
    assert (fine.code, failing.code) == (0, 1), (fine.stderr, failing.stderr)


def test_sarif_is_valid_2_1_0_with_one_result_per_update_and_reason(month):
    from tests.conftest import REPO

    sarif = json.loads(month["sarif"].path.read_text())
    jsonschema.Draft4Validator(json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())).validate(sarif)
    (run,) = sarif["runs"]
    report = month["json"].report
    expected = [
        (f"preflight/{r['code']}", "warning" if later else "error" if u["status"] == "will-not-install" else "note", u["file"])
        for u in report["updates"]
        for later, reasons in ((False, u["reasons"]), (True, u["later"]))
        for r in reasons
    ]
    found = [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in run["results"]]
    assert found == [(rule, level, Path(file).as_uri()) for rule, level, file in expected]
    assert ("preflight/sha2-support-missing", "error") in {(r, lv) for r, lv, _ in found}
    assert ("preflight/catalog-expired", "warning") in {(r, lv) for r, lv, _ in found}  # the sample that expires in 2020
    fingerprints = [r["partialFingerprints"]["imgscan-preflight/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert sorted(set(rules)) == rules == sorted({rule for rule, _, _ in expected})
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    sha2 = next(rule for rule in run["tool"]["driver"]["rules"] if rule["id"] == "preflight/sha2-support-missing")
    assert (
        sha2["defaultConfiguration"]["level"] == "error" and "https://support.microsoft.com/help/4474419" in sha2["help"]["text"]
    )


def test_sarif_fingerprints_stay_the_same_across_runs_and_folders(preflight_lab, month, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(preflight_lab["updates"], copy)
    again = run_imgscan("preflight", preflight_lab["image"], copy, "--as-of", AS_OF, "-f", "sarif")
    first = [r["partialFingerprints"] for r in json.loads(month["sarif"].path.read_text())["runs"][0]["results"]]
    assert [r["partialFingerprints"] for r in json.loads(again.stdout)["runs"][0]["results"]] == first


def test_junit_has_one_case_per_update_failing_exactly_those_that_will_not_install(month):
    from junitparser import Error, Failure, JUnitXml, Skipped

    (suite,) = list(JUnitXml.fromfile(str(month["junit"].path)))
    report = month["json"].report
    assert suite.timestamp == f"{report['as_of']}T00:00:00"  # xs:dateTime, as JUnit's schema types it
    cases = {case.name: case for case in suite}
    assert sorted(cases) == sorted(f"{u['kb']} {Path(u['file']).name}" for u in report["updates"])
    outcome = {name.split()[0]: type(case.result[0]).__name__ if case.result else "passed" for name, case in cases.items()}
    expected = {"will-not-install": "Failure", "not-applicable": "Skipped", "installs": "passed"}
    assert outcome == {u["kb"]: expected[u["status"]] for u in report["updates"]}
    failed = cases[f"{SAMPLES['sha2-only'].kb} {preflight_name('sha2-only')}"].result[0]
    assert isinstance(failed, Failure) and failed.type == "0x80092004"
    assert "sha2-support-missing 0x80092004" in failed.text and "fix: Install KB4474419" in failed.text
    skipped = cases[f"{SAMPLES['x86'].kb} {preflight_name('x86')}"].result[0]
    assert isinstance(skipped, Skipped) and skipped.message.startswith("not-applicable: ")
    assert "fails from 2020-12-31:" in cases[f"{SAMPLES['expires'].kb} {preflight_name('expires')}"].system_out
    assert (suite.tests, suite.failures, suite.skipped, suite.errors) == (8, 3, 2, 0)
    assert not any(isinstance(r, Error) for case in cases.values() for r in case.result)


def preflight_name(sample: str) -> str:
    return SAMPLES[sample].file_name


def test_junit_names_an_unreadable_update_as_a_case_in_error(preflight_lab, tmp_path):
    from junitparser import Error, JUnitXml

    junk = tmp_path / "junk.msu"
    junk.write_bytes(b"junk" * 100)
    out = tmp_path / "out.xml"
    run = run_imgscan("preflight", preflight_lab["image"], junk, preflight_lab["ssu"], "--as-of", AS_OF, "-o", out)
    assert run.code == 2, run.stderr  # the report is written, and the unreadable update fails the run
    (suite,) = list(JUnitXml.fromfile(str(out)))
    (error,) = [case for case in suite if case.result and isinstance(case.result[0], Error)]
    assert error.name == "- junk.msu" and "no valid cabinets found" in error.result[0].message
    assert (suite.tests, suite.errors, suite.failures) == (2, 1, 0)


def test_sarif_says_an_unreadable_update_made_the_run_unsuccessful(preflight_lab, tmp_path):
    """An update that could not be read (exit 2) left `executionSuccessful: true` and only a warning notification:
    a dashboard of the results showed a clean run."""
    junk = tmp_path / "junk.msu"
    junk.write_bytes(b"junk" * 100)
    out = tmp_path / "out.sarif"
    run = run_imgscan("preflight", preflight_lab["image"], junk, preflight_lab["ssu"], "--as-of", AS_OF, "-o", out)
    assert run.code == 2, run.stderr
    (invocation,) = json.loads(out.read_text())["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    said = [
        (n["level"], n["message"]["text"]) for n in invocation["toolExecutionNotifications"] if str(junk) in n["message"]["text"]
    ]
    assert len(said) == 1 and said[0][0] == "error" and "no valid cabinets found" in said[0][1]
    readable = run_imgscan("preflight", preflight_lab["image"], preflight_lab["ssu"], "--as-of", AS_OF, "-f", "sarif")
    assert json.loads(readable.stdout)["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_html_opens_in_chromium_and_shows_each_verdict(month, tmp_path):
    from PIL import Image

    from tests.test_reports import chromium

    page = chromium("--dump-dom", month["html"].path.as_uri(), tmp_path=tmp_path)
    assert page.returncode == 0 and "CONSOLE" not in page.stderr and "Uncaught" not in page.stderr
    dom = page.stdout
    assert 'id="verdict">FAIL<' in dom and "<script" not in dom
    for update in month["json"].report["updates"]:
        assert f'<div class="finding {update["status"]}" data-file="{update["file"]}" data-status="{update["status"]}">' in dom
    assert 'data-code="sha2-support-missing"' in dom and "Install KB4474419" in dom
    assert f"<li>{preflight_lab_file(month, 'ssu')} {SAMPLES['ssu'].kb}</li>" in dom.replace("\n", "")
    shot = tmp_path / "preflight.png"
    chromium("--window-size=1200,900", f"--screenshot={shot}", month["html"].path.as_uri(), tmp_path=tmp_path)
    colors = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24)
    badge = sum(n for n, rgb in colors if all(abs(a - b) <= 6 for a, b in zip(rgb, (0xC6, 0x28, 0x28), strict=True)))
    assert badge > 500, f"only {badge} pixels of the FAIL badge's red"


def preflight_lab_file(month, sample: str) -> str:
    return next(u["file"] for u in month["json"].report["updates"] if u["kb"] == SAMPLES[sample].kb)


def test_json_report_validates_against_the_committed_schema_which_refuses_unknown_fields(month):
    from imgscan.preflight.report import schema
    from tests.conftest import REPO

    committed = json.loads((REPO / "docs" / "preflight.schema.json").read_text(encoding="utf-8"))
    assert committed == schema(), "regenerate it: python -m imgscan.preflight.report > docs/preflight.schema.json"
    validator = jsonschema.Draft202012Validator(committed)
    report = month["json"].report
    validator.validate(report)
    assert all(r["title"] for u in report["updates"] for r in [*u["reasons"], *u["later"]])
    renamed = json.loads(json.dumps(report))
    renamed["updates"][0]["state"] = renamed["updates"][0].pop("status")
    assert not validator.is_valid(renamed)
    extra = json.loads(json.dumps(report))
    extra["facts"]["guess"] = 1
    assert not validator.is_valid(extra)
