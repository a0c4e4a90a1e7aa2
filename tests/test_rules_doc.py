"""The README's rules table is what `imgscan rules --format markdown` prints, so it cannot drift from the code."""

from __future__ import annotations

import json
import re

from tests.conftest import REPO, run_imgscan


def test_readme_rules_table_is_generated_from_the_rules():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- rules:[^\n]*-->\n(.*?)<!-- end of rules -->", readme, re.S)
    assert block, "the README has lost its generated rules table"
    assert block.group(1) == run_imgscan("rules", "--format", "markdown").stdout


def test_rules_json_lists_every_rule_with_policy_codes_and_references():
    rules = json.loads(run_imgscan("rules", "--format", "json").stdout)
    listed = {line.split()[0] for line in run_imgscan("plugins").stdout.splitlines()}
    assert {r["id"] for r in rules} == listed and len(rules) == len(listed)
    for rule in rules:
        assert rule["severity"] and rule["summary"] and rule["references"], rule["id"]
    expiry = next(r for r in rules if r["id"] == "catalog-expiry")
    assert "--horizon" in expiry["severity"] and expiry["codes"] == ["0x800B0101"]


def test_an_observed_reference_quotes_only_codes_its_rule_predicts():
    """A rule's "observed:" reference quotes its own failure: another rule's (CERT_E_EXPIRED under catalog-untrusted,
    the .NET failures of an offline-revocation State under wintrust-weakened) sends the reader to the wrong symptom.
    The log rules, which report what already happened, quote the codes they read."""
    rules = json.loads(run_imgscan("rules", "--format", "json").stdout)
    for rule in (r for r in rules if not (r.get("hits") or "").startswith("already happened")):
        for reference in (r for r in rule["references"] if r.startswith("observed:")):
            quoted = {code.upper() for code in re.findall(r"0x[0-9a-fA-F]{8}", reference)}
            assert quoted <= {code.upper() for code in rule["codes"]}, (rule["id"], reference)
