"""The JSON view writes, with orjson, the very text the standard library's encoder gives for what reports hold."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pytest

from imgscan.views.json_view import to_json

# every control character, quotes and backslashes, text JSON leaves as it is (DEL, U+2028, accents, CJK,
# a character beyond the basic plane), and the text of real findings
CHARACTERS = [chr(c) for c in range(0x20)] + ['"', "\\", "/", "\x7f", "\u2028", "\u2029", "é", "漢", "\U0001f600", "a", " "]


def value(rng: random.Random, depth: int = 0) -> object:
    """A random report-like value: text, integers up to 64 bits, booleans, null, lists and objects."""
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return "".join(rng.choice(CHARACTERS) for _ in range(rng.randrange(12)))
    if kind == 1:
        return rng.choice([0, -1, 1, 2**63 - 1, -(2**63), 2**64 - 1, rng.randrange(-(10**12), 10**12)])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.choice([[], {}, ""])
    if kind in (4, 5):
        return {str(value(rng, 9)): value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [value(rng, depth + 1) for _ in range(rng.randrange(5))]


@pytest.mark.parametrize("seed", range(200))
def test_same_text_as_the_standard_library(seed: int) -> None:
    report = value(random.Random(seed))
    assert to_json(report) == json.dumps(report, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    "report",
    [
        {"text": "lone \udc80 surrogate"},  # a hive value's undecodable bytes, before printable() escapes them
        {1: "integer key"},
        {"big": 2**64},
        (1, ("tuple", {"nested": -(2**63) - 1})),
    ],
)
def test_what_orjson_refuses_goes_to_the_standard_library(report: object) -> None:
    assert to_json(report) == json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def test_a_time_is_refused_as_the_standard_library_refuses_it() -> None:
    """A `datetime` that reached a report is a bug in a view, not something to write in orjson's own form."""
    with pytest.raises(TypeError):
        to_json({"when": datetime(2013, 7, 1, tzinfo=timezone.utc)})
