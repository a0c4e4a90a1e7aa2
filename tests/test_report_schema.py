"""The JSON report contract: docs/report.schema.json is generated from imgscan/report.py's types and
every report imgscan writes validates against it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from imgscan.report import FindingJson, Inventory, Report, schema
from imgscan.report.contract import mismatch
from tests.conftest import REPO
from tests.golden import CASES, SAVED

SCHEMA_FILE = REPO / "docs" / "report.schema.json"


def test_committed_schema_is_generated_from_the_types():
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == schema(), "regenerate it: python -m imgscan.report > docs/report.schema.json"


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_reports_validate(name):
    report = json.loads((SAVED / name).read_text(encoding="utf-8"))
    assert "checks" not in report["inventory"]  # saved without the list of checks (tests/golden.py)
    report["inventory"]["checks"] = []
    jsonschema.Draft202012Validator(schema()).validate(report)


def test_schema_rejects_a_report_missing_a_field_or_with_a_wrong_severity():
    report = json.loads((SAVED / "ref-w7-2012q3-2013-07-01.json").read_text(encoding="utf-8"))
    report["inventory"]["checks"] = []
    validator = jsonschema.Draft202012Validator(schema())
    assert validator.is_valid(report)
    broken = dict(report)
    del broken["host"]
    assert not validator.is_valid(broken)
    wrong = json.loads(json.dumps(report))
    wrong["findings"][0]["severity"] = "urgent"
    assert not validator.is_valid(wrong)


def _objects(node, where="#"):
    """Every object schema in `node`, with where it is."""
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _objects(value, f"{where}/{n}")


def test_schema_has_no_open_object():
    """Every object declares its properties and admits no others, or is a map whose values have a schema
    (`summary`: counts by severity); the one exception is the inventory, where plugins outside imgscan add
    sections of their own shape."""
    open_ = []
    for where, node in _objects(schema()):
        extra = node.get("additionalProperties", True)
        if "properties" in node:
            if extra is not False and where != "#/$defs/Inventory":
                open_.append(where)
        elif not isinstance(extra, dict) or not extra.get("type"):
            open_.append(where)  # no properties and no typed values: anything goes
    assert open_ == []
    assert schema()["$defs"]["Inventory"]["additionalProperties"].keys() == {"description"}


def test_schema_rejects_an_undeclared_evidence_or_inventory_field():
    report = json.loads((SAVED / "ref-w7-2012q3-2013-07-01.json").read_text(encoding="utf-8"))
    report["inventory"]["checks"] = []
    validator = jsonschema.Draft202012Validator(schema())
    assert validator.is_valid(report)
    evidence = json.loads(json.dumps(report))
    evidence["findings"][0]["evidence"][0]["colour"] = "red"
    assert not validator.is_valid(evidence)
    package = json.loads(json.dumps(report))
    package["inventory"]["packages"][0]["colour"] = "red"
    assert not validator.is_valid(package)
    without_path = json.loads(json.dumps(report))
    del without_path["findings"][0]["evidence"][0]["path"]
    assert not validator.is_valid(without_path)
    plugin = json.loads(json.dumps(report))
    plugin["inventory"]["dism_log"] = {"read": [], "failures": 0}  # a plugin's own section (tests/plugins)
    assert validator.is_valid(plugin)


# a value of each JSON type, one of which is wrong for any field (1.5: no count; true: no count either, to JSON)
EDITS = ("bogus", -1, 1.5, True, None, [], {})


def _edited(node, where=()):
    """Every copy of `node` with one field, at any depth, removed or given one of EDITS instead: (where, copy)."""
    fields = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(fields):
        for edit in ("removed", *EDITS) if isinstance(node, dict) else EDITS:
            copy = json.loads(json.dumps(node))
            if edit == "removed":
                del copy[key]
            else:
                copy[key] = edit
            yield (*where, key, edit), copy
        for inner, changed in _edited(value, (*where, key)):
            copy = json.loads(json.dumps(node))
            copy[key] = changed
            yield inner, copy


def _validator(definition=None):
    defs = schema()["$defs"]
    return jsonschema.Draft202012Validator(schema() if definition is None else defs[definition] | {"$defs": defs})


def test_a_saved_report_is_read_back_by_the_rules_of_the_schema():
    """`imgscan diff` checks a saved report against the types (the schema's validator is a test dependency):
    every field of a real report removed or given a value of another type, it refuses exactly what the schema
    refuses; a plugin's own inventory section passes both."""
    report = json.loads((SAVED / "ws-acc-0417-2013-07-01.json").read_text(encoding="utf-8"))
    report["inventory"]["checks"] = []
    # the report's own fields, then each finding and each inventory section's first item on their own (fast)
    trimmed = report | {"findings": [], "inventory": {"checks": [], "mine": {"a": [1]}}}
    parts = [(trimmed, Report, _validator())]
    parts += [(finding, FindingJson, _validator("FindingJson")) for finding in report["findings"]]
    parts += [
        ({"checks": [], name: section[:1] if isinstance(section, list) else section}, Inventory, _validator("Inventory"))
        for name, section in report["inventory"].items()
    ]
    disagree = []
    for document, contract, validator in parts:
        assert mismatch(document, contract) is None and validator.is_valid(document)
        for where, edited in _edited(document):
            if (mismatch(edited, contract) is None) != validator.is_valid(edited):
                disagree.append((contract.__name__, where))
    assert disagree == []
