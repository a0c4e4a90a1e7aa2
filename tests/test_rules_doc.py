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
