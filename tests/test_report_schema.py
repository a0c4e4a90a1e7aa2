"""The JSON report contract: docs/report.schema.json is generated from imgscan/report.py's types and
every report imgscan writes validates against it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from imgscan.report import schema
from tests.conftest import REPO
from tests.golden import CASES, SAVED

SCHEMA_FILE = REPO / "docs" / "report.schema.json"


def test_committed_schema_is_generated_from_the_types():
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == schema(), "regenerate it: python -m imgscan.report > docs/report.schema.json"


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_reports_validate(name):
    report = json.loads((SAVED / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(report)


def test_schema_rejects_a_report_missing_a_field_or_with_a_wrong_severity():
    report = json.loads((SAVED / "seed001-2013-07-01.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema())
    broken = dict(report)
    del broken["host"]
    assert not validator.is_valid(broken)
    wrong = json.loads(json.dumps(report))
    wrong["findings"][0]["severity"] = "urgent"
    assert not validator.is_valid(wrong)
