"""`imgscan explain`: what an error code is, and which imgscan rules predict or observe it."""

from __future__ import annotations

from typing import TypedDict

from imgscan.check import Rule
from imgscan.errorcodes import ErrorCode


class AliasExplanation(TypedDict):
    """Another name of the code's value: S_FALSE (an HRESULT, a success) is 1, as ERROR_INVALID_FUNCTION is."""

    name: str
    kind: str
    failure: bool


class Explanation(TypedDict):
    """One code as `imgscan explain -f json` gives it."""

    code: str  # 0xXXXXXXXX
    decimal: int
    signed: int
    name: str | None
    aliases: list[AliasExplanation]  # the value's other names; kind, facility, failure and message are of `name`
    known: bool
    kind: str | None
    facility: str | None
    failure: bool
    message: str | None
    predicted_by: list[str]  # rule ids
    observed_by: list[str]


def explanation(code: ErrorCode, rules: list[Rule]) -> Explanation:
    """A known code: its facts and the rules that predict or observe it. An unknown code: only that it
    is unknown (its kind and facility would be guesses from the bit pattern, and no rule names it)."""
    known = code.name is not None or code.message is not None
    predicted = [r.id for r in rules if code.hex in r.predicts]
    observed = [r.id for r in rules if r.observes_logs] if code.failure and known else []
    return {
        "code": code.hex,
        "decimal": code.value,
        "signed": code.signed,
        "name": code.name,
        "aliases": [{"name": a.name, "kind": a.kind, "failure": a.failure} for a in code.aliases],
        "known": known,
        "kind": code.kind if known else None,
        "facility": code.facility if known else None,
        "failure": code.failure,
        "message": code.message,
        "predicted_by": predicted,
        "observed_by": observed,
    }
