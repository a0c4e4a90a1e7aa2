"""Names that are not valid Unicode, written as valid UTF-8 in every output format.

A file name on Linux is bytes (a directory input decodes it with Python's surrogateescape: each byte
that is not UTF-8 becomes U+DC80..U+DCFF); an NTFS or registry name is UTF-16 and may hold a lone
surrogate. Neither can be encoded as UTF-8, so before a report is rendered every such character is
escaped: an undecodable byte as `\\xNN`, another lone surrogate as `\\uNNNN` (upper-case hex; a lone
surrogate in U+DC80..U+DCFF reads as the byte it stands for). The JSON report keeps the exact bytes of
each escaped text in `undecodable` ({escaped text: base64}), the byte for `\\xNN` and WTF-8 (UTF-8 of
the surrogate) for `\\uNNNN`. The ignore file matches a finding's escaped text, as the report shows it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, cast

import orjson

SURROGATE = re.compile("[\ud800-\udfff]")
FIELD = "undecodable"  # the JSON report's field: {escaped text: base64 of its bytes}


def escaped(text: str) -> str:
    """`text` as valid Unicode: each undecodable byte as `\\xNN`, each other lone surrogate as `\\uNNNN`."""
    return SURROGATE.sub(_escape, text) if SURROGATE.search(text) else text


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04X}"


def raw(text: str) -> bytes:
    """The bytes `text` was read as: undecodable bytes as they were, lone surrogates in WTF-8."""
    out = bytearray()
    for part in re.split("([\ud800-\udfff])", text):
        code = ord(part) if len(part) == 1 else 0
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        else:
            out += part.encode("utf-8", "surrogatepass")
    return bytes(out)


def printable(value: object, found: dict[str, str]) -> object:
    """`value` (a report, or any part of one: dicts, lists, text) with every text escaped; the raw bytes
    of each text that needed it are added to `found` ({escaped: base64})."""
    if isinstance(value, str):
        clean = escaped(value)
        if clean is not value:
            found[clean] = base64.b64encode(raw(value)).decode("ascii")
        return clean
    if isinstance(value, dict):
        return {printable(key, found): printable(item, found) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable(item, found) for item in value]
    return value


def compact_json(value: object) -> str | None:
    """`value` (a report's JSON types) as compact JSON with keys sorted, the text `json.dumps(value,
    ensure_ascii=False, sort_keys=True, separators=(",", ":"))` gives, or None when it holds what orjson
    refuses: a lone surrogate, a key that is not text, an integer beyond 64 bits. orjson encodes a
    20,000-catalog report several times faster than the standard library, and every scan encodes one."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return None


def printable_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report with every text escaped, and `undecodable` added when any text needed it."""
    return printable_encoded(report)[0]


def printable_encoded(report: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """`printable_report`, with the report's JSON (`compact_json`: the form the fleet store keeps) when that
    encoding is what showed nothing needed escaping, else None. Nearly every report has no such text, and a
    fleet makes one per distinct host of an image: one encoding at C speed tells (orjson refuses a lone
    surrogate), the report is kept as it is instead of walked and copied part by part, and the store takes
    the same encoding."""
    text = compact_json(report)
    if text is not None:
        return dict(report), text
    found: dict[str, str] = {}
    clean = cast(dict[str, Any], printable(report, found))
    if found:
        clean[FIELD] = dict(sorted(found.items()))
    return clean, None
