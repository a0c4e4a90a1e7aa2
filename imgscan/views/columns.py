"""What the text views share: the width they wrap to, aligned columns, a listing's header line, and how an
evidence value reads."""

from __future__ import annotations

from imgscan.report import Listing

WIDTH = 100


def columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def header(view: Listing) -> list[str]:
    """A listing's first lines: the image, its host and the day it is judged on, then what it cannot tell and why
    (a hive it needs could not be read)."""
    unknown = [f"Unknown: {u['message']}" for u in view.get("unknown", [])]
    return [f"{view['image']['path']}  ·  host {view['host']['name'] or '?'}  ·  as of {view['as_of']}", ""] + (
        [*unknown, ""] if unknown else []
    )


def plain(value: object) -> str:
    """An evidence value as a person reads it: a list as its items joined by commas, a mapping as key=value
    pairs, nothing (JSON's null, an empty list) as "none", a truth as "yes" or "no" (Python's `['a', 'b']`,
    `None` and `False` are not what a report shows)."""
    if value is None or value == [] or value == ():
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(plain, value))
    if isinstance(value, dict):
        return " ".join(f"{k}={plain(v)}" for k, v in value.items())
    return str(value)
