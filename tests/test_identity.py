"""Issue 22, in-process: finding identities, one cause per group, the ignore file's clock and checks,
the as-of status words, and the fleet's findings table, on every sample scenario. Whole scans, so beside
the unit layer rather than in it."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from imgscan.check import Rule, Severity, distinct, identity
from imgscan.fleet.store import Store
from imgscan.fleet.stored_report import stored_report
from imgscan.gate import gating_severity, hidden_note, summary
from imgscan.ignore import IgnoreEntry
from imgscan.loader import load_checks
from imgscan.scan import Options
from imgscan.signing.secureboot import SecureBootState
from imgscan.signing.validity import Verdict
from imgscan.timing import validity_word
from imgscan.views.sarif import to_sarif
from sample_images.scenario import load, volume_files
from tests.unit.memory import memory_scan

SCENARIOS = sorted(p.stem for p in (Path(__file__).parents[1] / "sample_images" / "scenarios").glob("*.toml"))
ADDED = ("id", "caused_by", "explains", "gating_severity")  # the fields a report saved before issue 22 lacks
KB2731847 = "Package_for_KB2731847~31bf3856ad364e35~amd64~~6.1.1.0"


@pytest.fixture(scope="module")
def rules():
    return {rule.id: rule for rule in load_checks().rules}


@pytest.mark.parametrize("as_of", [date(2013, 7, 5), date(2027, 1, 1)])
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_finding_has_its_own_identity_and_an_old_report_gets_the_same(name, as_of, rules):
    report = memory_scan(load(name), as_of).report
    findings = report["findings"]
    ids = [f["id"] for f in findings]
    assert len(set(ids)) == len(ids) and not any("#" in i for i in ids), ids  # no twin needed numbering
    results = json.loads(to_sarif(report, list(rules.values())))["runs"][0]["results"]
    fingerprints = [r["partialFingerprints"]["imgscan/v2"] for r in results]
    assert len(results) == len(findings) and len(set(fingerprints)) == len(fingerprints)
    for finding in findings:
        old = {k: v for k, v in finding.items() if k not in ADDED}
        assert identity(old, rules[finding["rule"]]) == finding["id"]


def test_identity_is_rule_and_subject_whatever_the_case_and_separator(rules):
    def log(subject: str, path: str, code: str = "0x800B0101") -> dict:
        return {"rule": "cbs-log-error", "message": f"{subject}: {code} logged", "hresult": code, "evidence": [{"path": path}]}

    cbs = rules["cbs-log-error"]
    one = identity(log("Package_2_for_KB2705219~x", r"Windows\Logs\CBS\CBS.log"), cbs)
    assert one == "cbs-log-error:package_2_for_kb2705219~x:0x800b0101"
    assert identity(log("Package_3_for_KB2705219~x", r"Windows\Logs\CBS\CBS.log"), cbs) != one  # same file, other package
    assert identity(log("PACKAGE_2_FOR_KB2705219~X", "Windows/Logs/CBS/CbsPersist_1.log"), cbs) == one
    assert identity(log("Package_2_for_KB2705219~x", r"Windows\Logs\CBS\CBS.log", "0x80070002"), cbs) != one
    catalog = {"rule": "catalog-expiry", "evidence": [{"path": "Windows/servicing/Packages/A.cat"}]}
    assert identity(catalog, rules["catalog-expiry"]) == identity(
        catalog | {"evidence": [{"path": r"WINDOWS\Servicing\Packages\a.CAT"}]}, rules["catalog-expiry"]
    )
    boot = rules["secureboot-ca-2023-required"]  # an ESP and a WIM keep the boot manager in different folders
    esp = identity({"rule": boot.id, "evidence": [{"path": r"EFI\Microsoft\Boot\bootmgfw.efi"}]}, boot)
    assert esp == identity({"rule": boot.id, "evidence": [{"path": r"Windows\Boot\EFI\bootmgfw.efi"}]}, boot)
    assert distinct(["a", "b", "a", "a"]) == ["a", "b", "a#2", "a#3"]


def test_expired_catalog_is_the_one_cause_of_qfe_empty_and_the_cbs_failures():
    report = memory_scan(load("ref-w7-2012q3"), date(2013, 7, 1)).report
    by_id = {f["id"]: f for f in report["findings"]}
    roots = [f for f in report["findings"] if not f.get("caused_by")]
    assert {f["rule"] for f in roots} == {"catalog-expiry"}
    for finding in report["findings"]:
        if finding["rule"] == "cbs-log-error":
            cause = by_id[finding["caused_by"]]
            package = finding["message"].split(":")[0]  # the package the log names
            assert cause["rule"] == "catalog-expiry" and package in cause["message"]
            assert "imgscan explain" not in finding["remediation"] and cause["evidence"][0]["path"] in finding["remediation"]
    (qfe,) = [f for f in report["findings"] if f["rule"] == "qfe-empty"]
    decider = by_id[qfe["caused_by"]]  # the package whose catalog fails first decides when wmic qfe empties
    assert decider["starts"] == qfe["starts"] == "2013-06-30" and decider["gating_severity"] == "critical"
    assert decider["severity"] == "high" and qfe["id"] in decider["explains"]
    # one count per cause: 1 critical (via qfe-empty), 2 high, 1 medium, where 8 findings were counted before
    assert summary(report["findings"]) == report["summary"]
    assert report["summary"] == {"critical": 1, "high": 2, "medium": 1, "low": 0, "info": 0, "suppressed": 0}
    assert len(report["findings"]) == 8


def test_an_accepted_cause_still_gates_through_a_consequence_nobody_accepted():
    scenario = load("ref-w7-2012q3")
    first = memory_scan(scenario, date(2013, 7, 1)).report
    (qfe,) = [f for f in first["findings"] if f["rule"] == "qfe-empty"]
    accept = IgnoreEntry("catalog-expiry", "replaced in the next build", id=qfe["caused_by"], number=1)
    options = Options(ignore=[accept], ignore_source="x.yaml")
    result = memory_scan(scenario, date(2013, 7, 1), options=options, today=date(2020, 1, 1))
    (root,) = [f for f in result.report["findings"] if f["id"] == qfe["caused_by"]]
    assert root["suppressed"] == {"reason": "replaced in the next build", "expires": None, "source": "x.yaml", "entry": 1}
    assert root["gating_severity"] == "critical" and gating_severity(root) == Severity.CRITICAL
    assert result.gate(Severity.CRITICAL)


def test_ignore_entries_expire_on_the_day_of_the_run_not_the_as_of_day():
    entry = IgnoreEntry("catalog-expiry", "accepted until the next build", package=KB2731847, expires=date(2001, 1, 1), number=1)

    def accepted(today: date) -> tuple[bool, list[str]]:
        options = Options(ignore=[entry], ignore_source="x.yaml")
        result = memory_scan(load("ref-w7-2012q3"), date(2013, 7, 1), options=options, today=today)
        (finding,) = [f for f in result.report["findings"] if KB2731847 in f["message"] and f["rule"] == "catalog-expiry"]
        return bool(finding.get("suppressed")), [w for w in result.report["warnings"] if "-day horizon" not in w]

    assert accepted(date(2000, 12, 31)) == (True, [])  # a run in 2000 accepts it, although --as-of is 2013
    still, warnings = accepted(datetime.now(timezone.utc).date())
    assert not still and warnings == [
        "x.yaml entry 1: ignore entry for catalog-expiry expired on 2001-01-01 and no longer applies "
        "(accepted until the next build)"
    ]


def test_status_words_come_from_one_place():
    until = datetime(2013, 6, 30, 10, tzinfo=timezone.utc)
    verdict = Verdict("expires", "no-timestamp", None, until, "no timestamp", "0x800B0101")

    # it fails from 2013-06-30, the day catalog-expiry says it "expired on"
    def word(verdict: Verdict, day: date) -> str:
        return validity_word(verdict.status, verdict.starts(), day)

    assert [word(verdict, date(2013, 6, d)) for d in (29, 30)] == ["expires", "expired"]
    assert word(Verdict("valid", "timestamped", None, None, "", None), date(2099, 1, 1)) == "valid"
    revoked = Verdict("revoked", "disallowed", None, until, "", "0x800B010C")
    assert [word(revoked, date(2013, 6, d)) for d in (29, 30)] == ["revoked later", "revoked"]
    report = memory_scan(load("ref-w7-2012q3"), date(2013, 6, 30)).report
    catalogs = {c["path"].rsplit("\\", 1)[-1]: c for c in report["inventory"]["catalogs"]}
    assert catalogs["Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1.cat"]["status_as_of"] == "expired"
    assert catalogs[f"{KB2731847}.cat"]["status_as_of"] == "expires"
    packages = {p["identity"]: p for p in report["inventory"]["packages"]}
    assert packages[KB2731847]["catalog_status_as_of"] == "expires"
    assert packages["Package_for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"]["catalog_status_as_of"] == "expired"


def test_secure_boot_state_words_add_to_the_value():
    text = SecureBootState("SYSTEM\\x", None, "NotStarted", 0).describe()
    assert "NotStarted (not started)" not in text
    assert text.startswith("UEFICA2023Status = NotStarted (the 2023 certificate update has not begun)")


def test_a_missing_catalog_is_reported_once_as_the_finding():
    scenario = load("ref-w7-2012q3")
    files = dict(volume_files(scenario))
    package = "Package_for_KB2506212~31bf3856ad364e35~amd64~~6.1.1.0"
    del files[f"Windows/servicing/Packages/{package}.cat"]
    report = memory_scan(scenario, date(2012, 12, 1), files).report
    assert [f["rule"] for f in report["findings"] if package in f["message"]] == ["component-store-inconsistent"]
    assert not [e for e in report["errors"] if package in e["path"] + e["message"]]


def test_the_fleet_findings_table_keeps_identities(tmp_path):
    report = memory_scan(load("ref-w7-2012q3"), date(2013, 7, 1)).report
    store = Store(tmp_path / "fleet.sqlite")
    try:
        run = store.start_run("2013-07-01", 365, {}, "options", "test")
        store.record(run, {"key": "a", "path": "/images/a.vhdx", "report": stored_report(report)}, "test", "options", "new")
        rows = store.db.execute("SELECT id, caused_by, severity FROM findings ORDER BY id").fetchall()
        (worst,) = store.db.execute("SELECT worst FROM scans").fetchone()
    finally:
        store.close()
    assert rows == sorted((f["id"], f.get("caused_by"), f["severity"]) for f in report["findings"])
    assert worst == "critical"


def test_a_rule_names_a_known_kind_of_subject():
    with pytest.raises(ValueError, match="subject must be one of path, file, packages, message"):
        Rule("my-check", Severity.LOW, "title", "summary", subject="paths")


def test_what_severity_hid_is_said_with_what_still_gates():
    counts = {"critical": 0, "high": 2, "medium": 0, "low": 0, "info": 0}
    assert hidden_note(counts | {"suppressed": 0}) == "2 finding(s) (2 high); they still count for --fail-on"
    assert hidden_note(counts | {"high": 0, "suppressed": 1}) == "1 finding(s) (1 suppressed)"
    assert hidden_note(counts | {"suppressed": 1}).endswith("; those the ignore file does not accept still count for --fail-on")
