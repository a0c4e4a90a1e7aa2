"""Numbers written as text in evidence (registry strings, XML attributes, manifest names), read safely.

`str.isdecimal()` passes every Unicode digit and any length, but Windows writes ASCII digits, and `int()`
refuses a numeral of over 4,300 digits with a ValueError that would end the scan on one hostile value.
"""

from __future__ import annotations

import re

# an unsigned int64 has at most 20 digits; 18 keep every value CBS, the registry and boot files write
_NUMERAL = re.compile(r"[0-9]{1,18}")


def ascii_int(text: str | None) -> int | None:
    """The value of a decimal numeral of ASCII digits, or None for anything else (empty, signs, spaces, too long)."""
    return int(text) if text and _NUMERAL.fullmatch(text) else None


def dotted_version(text: str | None) -> tuple[int, ...]:
    """A dotted version as numbers, to compare ("6.1.7601.24545" > "6.1.7601.9999"); () when any part is not
    an ASCII numeral `ascii_int` reads."""
    numbers = [ascii_int(part) for part in (text or "").split(".")]
    return tuple(n for n in numbers if n is not None) if None not in numbers else ()


def version_text(version: tuple[int, ...]) -> str:
    """A version as Windows writes it ("6.1.7601.24545"); "" for none."""
    return ".".join(map(str, version))
