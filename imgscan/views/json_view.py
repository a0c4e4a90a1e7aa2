"""The `json` view: the report contract itself (imgscan/report.py), and every listing's JSON."""

from __future__ import annotations

import json

import orjson

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def to_json(value: object) -> str:
    """The JSON contract: stable key order, no run timestamps, so the same input gives the same bytes.

    The text is `json.dumps(value, indent=2, ensure_ascii=False)` plus a newline, written by orjson: the
    standard library's encoder took a third of a rescan of a 20,000-catalog image (bench/catalogs.py).
    The two agree byte for byte on what reports hold (text, integers, booleans, null, lists, objects;
    tests/test_json_view.py); what orjson refuses (a lone surrogate, a key that is not text, an integer
    beyond 64 bits, and times or dataclasses, which the standard library refuses too) goes to it."""
    try:
        return orjson.dumps(value, option=_PRETTY).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
