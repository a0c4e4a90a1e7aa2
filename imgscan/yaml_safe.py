"""YAML as imgscan reads its input files (the ignore file, host lists): PyYAML's SafeLoader, but an unquoted
date stays text.

SafeLoader turns `2013-02-30` into a date while it reads the file, and an impossible one (the 30th of
February, a 13th month) raised a ValueError out of the YAML reader: an internal error (exit 3) instead of a
one-line mistake. Here dates are read as the text they are, so the reader that knows what the field means
judges them (`day`) and names the file and line or entry of a bad one, quoted or not.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import yaml

TIMESTAMP = "tag:yaml.org,2002:timestamp"
# YAML 1.1's date (the timestamp resolver's date form, which unquoted dates were read by): one- or two-digit
# month and day, so a file that worked before still does
DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


class TextDatesLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp: `2013-03-01` and `"2013-03-01"` are both the text 2013-03-01.
    A value an explicit tag cannot make (`!!timestamp 2013-02-30`, `!!int ten`) is a YAMLError naming its
    line, as any other mistake in the file, not the ValueError of the constructor."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None


TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str) -> Any:
    """The document `text` holds (yaml.YAMLError when it is not YAML)."""
    return yaml.load(text, Loader=TextDatesLoader)  # a SafeLoader: no object of the file's choosing is made


def day(text: str) -> date:
    """The day `text` writes as YYYY-MM-DD; ValueError saying why it is not one."""
    match = DAY.fullmatch(text.strip())
    if not match:
        raise ValueError("not a date (YYYY-MM-DD)")
    year, month, number = map(int, match.groups())
    if not 1 <= month <= 12:
        raise ValueError(f"there is no month {month}")
    return date(year, month, number)  # a day the month lacks: "day is out of range for month"
