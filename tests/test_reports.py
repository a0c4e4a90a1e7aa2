"""Issue 6: SARIF, JUnit, CSV and HTML views, gating, the ignore file, diff and the fix script."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import subprocess

import jsonschema
import pytest
from junitparser import Failure, JUnitXml
from PIL import Image

from imgscan.views.csv_view import COLUMNS
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REPO, run_imgscan

SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
CHART_RED = (0xD3, 0x2F, 0x2F)  # .bar.failing; the FAIL badge is a different red (#c62828)
KB2731847 = "Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    names = ("ws-acc-0417", "ref-w7-2012q3", "ref-w7-2012q4", "healthy")
    return {name: build(load(name), out, ("vhdx",))["vhdx"] for name in names}


def report_of(image, *args):
    return run_imgscan("scan", image, "--format", "json", *args).report


@pytest.mark.parametrize("name", ["ws-acc-0417", "ref-w7-2012q3", "healthy"])
def test_sarif_validates_against_the_2_1_0_schema(samples, name, tmp_path):
    out = tmp_path / "out.sarif"
    run_imgscan("scan", samples[name], "--as-of", "2013-07-05", "--format", "sarif", "-o", out)
    sarif = json.loads(out.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    report = report_of(samples[name], "--as-of", "2013-07-05")
    (run,) = sarif["runs"]
    assert len(run["results"]) == len(report["findings"])
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "wintrust-offline-revocation" in rule_ids and "qfe-empty" in rule_ids
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        for location in result["locations"]:
            assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "IMAGEROOT"
            assert "\\" not in location["physicalLocation"]["artifactLocation"]["uri"]


def test_sarif_log_locations_carry_lines(samples, tmp_path):
    out = tmp_path / "out.sarif"
    run_imgscan("scan", samples["ws-acc-0417"], "--format", "sarif", "-o", out)
    results = json.loads(out.read_text())["runs"][0]["results"]
    (setup,) = [r for r in results if r["ruleId"] == "setup-log-error"]
    location = setup["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "Windows/Temp/KB2656368.html" and location["region"] == {"startLine": 5}


def test_junit_read_by_junitparser(samples, tmp_path):
    out = tmp_path / "junit.xml"
    assert run_imgscan("scan", samples["ref-w7-2012q3"], "--as-of", "2013-07-01", "--format", "junit", "-o", out).code == 1
    (suite,) = list(JUnitXml.fromfile(str(out)))
    assert suite.timestamp == "2013-07-01T00:00:00"  # JUnit's schema types it xs:dateTime; a bare date is refused
    cases = {case.name: case for case in suite}
    assert "wintrust-offline-revocation" in cases and len(cases) == suite.tests
    failed = {name for name, case in cases.items() if any(isinstance(r, Failure) for r in case.result)}
    # qfe-empty and the CBS.log failures of 2013-07-01 are consequences of the expired catalogs: they fail
    # through the catalog-expiry case, whose output names them
    assert failed == {"catalog-expiry"}
    assert "caused by catalog-expiry:" in cases["qfe-empty"].system_out
    assert "caused by catalog-expiry:" in cases["cbs-log-error"].system_out
    assert all(case.classname == "imgscan.REF-W7-2012Q3" for case in cases.values())
    critical = tmp_path / "critical.xml"
    image = samples["ref-w7-2012q3"]
    run_imgscan("scan", image, "--as-of", "2013-07-01", "--format", "junit", "-o", critical, "--fail-on", "critical")
    (suite,) = list(JUnitXml.fromfile(str(critical)))
    # the expired catalog whose failure empties wmic qfe gates at critical through it
    (case,) = [c for c in suite if any(isinstance(r, Failure) for r in c.result)]
    assert case.name == "catalog-expiry" and case.result[0].type == "critical"


def test_csv_round_trips(samples, tmp_path):
    out = tmp_path / "out.csv"
    run_imgscan("scan", samples["ref-w7-2012q3"], "--as-of", "2013-07-01", "--format", "csv", "-o", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    report = report_of(samples["ref-w7-2012q3"], "--as-of", "2013-07-01")
    assert [(r["rule"], r["severity"], r["starts"], r["message"]) for r in rows] == [
        (f["rule"], f["severity"], f["starts"] or "", f["message"]) for f in report["findings"]
    ]
    assert list(rows[0]) == list(COLUMNS)


def chromium(*args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def html_report(samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert run_imgscan("scan", samples["ref-w7-2012q3"], "--as-of", "2013-07-01", "--format", "html", "-o", out).code == 1
    return out


def test_html_opens_in_chromium_without_console_errors_and_shows_the_failing_packages(html_report, tmp_path):
    page = chromium("--dump-dom", html_report.as_uri(), tmp_path=tmp_path)
    assert page.returncode == 0
    assert "CONSOLE" not in page.stderr and "Uncaught" not in page.stderr
    dom = page.stdout
    assert 'id="verdict">FAIL<' in dom
    for n in ("", "_2", "_3"):
        identity = f"Package{n}_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"
        assert 'class="bar failing"' in dom
        assert f'data-package="{identity}" data-kb="KB2705219" data-fails="2013-06-30"' in dom
        assert f"<td>{identity}</td><td>KB2705219</td><td>Installed</td>" in dom.replace("\n      ", "")
    assert 'data-package="Package_for_KB2506212~31bf3856ad364e35~amd64~~6.1.1.0" data-kb="KB2506212" data-fails=""' in dom
    assert "http://" not in dom.replace("http://www.w3.org/2000/svg", "") and "<script" not in dom


def test_html_screenshot_shows_the_chart(html_report, tmp_path):
    shot = tmp_path / "report.png"
    chromium("--window-size=1200,900", f"--screenshot={shot}", html_report.as_uri(), tmp_path=tmp_path)
    colors = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24)
    red = sum(n for n, rgb in colors if all(abs(a - b) <= 6 for a, b in zip(rgb, CHART_RED, strict=True)))
    assert red > 5000, f"only {red} pixels of the chart's red: the catalog chart is missing"


def test_the_catalog_chart_has_a_legend_in_the_bars_own_colours(html_report, tmp_path):
    dom = chromium("--dump-dom", html_report.as_uri(), tmp_path=tmp_path).stdout
    legend = re.search(r'<p class="small" id="chart-legend">(.*?)</p>', dom, re.S)
    assert legend, "the catalog chart has no legend"
    text = re.sub(r"<[^>]+>", "", legend.group(1))
    assert "valid past the horizon" in text and "no longer valid by the end of the horizon" in text
    assert "as-of day" in text and "end of the horizon" in text
    swatches = re.findall(r'<rect class="(bar [a-z]+)"', legend.group(1))
    assert swatches == ["bar valid", "bar failing"]
    assert all(f'class="{swatch}" x=' in dom for swatch in swatches), "a swatch colour no bar of the chart has"


def test_ignore_file_suppresses_without_dropping(samples, tmp_path):
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(f"""
- rule: catalog-expiry
  package: KB2731847
  reason: replaced by the re-released update in image 2013-Q4 (CHG-1234)
  expires: 2999-12-31
- rule: qfe-empty
  path: "*{KB2731847}.cat"
  reason: same change
""")
    image = samples["ref-w7-2012q4"]
    assert run_imgscan("scan", image, "--as-of", "2013-07-01").code == 1
    run = run_imgscan("scan", image, "--as-of", "2013-07-01", "--ignore", ignore, "--format", "json")
    assert run.code == 0, run.stderr
    report = run.report
    assert {f["rule"] for f in report["findings"]} == {"catalog-expiry", "qfe-empty"}
    assert all(f["suppressed"]["reason"].startswith(("replaced", "same")) for f in report["findings"])
    assert report["summary"]["suppressed"] == 2 and report["summary"]["high"] == 0
    sarif_out = tmp_path / "out.sarif"
    run_imgscan("scan", image, "--as-of", "2013-07-01", "--ignore", ignore, "--format", "sarif", "-o", sarif_out)
    results = json.loads(sarif_out.read_text())["runs"][0]["results"]
    assert all(r["suppressions"][0]["kind"] == "external" for r in results)


def test_expired_ignore_entry_warns_and_no_longer_applies(samples, tmp_path):
    ignore = tmp_path / "old.yaml"
    ignore.write_text("- rule: qfe-empty\n  reason: accepted for the 2013 rollout\n  expires: 2014-01-31\n")
    run = run_imgscan("scan", samples["ref-w7-2012q4"], "--as-of", "2013-07-01", "--ignore", ignore)
    assert run.code == 1
    assert "ignore entry for qfe-empty expired on 2014-01-31 and no longer applies" in run.stderr


def test_default_ignore_file_and_bad_ignore_files(samples, tmp_path):
    accepted = "- rule: qfe-empty\n  reason: tracked elsewhere\n- rule: catalog-expiry\n  reason: x\n"
    (tmp_path / ".imgscanignore.yaml").write_text(accepted)
    assert run_imgscan("scan", samples["ref-w7-2012q4"], "--as-of", "2013-07-01", cwd=tmp_path).code == 0
    for text, problem in (
        ("- rule: qfe-empty\n", "needs a rule and a reason"),
        ("rule: [", "not valid YAML"),
        ("- rule: x\n  reason: y\n  until: 2020-01-01\n", "unknown field(s) until"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        run = run_imgscan("scan", samples["healthy"], "--ignore", bad)
        assert run.code == 2 and problem in run.stderr and "Traceback" not in run.stderr


def test_severity_filter_and_multiple_outputs(samples, tmp_path):
    report = report_of(samples["ref-w7-2012q3"], "--as-of", "2013-07-01", "--severity", "critical")
    # the one cause that gates at critical, shown whole: the expired catalog with what it causes
    assert [f["rule"] for f in report["findings"]] == ["catalog-expiry", "qfe-empty", "cbs-log-error"]
    assert report["findings"][0]["gating_severity"] == "critical"
    sarif, html = tmp_path / "a.sarif", tmp_path / "b.html"
    run = run_imgscan("scan", samples["ws-acc-0417"], "--format", "sarif", "-o", sarif, "--format", "html", "-o", html)
    assert run.code == 1 and run.stdout == ""
    assert json.loads(sarif.read_text())["version"] == "2.1.0" and "<svg" in html.read_text()
    assert run_imgscan("scan", samples["ws-acc-0417"], "--format", "json", "-o", sarif, "-o", html).code == 2


def test_diff_of_images_and_of_saved_reports(samples, tmp_path):
    old_json, new_json = tmp_path / "old.json", tmp_path / "new.json"
    for image, out in ((samples["ref-w7-2012q3"], old_json), (samples["ref-w7-2012q4"], new_json)):
        run_imgscan("scan", image, "--as-of", "2013-07-01", "--format", "json", "-o", out)
    for old, new in ((old_json, new_json), (samples["ref-w7-2012q3"], samples["ref-w7-2012q4"])):
        run = run_imgscan("diff", old, new, "--as-of", "2013-07-01", "--format", "json")
        result = json.loads(run.stdout)
        # nothing got worse: KB2749655 fixes KB2705219's catalogs, and KB2731847's (expiring 2013-10-15 on both
        # sides) is what now empties wmic qfe, from that day instead of already. qfe-empty is the same finding
        # (one per image, whichever packages empty the list), improved; KB2731847's expiry is unchanged, though
        # it now gates at high as qfe-empty's cause (diff once called that worsened and exited 1)
        assert run.code == 0 and result["gating"] == 0 and result["new_findings"] == [] and result["worsened"] == []
        resolved = {(f["rule"], f["evidence"][0]["path"].rsplit("\\", 1)[-1]) for f in result["resolved"]}
        assert ("catalog-expiry", "Package_2_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1.cat") in resolved
        assert result["packages_added"] == ["Package_for_KB2749655~31bf3856ad364e35~amd64~~6.1.1.0"]
        moved = {c["path"].rsplit("\\", 1)[-1]: c for c in result["catalogs_moved"]}
        kb2705219 = moved["Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1.cat"]
        assert (kb2705219["old_valid_until"], kb2705219["new_valid_until"]) == ("2013-06-30T10:00:00Z", None)
        [better] = result["improved"]
        assert (better["finding"]["id"], better["old_severity"], better["old_phase"]) == ("qfe-empty", "critical", "failing")
        now = better["finding"]
        assert (now["severity"], now["phase"], now["starts"]) == ("high", "soon", "2013-10-15")
        [same] = result["unchanged"]
        assert (same["rule"], same["severity"], same["gating_severity"]) == ("catalog-expiry", "medium", "high")
        assert "KB2731847" in same["evidence"][0]["path"]
    # and back (KB2749655 removed again): a regression, whatever the days. KB2705219's catalogs are new causes that
    # gate at high through the qfe-empty they cause, which now starts in June instead of October (worsened)
    back = run_imgscan("diff", new_json, old_json, "--as-of", "2013-07-01", "--format", "json")
    result = json.loads(back.stdout)
    assert back.code == 1 and result["gating"] == 3  # each of the three KB2705219 packages, failing by then
    assert {f["rule"] for f in result["new_findings"]} == {"catalog-expiry", "cbs-log-error"}  # q3 logged them
    [worse] = result["worsened"]
    assert (worse["finding"]["id"], worse["old_starts"], worse["finding"]["starts"]) == ("qfe-empty", "2013-10-15", "2013-06-30")
    december = run_imgscan("diff", samples["ref-w7-2012q4"], samples["ref-w7-2012q3"], "--as-of", "2012-12-01")
    assert december.code == 1 and "new or worsened findings at or above high: 1" in december.stdout
    assert "qfe-empty" in december.stdout.split("worsened: 1", 1)[1].split("improved:", 1)[0]
    same = run_imgscan("diff", samples["healthy"], samples["healthy"])
    assert same.code == 0 and "new findings: 0" in same.stdout
    missing = run_imgscan("diff", tmp_path / "nope.json", new_json)
    assert missing.code == 2 and "Traceback" not in missing.stderr


def test_fix_script_reg_and_ps1(samples, tmp_path):
    reg, ps1 = tmp_path / "fix.reg", tmp_path / "fix.ps1"
    run_imgscan("scan", samples["ws-acc-0417"], "--fix-script", reg)
    text = reg.read_bytes().decode("utf-8")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")  # regedit expects CRLF
    assert r"; wintrust-offline-revocation (high) Users\nfury\NTUSER.DAT" in text
    assert text.count('"State"=dword:00023c00') == 1  # the weakened finding shares the same fix
    run_imgscan("scan", samples["ws-acc-0417"], "--fix-script", ps1)
    script = ps1.read_text()
    profile = "Registry::HKEY_USERS\\S-1-5-21-3623811015-3361044348-30300820-1001"
    key = profile + "\\Software\\Microsoft\\Windows\\CurrentVersion\\WinTrust\\Trust Providers\\Software Publishing"
    assert f"Set-ItemProperty -LiteralPath '{key}' -Name 'State' -Value 0x23c00 -Type DWord" in script
    # New-Item -Force on a key that exists empties it (PowerShell/PowerShell#5444): only a missing key is created
    assert f"if (-not (Test-Path -LiteralPath '{key}')) {{ New-Item -Path '{key}' -Force | Out-Null }}" in script
    assert all(line.startswith("if (-not (Test-Path -LiteralPath ") for line in script.splitlines() if "New-Item" in line)
    assert f"if (-not (Test-Path -LiteralPath '{profile}')) {{ throw " in script and "logged on" in script


def test_fix_script_loads_offline_template(tmp_path):
    def spread(s):
        s.default_template.wintrust_state = 0xC9

    image = build(_changed("healthy", spread), tmp_path, ("dir",))["dir"]
    reg = tmp_path / "fix.reg"
    run_imgscan("scan", image, "--fix-script", reg)
    text = reg.read_text()
    assert 'reg load HKU\\imgscan-offline "C:\\Users\\Default\\NTUSER.DAT"' in text
    assert "[HKEY_USERS\\imgscan-offline\\Software\\Microsoft" in text
    # PowerShell: reg.exe's failure stops the script (no cmdlet error would), and the hive is unloaded whatever happens
    ps1 = tmp_path / "fix.ps1"
    run_imgscan("scan", image, "--fix-script", ps1)
    lines = ps1.read_text().splitlines()
    load_at = lines.index("& reg.exe load HKU\\imgscan-offline 'C:\\Users\\Default\\NTUSER.DAT'")
    assert lines[load_at + 1].startswith("if ($LASTEXITCODE -ne 0) { throw ") and lines[load_at + 2] == "try {"
    finally_at = lines.index("} finally {")
    assert finally_at > load_at and lines[finally_at + 2 : finally_at + 4] == ["& reg.exe unload HKU\\imgscan-offline", "}"]


def _changed(name, change):
    scenario = load(name)
    change(scenario)
    return scenario


def test_ci_examples_are_documented():
    docs = (REPO / "docs" / "ci.md").read_text()
    for system in ("GitHub Actions", "GitLab CI", "Azure Pipelines"):
        assert system in docs
    assert "--format sarif" in docs and "--exit-code" not in docs


# Measures every label of the catalog chart in the browser's own layout: inside the SVG, and no two
# overlapping. The report has no script of its own; the test appends one to a copy and reads the DOM.
LABEL_PROBE = """<script>
const svg = document.getElementById('chart');
const width = svg.width.baseVal.value, height = svg.height.baseVal.value;
const boxes = [...svg.querySelectorAll('text')].map(t => ({text: t.textContent, box: t.getBBox()}));
const problems = [];
for (const {text, box} of boxes) {
  if (box.x < 0 || box.x + box.width > width || box.y < 0 || box.y + box.height > height) problems.push('clipped: ' + text);
}
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const a = boxes[i].box, b = boxes[j].box;
  if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
    problems.push('overlap: ' + boxes[i].text + ' / ' + boxes[j].text);
}
document.body.insertAdjacentHTML('beforeend', '<pre id="label-check">' + JSON.stringify(problems) + '</pre>');
</script>"""


@pytest.mark.parametrize(
    ("name", "as_of", "horizon"),
    [
        ("ref-w7-2012q3", "2013-07-01", "365"),
        ("ref-w7-2012q3", "2012-09-20", "30"),
        ("ws-acc-0417", "2013-07-01", "365"),
        ("healthy", "2026-12-01", "365"),
        ("healthy", "2012-06-01", "10"),
    ],
)
def test_chart_labels_are_inside_and_do_not_overlap(samples, tmp_path, name, as_of, horizon):
    out = tmp_path / "report.html"
    run_imgscan("scan", samples[name], "--as-of", as_of, "--horizon", horizon, "--format", "html", "-o", out)
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text(encoding="utf-8").replace("</body>", LABEL_PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--dump-dom", probe.as_uri(), tmp_path=tmp_path).stdout
    found = re.findall(r'<pre id="label-check">(.*?)</pre>', dom, re.S)  # the first is the script's own text
    assert len(found) == 2, "the probe did not run"
    assert json.loads(html.unescape(found[-1])) == []


def test_evidence_lists_read_as_text_not_python(samples):
    """The HTML evidence showed predicted_errors=['0x800B010E CERT_E_REVOCATION_FAILURE (…)', …]: Python's repr."""
    image = samples["ws-acc-0417"]
    page = html.unescape(run_imgscan("scan", image, "--as-of", "2013-07-01", "-f", "html").stdout)
    table = run_imgscan("scan", image, "--as-of", "2013-07-01").stdout
    assert "predicted_errors=0x800B010E CERT_E_REVOCATION_FAILURE (signature verification), 0x800B010B" in page
    for text in (page, table):
        assert "['" not in text and "{'" not in text


def test_every_format_says_when_a_log_showed_the_failure_and_on_which_clock(samples, tmp_path):
    """The table alone said when a log showed an observed failure, and an event log's UTC time read like a setup
    log's host local time (2012-04-24T08:55:02 beside 2012-04-24T08:54:49). Event log times now end in Z, and
    JSON, HTML, SARIF, CSV and JUnit all carry them."""
    image, day = samples["ws-acc-0417"], ("--as-of", "2013-07-01")
    report = run_imgscan("scan", image, *day, "-f", "json").report
    seen = {f["rule"]: f.get("observed") for f in report["findings"]}
    assert seen["update-event-error"] == "2012-04-24T08:55:02Z"  # System.evtx: UTC
    assert seen["setup-log-error"] == "2012-04-24T08:54:49"  # the .NET setup log: the host's clock, zone unknown
    events = next(g for g in report["inventory"]["logs"]["failures"] if g["family"] == "events")
    assert events["first"].endswith("Z")
    table = run_imgscan("scan", image, *day).stdout
    assert "(seen 2012-04-24T08:55:02Z)" in table and "(seen 2012-04-24T08:54:49 host local time)" in table
    page = html.unescape(run_imgscan("scan", image, *day, "-f", "html").stdout)
    assert "seen <b>2012-04-24T08:55:02Z</b>" in page and "seen <b>2012-04-24T08:54:49</b> host local time" in page
    sarif = json.loads(run_imgscan("scan", image, *day, "-f", "sarif").stdout)
    assert {r["ruleId"]: r["properties"]["observed"] for r in sarif["runs"][0]["results"]} == seen
    rows = list(csv.DictReader(io.StringIO(run_imgscan("scan", image, *day, "-f", "csv").stdout)))
    assert {r["rule"]: r["observed"] or None for r in rows} == seen
    junit = run_imgscan("scan", image, *day, "-f", "junit").stdout
    assert "observed: 2012-04-24T08:55:02Z" in html.unescape(junit)
