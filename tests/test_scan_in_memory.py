"""Every check, on the sample scenarios, in-process: the findings of an in-memory scan are those of the
saved reports of the built disk images (tests/data/golden), and odd or damaged files are findings or
errors entries, not crashes."""

from __future__ import annotations

import json
from datetime import date

import pytest

from sample_images.scenario import load, volume_files
from tests.golden import CASES, SAVED
from tests.unit.memory import memory_scan


def _facts(findings: list[dict]) -> list[tuple]:
    return sorted(
        (f["rule"], f["severity"], f["starts"], f["hresult"], f["evidence"][0].get("path") if f["evidence"] else None)
        for f in findings
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_memory_scan_finds_what_the_disk_image_scan_found(name):
    image, as_of = CASES[name]
    scenario = load(image.rsplit("/", 1)[-1].removesuffix(".vhdx"))
    saved = json.loads((SAVED / name).read_text(encoding="utf-8"))
    result = memory_scan(scenario, date.fromisoformat(as_of))
    assert _facts(result.report["findings"]) == _facts(saved["findings"])
    assert result.report["summary"] == saved["summary"]
    assert [p["identity"] for p in result.report["inventory"]["packages"]] == [
        p["identity"] for p in saved["inventory"]["packages"]
    ]


def test_odd_entries_are_findings_not_crashes():
    scenario = load("ref-w7-2012q3")
    files: dict[str, bytes | None] = dict(volume_files(scenario))
    files["Users/imageadmin/NTUSER.DAT"] = None  # a FIFO or device where the profile hive should be
    files["Windows/Logs/CBS/CheckSUR.log"] = None
    report = memory_scan(scenario, date(2013, 7, 1), files).report
    unreadable = [f for f in report["findings"] if f["rule"] == "hive-unreadable"]
    assert len(unreadable) == 1 and "imageadmin" in unreadable[0]["message"]
    assert any(e["path"] == "Windows\\Logs\\CBS\\CheckSUR.log" for e in report["errors"])
    assert {"catalog-expiry", "qfe-empty"} <= {f["rule"] for f in report["findings"]}


def test_horizon_decides_between_medium_and_nothing():
    scenario = load("ref-w7-2012q3")
    soon = memory_scan(scenario, date(2012, 12, 1), horizon_days=365).report
    later = memory_scan(scenario, date(2012, 12, 1), horizon_days=30).report
    assert {f["severity"] for f in soon["findings"] if f["rule"] == "catalog-expiry"} == {"medium"}
    assert not [f for f in later["findings"] if f["rule"] in ("catalog-expiry", "qfe-empty")]


@pytest.mark.parametrize(
    ("change", "rule", "severity"),
    [
        (lambda s: setattr(s, "root_in_image", False), "catalog-untrusted", "high"),
        (lambda s: setattr(s.packages[1], "catalog_damage", "truncate"), "catalog-unreadable", "high"),  # its own
        (lambda s: setattr(s.default_template, "dirty", True), "hive-dirty", "info"),
        (lambda s: setattr(s, "software_damage", "truncate"), "hive-unreadable", "high"),
        (lambda s: setattr(s, "disallowed", ["windows-2011"]), "catalog-untrusted", "high"),
    ],
)
def test_each_rule_fires_on_its_variant(change, rule, severity):
    scenario = load("ref-w7-2012q3")
    change(scenario)
    report = memory_scan(scenario, date(2012, 12, 1)).report
    assert (rule, severity) in {(f["rule"], f["severity"]) for f in report["findings"]}
    assert rule not in {f["rule"] for f in memory_scan(load("healthy"), date(2012, 12, 1)).report["findings"]}
