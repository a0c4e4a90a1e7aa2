"""Whether a JSON document read back (a report saved with `--format json`) has the shape the report's types
declare, and if not, where it first differs, in one line.

pydantic validates it against those types, the declaration `docs/report.schema.json` is generated from, by
the rules of that schema: each type is closed and strict (`CLOSED`, declared on every type of
imgscan.report), so a field the types do not declare, a missing one, or a value of another JSON type (the
count "1", `true` for a number) is refused. A report edited by hand or cut short is then refused naming the
field, instead of failing deep inside a comparison as an internal error.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import TypeAdapter
    from pydantic_core import ErrorDetails

# pydantic's model config, as a TypedDict's `__pydantic_config__` (plain data: imgscan.report imports no pydantic)
CLOSED = {"extra": "forbid", "strict": True}
OPEN = {"extra": "allow", "strict": True}  # an object that also holds sections of plugins outside imgscan
SHOWN = 60  # characters of a wrong value quoted in the message


@cache
def _adapter(contract: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(contract)


def mismatch(document: object, contract: Any) -> str | None:
    """Where `document` (parsed JSON) first differs from `contract` (a TypedDict of the report), as one line
    ('findings[0].severity is "bogus": input should be ...'), or None when it has that shape."""
    from pydantic import ValidationError

    try:
        _adapter(contract).validate_python(document)
    except ValidationError as exc:
        return _said(_meant(exc.errors(include_url=False), document), document)
    return None


def _steps(loc: tuple[int | str, ...], document: object) -> tuple[list[int | str], list[int]]:
    """(the path of a value in `document`, the positions in `loc` that name a variant of a union, not a field)."""
    path: list[int | str] = []
    variants: list[int] = []
    node = document
    for position, step in enumerate(loc):
        if isinstance(node, dict) and step in node or isinstance(node, list) and isinstance(step, int):
            path.append(step)
            node = node[step]  # type: ignore[index]
        elif isinstance(node, dict) and position == len(loc) - 1:
            path.append(step)  # a field that is missing
        else:
            variants.append(position)
    return path, variants


def _meant(errors: list[ErrorDetails], document: object) -> ErrorDetails:
    """The difference to name. A value that fits none of a union's types (the kinds of evidence) differs from
    each of them: the type it fits best, with the fewest differences, is the one it was meant to be."""
    first = errors[0]
    _, variants = _steps(first["loc"], document)
    if not variants:
        return first
    at = variants[0]
    prefix = first["loc"][:at]
    by_variant: dict[int | str, list[ErrorDetails]] = {}
    for error in errors:
        if error["loc"][:at] == prefix and len(error["loc"]) > at:
            by_variant.setdefault(error["loc"][at], []).append(error)
    return min(by_variant.values(), key=len)[0]


def _said(error: ErrorDetails, document: object) -> str:
    path, _ = _steps(error["loc"], document)
    where = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")
    parent = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path[:-1]).lstrip(".")
    if error["type"] == "missing":
        return f"{parent or 'the report'} has no {path[-1]}"
    if error["type"] == "extra_forbidden":
        return f"{parent or 'the report'} has a field imgscan does not write: {path[-1]}"
    shown = json.dumps(error["input"])
    shown = shown if len(shown) <= SHOWN else shown[: SHOWN - 1] + "…"
    message = error["msg"]
    return f"{where or 'the report'} is {shown}: {message[:1].lower()}{message[1:]}"
