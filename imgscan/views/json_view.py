"""The `json` view: the report contract itself (imgscan/report.py), and every listing's JSON."""

from __future__ import annotations

import json


def to_json(report: object) -> str:
    """The JSON contract: stable key order, no run timestamps, so the same input gives the same bytes."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
