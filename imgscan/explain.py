"""`imgscan explain`: what an error code is, and which imgscan rules predict or observe it."""

from __future__ import annotations

from imgscan.check import Rule
from imgscan.errorcodes import ErrorCode


def explanation(code: ErrorCode, rules: list[Rule]) -> dict[str, object]:
    predicted = [r.id for r in rules if code.hex in r.predicts]
    observed = [r.id for r in rules if r.observes_logs] if code.failure else []
    return {
        "code": code.hex,
        "decimal": code.value,
        "signed": code.signed,
        "name": code.name,
        "kind": code.kind,
        "facility": code.facility,
        "failure": code.failure,
        "message": code.message,
        "predicted_by": predicted,
        "observed_by": observed,
    }
