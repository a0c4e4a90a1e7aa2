"""Issue 22, "A CI gate people can trust", with the commands that showed each problem: findings that differ
only by subject, --severity opening the gate, suppressed findings that look live, an ignore file accepted
silently, views that disagree on a catalog's state, and one cause counted many times."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import REALDATA, REPO, run_imgscan
from tests.golden import CASES

BUILT = REPO / "sample_images" / "built"
REF_W7_2012Q3 = BUILT / "ref-w7-2012q3.vhdx"
KB2731847 = "Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0"
PACKAGE_2 = "Package_2_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"
ADDED = ("id", "caused_by", "explains", "gating_severity")


def _ignore_warnings(lines: list[str]) -> list[str]:
    """The warnings but the one about failures past --horizon (the sample's SHA-2 deadline, 2019)."""
    return [line for line in lines if "-day horizon" not in line]


def scan_json(image, *args) -> dict:
    run = run_imgscan("scan", image, "-f", "json", *args)
    assert run.code in (0, 1), run.stderr
    return run.report


EXPIRED = ("sample_images/built/ref-w7-2012q3.vhdx", "2014-01-01")  # both of its catalogs' expiries passed


@pytest.mark.parametrize(("image", "as_of"), [*sorted(set(CASES.values())), EXPIRED])
def test_sarif_gives_every_result_its_own_fingerprint(image, as_of, tmp_path):
    out = tmp_path / "r.sarif"
    assert run_imgscan("scan", REPO / image, "--as-of", as_of, "-f", "sarif", "-o", out).code in (0, 1)
    results = json.loads(out.read_text())["runs"][0]["results"]
    fingerprints = [r["partialFingerprints"]["imgscan/v2"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)
    if "ref-w7-2012q3" in image and as_of >= "2013-07-01":  # two CBS.log findings about two packages share a path
        cbs = [r for r in results if r["ruleId"] == "cbs-log-error"]
        assert len(cbs) >= 2 and len({r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in cbs}) < len(cbs)


def test_diff_reports_a_finding_that_differs_only_by_subject(tmp_path):
    full = tmp_path / "full.json"
    assert run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "-f", "json", "-o", full).code == 1
    report = json.loads(full.read_text())
    dropped = next(f for f in report["findings"] if f["rule"] == "cbs-log-error" and f["message"].startswith("Package_3"))
    reduced = tmp_path / "reduced.json"
    reduced.write_text(json.dumps(report | {"findings": [f for f in report["findings"] if f is not dropped]}))
    run = run_imgscan("diff", reduced, full)
    assert run.code == 1, run.stdout
    assert "new findings: 1" in run.stdout and "cbs-log-error  Windows\\Logs\\CBS\\CBS.log" in run.stdout
    result = json.loads(run_imgscan("diff", reduced, full, "-f", "json").stdout)
    assert [f["id"] for f in result["new_findings"]] == [dropped["id"]] and result["gating"] == 1
    # reports saved before findings had an `id`: diff computes the same identities
    for path in (reduced, full):
        saved = json.loads(path.read_text())
        saved["findings"] = [{k: v for k, v in f.items() if k not in ADDED} for f in saved["findings"]]
        path.write_text(json.dumps(saved))
    legacy = json.loads(run_imgscan("diff", reduced, full, "-f", "json").stdout)
    assert [f["message"] for f in legacy["new_findings"]] == [dropped["message"]] and legacy["gating"] == 1
    same = run_imgscan("diff", full, full)
    assert same.code == 0 and "new findings: 0" in same.stdout and same.stderr == ""


def test_diff_warns_when_the_two_sides_are_judged_on_different_days(tmp_path):
    saved = tmp_path / "december.json"
    assert run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2012-12-01", "-f", "json", "-o", saved).code == 1
    later = run_imgscan("diff", saved, REF_W7_2012Q3, "--as-of", "2013-07-01")
    assert _ignore_warnings(later.stderr.strip().splitlines()) == [
        f"imgscan: warning: {saved} is judged as of 2012-12-01, {REF_W7_2012Q3} as of 2013-07-01: "
        "give --as-of 2012-12-01 to compare the images on one day"
    ]
    same_day = run_imgscan("diff", saved, REF_W7_2012Q3, "--as-of", "2012-12-01")
    assert same_day.code == 0 and "new findings: 0" in same_day.stdout
    assert _ignore_warnings(same_day.stderr.splitlines()) == []


def test_diff_says_that_ignore_does_not_reach_a_saved_report(tmp_path):
    """`diff saved.json new.json --ignore FILE` gated as if the file were applied (it was not), silently."""
    saved = tmp_path / "july.json"
    assert run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "-f", "json", "-o", saved).code == 1
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text("- rule: qfe-empty\n  reason: known\n")
    both_saved = run_imgscan("diff", saved, saved, "--ignore", ignore)
    assert both_saved.stderr.strip() == (
        f"imgscan: warning: --ignore {ignore} applies to the images judged now, not to {saved} and {saved}: a saved "
        "report keeps what the ignore file of its own scan accepted (scan it again with --ignore to change that)"
    )
    judged_now = run_imgscan("diff", REF_W7_2012Q3, REF_W7_2012Q3, "--as-of", "2013-07-01", "--ignore", ignore)
    assert _ignore_warnings(judged_now.stderr.splitlines()) == [] and judged_now.code == 0
    assert judged_now.stderr.count("-day horizon") == 1  # both sides give it: said once


def test_a_wim_and_a_vhdx_of_one_image_give_the_same_identities(tmp_path):
    for name, as_of in (("ref-w7-2012q3", "2013-07-01"), ("secureboot-2023", "2025-01-01")):
        images = build(load(name), tmp_path / name, ("vhdx", "wim-lzx"))
        disk, wim = ({f["id"] for f in scan_json(images[fmt], "--as-of", as_of)["findings"]} for fmt in ("vhdx", "wim-lzx"))
        assert wim and wim <= disk, (wim, disk)  # an ESP may hold the fallback bootx64.efi as well
        assert {i for i in disk if "bootx64" not in i} == wim


@pytest.mark.parametrize("severity", ["medium", "critical", "high, critical", "info", "low,medium"])
def test_severity_never_changes_the_exit_code(severity):
    base = run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01")
    filtered = run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01", "--severity", severity)
    assert base.code == filtered.code == 1, filtered.stderr


def test_severity_medium_shows_medium_and_worse_and_says_what_it_hid(tmp_path):
    every = scan_json(REF_W7_2012Q3, "--as-of", "2013-07-01")
    medium = scan_json(REF_W7_2012Q3, "--as-of", "2013-07-01", "--severity", "medium")
    assert medium["findings"] == every["findings"] and medium["filtered"]["severities"] == ["critical", "high", "medium"]
    run = run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01", "--severity", "critical", "-f", "json")
    report = run.report
    assert run.code == 1 and report["findings"] == []
    assert report["filtered"]["hidden"] == {"critical": 0, "high": 2, "medium": 2, "low": 0, "info": 0, "suppressed": 0}
    assert report["summary"]["high"] == 1  # the summary still counts every cause
    assert "imgscan: warning: --severity hid 4 finding(s) (2 high, 2 medium); they still count for --fail-on" in run.stderr
    quiet = run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01", "--severity", "critical", "-q")
    assert quiet.code == 1 and quiet.stderr == ""
    assert "--severity critical hid 4 finding(s) (2 high, 2 medium); they still count for --fail-on" in quiet.stdout
    # no "No findings." above a summary that counts some: the table says what it shows and what it counts
    assert "No findings at --severity critical." in quiet.stdout and "No findings.\n" not in quiet.stdout
    assert "summary of every finding, each cause counted once: 1 high, 1 medium\n" in quiet.stdout
    page, junit = tmp_path / "r.html", tmp_path / "r.xml"
    args = ("--as-of", "2013-07-01", "--severity", "critical", "-f", "html", "-o", page, "-f", "junit", "-o", junit)
    assert run_imgscan("scan", BUILT / "ws-acc-0417.vhdx", *args).code == 1
    assert 'id="verdict">FAIL<' in page.read_text() and "hid 4 finding(s)" in page.read_text()
    assert re.search(r'<testcase [^>]*name="hidden by --severity"[^>]*>\s*<failure', junit.read_text())
    bad = run_imgscan("scan", REF_W7_2012Q3, "--severity", "severe")
    assert bad.code == 2 and "unknown severity 'severe'" in bad.stderr and "Traceback" not in bad.stderr


def test_diff_refuses_a_saved_report_that_severity_left_findings_out_of(tmp_path):
    """Compared as it was, a report saved with --severity critical showed its image's high findings as resolved
    and passed (exit 0); a preflight report was called no imgscan report at all."""
    image, filtered, preflight = BUILT / "ws-acc-0417.vhdx", tmp_path / "filtered.json", tmp_path / "preflight.json"
    assert run_imgscan("scan", image, "--as-of", "2013-07-01", "--severity", "critical", "-o", filtered).code == 1
    run = run_imgscan("diff", image, filtered, "--as-of", "2013-07-01")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        f"imgscan: error: {filtered}: was saved with --severity, which left 4 finding(s) out of it (save it without --severity)\n"
    )
    update = min((REALDATA / "updates").glob("*.msu"), key=lambda p: p.stat().st_size)
    assert run_imgscan("preflight", BUILT / "healthy.vhdx", update, "-f", "json", "-o", preflight).code in (0, 1)
    run = run_imgscan("diff", image, preflight, "--as-of", "2013-07-01")
    assert run.code == 2 and f"{preflight}: is a preflight report, not a scan's" in run.stderr


def test_suppressed_findings_are_marked_in_every_format(tmp_path):
    ignore = tmp_path / "accepted.yaml"
    # the path as SARIF writes it (forward slashes) matches the report's backslashes
    ignore.write_text(f'- rule: catalog-expiry\n  path: "Windows/servicing/Packages/{KB2731847}.cat"\n  reason: CHG-1234\n')
    outs = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "csv", "html", "table")}
    args = [a for fmt, out in outs.items() for a in ("-f", fmt, "-o", out)]
    run = run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "--ignore", ignore, *args)
    assert run.code == 1 and not _ignore_warnings(run.stderr.splitlines()), run.stderr
    table = outs["table"].read_text()
    head = next(line for line in table.splitlines() if KB2731847 in line and "catalog-expiry" in line)
    assert head.startswith("SUPPRESSED (medium) catalog-expiry")
    assert f"  accepted by {ignore} entry 1: CHG-1234" in table
    report = json.loads(outs["json"].read_text())
    (accepted,) = [f for f in report["findings"] if f.get("suppressed")]
    assert accepted["suppressed"] == {"reason": "CHG-1234", "expires": None, "source": str(ignore), "entry": 1}
    assert accepted["gating_severity"] is None and report["summary"]["medium"] == 0 and report["summary"]["suppressed"] == 1
    (result,) = [r for r in json.loads(outs["sarif"].read_text())["runs"][0]["results"] if "suppressions" in r]
    assert result["partialFingerprints"]["imgscan/v2"] == accepted["id"]
    (row,) = [r for r in csv.DictReader(io.StringIO(outs["csv"].read_text())) if r["suppressed"]]
    assert row["id"] == accepted["id"] and row["suppressed"] == "CHG-1234"
    assert "entry 1)</li>" in outs["html"].read_text() and "CHG-1234" in outs["html"].read_text()


def test_nothing_in_the_ignore_file_is_accepted_silently(tmp_path):
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(
        "- rule: catalog-expiri\n  reason: typo\n"
        "- rule: qfe-empty\n  package: KB9999999\n  reason: matches nothing\n"
        "- rule: catalog-expiry\n  kb: 2705219\n  reason: a number, as YAML reads it\n"
    )
    run = run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "--ignore", ignore, "-f", "json")
    assert run.code == 1
    warnings = run.report["warnings"]
    typo = "no rule is called 'catalog-expiri' (did you mean catalog-expiry?); the entry accepts nothing"
    assert f"{ignore} entry 1: {typo}" in warnings
    assert f"{ignore} entry 2: the entry for qfe-empty matched no finding (check its package, kb, path or id)" in warnings
    assert all(f"imgscan: warning: {w}" in run.stderr for w in warnings)
    accepted = [f for f in run.report["findings"] if f.get("suppressed")]
    assert len(accepted) == 3 and all("KB2705219" in f["message"] and f["rule"] == "catalog-expiry" for f in accepted)
    for text, problem in (
        ("- rule: catalog-expiry\n  package: 2705219\n  reason: x\n", "entry 1 (catalog-expiry): package must be text, not 2705"),
        ("- rule: catalog-expiry\n  reason: [a, b]\n", "entry 1 (catalog-expiry): reason must be text"),
    ):
        ignore.write_text(text)
        bad = run_imgscan("scan", REF_W7_2012Q3, "--ignore", ignore)
        assert bad.code == 2 and problem in bad.stderr and "internal error" not in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_a_kb_entry_accepts_a_finding_only_for_every_kb_it_is_about(tmp_path):
    """qfe-empty on 2013-07-01 is about KB2705219 (failing now) and KB2731847 (from 2013-10-15): an entry accepting
    KB2731847 used to accept the critical finding whole, and an entry for KB2749655 (the missing mitigation each
    catalog-expiry message names) accepted every catalog-expiry finding. Both now accept nothing, and say why."""
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text("- rule: qfe-empty\n  kb: 2731847\n  reason: r\n- rule: catalog-expiry\n  kb: KB2749655\n  reason: r\n")
    run = run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "--ignore", ignore, "-f", "json")
    assert run.code == 1 and not [f for f in run.report["findings"] if f.get("suppressed")]
    assert run.report["summary"]["critical"] == 1
    assert _ignore_warnings(run.report["warnings"]) == [
        f"{ignore} entry 1: the qfe-empty finding is also about KB2705219, which no entry for qfe-empty accepts: the "
        "finding is not accepted (add a kb entry for each, or accept it by id)",
        f"{ignore} entry 2: the entry for catalog-expiry matched no finding (check its package, kb, path or id)",
    ]
    ignore.write_text("- rule: qfe-empty\n  kb: 2731847\n  reason: r\n- rule: qfe-empty\n  package: KB2705219\n  reason: r\n")
    both = run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "--ignore", ignore, "-f", "json")
    (accepted,) = [f for f in both.report["findings"] if f.get("suppressed")]
    assert (
        accepted["rule"] == "qfe-empty"
        and _ignore_warnings(both.report["warnings"]) == []
        and both.report["summary"]["critical"] == 0
    )


def test_an_ignore_entry_by_id_accepts_exactly_that_finding(tmp_path):
    full = scan_json(REF_W7_2012Q3, "--as-of", "2013-07-01")
    target = next(f for f in full["findings"] if f["rule"] == "cbs-log-error")
    ignore = tmp_path / "accepted.yaml"
    ignore.write_text(f"- rule: cbs-log-error\n  id: '{target['id']}'\n  reason: seen\n")
    report = scan_json(REF_W7_2012Q3, "--as-of", "2013-07-01", "--ignore", ignore)
    assert [f["id"] for f in report["findings"] if f.get("suppressed")] == [target["id"]]


def test_every_view_says_expired_from_the_day_the_scan_does():
    day = "2013-06-30"  # the first day the catalog fails: the views used to say `expires` on it
    report = scan_json(REF_W7_2012Q3, "--as-of", day)
    (finding,) = [f for f in report["findings"] if f["rule"] == "catalog-expiry" and PACKAGE_2 in f["message"]]
    assert f"expired on {day}" in finding["message"] and finding["evidence"][0]["status_as_of"] == "expired"
    catalogs = run_imgscan("catalogs", REF_W7_2012Q3, "--as-of", day).stdout
    line = next(x for x in catalogs.splitlines() if x.startswith(f"Windows\\servicing\\Packages\\{PACKAGE_2}"))
    assert line.split()[-1] == "expired"
    packages = run_imgscan("packages", REF_W7_2012Q3, "--as-of", day).stdout
    assert re.search(rf"^{re.escape(PACKAGE_2)} .* expired +{day}$", packages, re.M)
    table = run_imgscan("scan", REF_W7_2012Q3, "--as-of", day).stdout
    assert "status_as_of=expired" in table and "status=expires" not in table
    page = run_imgscan("scan", REF_W7_2012Q3, "--as-of", day, "-f", "html").stdout
    row = f"<tr><td>{PACKAGE_2}</td><td>KB2705219</td><td>Installed</td><td>2012-09-12</td>\n      <td>expired</td>"
    assert row in html.unescape(page)


def test_packages_json_and_table_agree_on_what_wmic_qfe_shows():
    for day, empty in (("2012-12-01", False), ("2013-07-01", True)):
        view = run_imgscan("packages", REF_W7_2012Q3, "--as-of", day, "-f", "json").report
        table = run_imgscan("packages", REF_W7_2012Q3, "--as-of", day).stdout
        wmic = view["wmic_qfe"]
        assert (wmic["empty"], wmic["from"]) == (empty, "2013-06-30")
        assert wmic["rows"] == ([] if empty else view["qfe"]) and len(view["qfe"]) == 4  # three KBs and SP1's KB976902
        assert (f"wmic qfe as of {day}: No instances available." in table) is empty
        assert ("No instances available" in table) is empty


def test_one_cause_is_one_gating_finding_with_its_consequences_under_it():
    run = run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01")
    assert run.code == 1
    lines = run.stdout.splitlines()
    root = lines.index(next(x for x in lines if x.startswith("CRITICAL catalog-expiry") and PACKAGE_2 in x))
    assert lines[root + 1] == "  gates as critical through a finding it causes (its own severity: high)"
    causes = lines.index("  causes 2 more finding(s), counted with it:", root)
    assert lines[causes + 1].startswith("    CRITICAL qfe-empty")
    assert any(x.startswith("    HIGH     cbs-log-error  Windows\\Logs\\CBS\\CBS.log") for x in lines[causes:])
    summary = "Read 6 hive(s); summary: 1 critical, 2 high, 1 medium (4 more findings are not counted again: each follows from"
    assert f"{summary} a cause counted here)" in lines
    assert "imgscan explain" not in run.stdout  # each log failure's fix names its cause
    heads = [x for x in lines if re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO|SUPPRESSED) ", x)]
    assert [h.split()[1] for h in heads] == ["catalog-expiry"] * 4
    ws_acc_0417 = scan_json(BUILT / "ws-acc-0417.vhdx", "--as-of", "2013-07-01")
    causes_of = {f["rule"]: f.get("caused_by", "") for f in ws_acc_0417["findings"]}
    cause = "wintrust-offline-revocation:users\\nfury\\ntuser.dat"
    assert causes_of["setup-log-error"] == causes_of["update-event-error"] == cause
    assert ws_acc_0417["summary"]["high"] == 1 and ws_acc_0417["summary"]["medium"] == 1


def test_diff_of_a_file_that_is_neither_an_image_nor_a_json_report_says_what_diff_takes(tmp_path):
    page, saved = tmp_path / "report.html", tmp_path / "report.txt"
    assert run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "-f", "html", "-o", page).code == 1
    saved.write_text(run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2013-07-01", "-f", "json").stdout)  # a JSON report
    for given in (page, saved):
        run = run_imgscan("diff", given, REF_W7_2012Q3, "--as-of", "2013-07-01")
        assert run.code == 2 and "Traceback" not in run.stderr
        assert run.stderr == (
            f"imgscan: error: {given}: not a disk image: no VHD/VHDX/VMDK/E01/WIM header, partition table or NTFS "
            "boot sector (diff compares images, or reports saved with --format json in files named .json)\n"
        )
    renamed = saved.rename(tmp_path / "report.json")
    assert run_imgscan("diff", renamed, REF_W7_2012Q3, "--as-of", "2013-07-01").code == 0


def test_diff_gates_on_a_finding_that_rose_to_fail_on(tmp_path):
    """A catalog expiry 'soon' in December is failing in July: the same finding (same identity), now at
    critical. diff called it unchanged and passed --fail-on critical; it is 'worsened' and gates."""
    december, july = tmp_path / "december.json", tmp_path / "july.json"
    for saved, day in ((december, "2012-12-01"), (july, "2013-07-05")):
        assert run_imgscan("scan", REF_W7_2012Q3, "--as-of", day, "-f", "json", "-o", saved).code == 1
    run = run_imgscan("diff", december, july, "--fail-on", "critical", "-f", "json")
    assert run.code == 1
    result = json.loads(run.stdout)
    worse = {(w["finding"]["rule"], w["old_severity"], w["old_phase"], w["finding"]["phase"]) for w in result["worsened"]}
    assert ("catalog-expiry", "medium", "soon", "failing") in worse and ("qfe-empty", "high", "soon", "failing") in worse
    assert not {f["id"] for f in result["unchanged"]} & {w["finding"]["id"] for w in result["worsened"]}
    assert result["gating"] == 1  # the expired KB2705219 catalog and the qfe-empty it causes: one cause
    table = run_imgscan("diff", december, july, "--fail-on", "critical", "-q")
    assert table.code == 1 and "worsened: 4\n" in table.stdout and "(was HIGH, soon)" in table.stdout
    same = run_imgscan("diff", july, july, "--fail-on", "critical", "-f", "json")
    assert same.code == 0 and json.loads(same.stdout)["worsened"] == []
    # both sides saved: --as-of reaches neither, so the warning does not suggest it
    assert "save both reports with one --as-of to compare the images on one day" in run.stderr


def test_an_ignore_file_inside_the_scanned_image_is_not_used(tmp_path):
    """A responder scanning an extracted image from within it got a pass: the image's own .imgscanignore.yaml
    (the working directory's, read by default) accepted every finding, and nothing said so."""
    image = build(load("ref-w7-2012q3"), tmp_path / "built", ("dir",))["dir"]
    accept_all = "".join(f"- rule: {rule}\n  reason: accepted\n" for rule in ("catalog-expiry", "qfe-empty", "cbs-log-error"))
    (image / ".imgscanignore.yaml").write_text(accept_all)
    inside = run_imgscan("scan", ".", "--as-of", "2013-07-01", "-f", "json", cwd=image)
    assert inside.code == 1 and not any(f.get("suppressed") for f in inside.report["findings"])
    assert "not used, it is inside an image this command reads" in inside.stderr and "--ignore" in inside.stderr
    chosen = run_imgscan("scan", ".", "--as-of", "2013-07-01", "-f", "json", "--ignore", ".imgscanignore.yaml", cwd=image)
    assert chosen.code == 0 and all(f.get("suppressed") for f in chosen.report["findings"])
    work = tmp_path / "ci"  # a CI job's own ignore file, beside the image: read by default as before
    work.mkdir()
    (work / ".imgscanignore.yaml").write_text(accept_all)
    beside = run_imgscan("scan", image, "--as-of", "2013-07-01", "-f", "json", cwd=work)
    assert beside.code == 0 and all(f.get("suppressed") for f in beside.report["findings"])
    assert "inside the image" not in beside.stderr


def test_a_clean_verdict_says_when_the_first_failure_beyond_the_horizon_starts():
    """With --horizon 30 on 2012-12-01 the reference image was "No findings ... clean", silent about catalogs that
    expire on 2013-06-30 (findings past the horizon are dropped by design). The verdict stays clean; a warning
    gives the first day and the horizon that reports it, and that horizon does."""
    run = run_imgscan("scan", REF_W7_2012Q3, "--as-of", "2012-12-01", "--horizon", "30", "-f", "json")
    assert run.code == 0 and run.report["findings"] == []
    [warning] = run.report["warnings"]
    assert "start after the 30-day horizon, the first on 2013-06-30 (catalog-expiry)" in warning
    assert warning.endswith("--horizon 211 reports it") and warning in run.stderr
    wider = scan_json(REF_W7_2012Q3, "--as-of", "2012-12-01", "--horizon", "211")
    assert {f["starts"] for f in wider["findings"] if f["rule"] == "catalog-expiry"} == {"2013-06-30"}
    # what is still beyond: KB2731847's catalog (2013-10-15, the first), the SHA-2 and ESU deadlines
    assert wider["warnings"] == [
        "3 failure(s) start after the 211-day horizon, the first on 2013-10-15 (catalog-expiry): --horizon 318 reports it"
    ]


def test_catalogs_judged_without_the_images_trust_stores_are_counted_with_the_unreadable_hive(tmp_path):
    """A SOFTWARE hive whose first page is zeroed leaves no image ROOT store: every catalog chained to the image's
    own root read as eleven confident, separate HIGH catalog-untrusted causes, none linked to the damaged hive.
    They are now its consequences: reported, and gating once with it."""
    image = build(load("ref-w7-2012q3"), tmp_path / "built", ("dir",))["dir"]
    software = image / "Windows" / "System32" / "config" / "SOFTWARE"
    software.write_bytes(bytes(4096) + software.read_bytes()[4096:])
    run = run_imgscan("scan", image, "--as-of", "2013-07-01", "-f", "json")
    assert run.code == 1
    findings = run.report["findings"]
    [hive] = [f for f in findings if f["rule"] == "hive-unreadable"]
    untrusted = [f for f in findings if f["rule"] == "catalog-untrusted"]
    assert len(untrusted) > 5 and all(f["caused_by"] == hive["id"] for f in untrusted)
    assert set(hive["explains"]) >= {f["id"] for f in untrusted}
    assert "the image's own ROOT/AuthRoot stores could not be read" in untrusted[0]["message"]
    causes = [f for f in findings if not f.get("caused_by")]
    assert run.report["summary"]["high"] == len(causes) < len(findings)
    # CBS.log's 0x800B0101 lines: the expiry rule judged without the image's roots, which their fix says
    logged = [f for f in findings if f["rule"] == "cbs-log-error" and f["hresult"] == "0x800B0101"]
    assert logged and all(
        "catalog-expiry: judged without Windows\\System32\\config\\SOFTWARE" in f["remediation"] for f in logged
    )


def test_diff_says_what_scan_says_and_takes_no_ignore_file_from_either_image(tmp_path):
    """diff printed none of its scans' warnings (an expired ignore entry, failures past --horizon); an ignore file
    inside the old image's folder was refused for that side, with a warning, yet accepted findings of the new one;
    saved reports judged with different horizons, or an --as-of that reaches neither, went without a word."""
    q3 = build(load("ref-w7-2012q3"), tmp_path / "q3", ("dir",))["dir"]
    q4 = build(load("ref-w7-2012q4"), tmp_path / "q4", ("dir",))["dir"]
    accept_all = "".join(f"- rule: {rule}\n  reason: accepted\n" for rule in ("catalog-expiry", "qfe-empty", "cbs-log-error"))
    (q3 / ".imgscanignore.yaml").write_text(accept_all)
    run = run_imgscan("diff", ".", q4, "--as-of", "2012-12-01", "-f", "json", cwd=q3)
    assert run.stderr.count("not used, it is inside an image this command reads") == 1
    result = json.loads(run.stdout)
    assert not any(f.get("suppressed") for f in result["unchanged"] + result["new_findings"])
    expired = tmp_path / "expired.yaml"
    expired.write_text("- rule: catalog-expiry\n  reason: old\n  expires: 2001-01-01\n")
    warned = run_imgscan("diff", q3, q4, "--as-of", "2012-12-01", "--horizon", "30", "--ignore", expired)
    assert "expired" in warned.stderr and "start after the 30-day horizon" in warned.stderr
    near, far = tmp_path / "near.json", tmp_path / "far.json"
    for out, horizon in ((near, "30"), (far, "365")):
        run_imgscan("scan", q3, "--as-of", "2012-12-01", "--horizon", horizon, "-f", "json", "-o", out)
    both = run_imgscan("diff", near, far, "--as-of", "2013-01-01")
    assert "looks 30 days ahead" in both.stderr and "--as-of 2013-01-01 reaches neither saved report" in both.stderr
