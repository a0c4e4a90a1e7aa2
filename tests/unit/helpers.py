"""Run one check on in-memory kind values: `run_check(WinTrustState, at("2013-07-01"), user_hives=UserHives(...))`.

No image, no other check: the kinds a check declares (`needs` and `uses`) are handed in by name, and it
is an error to leave one out (the check would read it). What comes back is what the scan would take from
this check before stamping: its findings and inventory items, or why it was skipped (a needed kind
absent, or `applies` false); `stamped` holds those findings after the scan's time policy (their phase,
the severity a dated rule's timing gives; one starting after the horizon dropped). The scan context it
is judged under (as-of day, horizon, target firmware) and the image's container come in `context`
(`at(day, ...)`).

Every finding and inventory item a check gives here is checked against the report's closed JSON schema
(imgscan/report.py): each rule's unit test also proves its evidence is one of the declared variants.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import jsonschema

from imgscan.artefacts import Artefacts, builtin_registry
from imgscan.check import Check, CheckContext, Finding, InventoryItem
from imgscan.context import ScanContext
from imgscan.image import ImageIdentity, OpenedImage
from imgscan.report import schema
from imgscan.scan import _stamp
from tests.unit.memory import MemoryVolume


@dataclass(frozen=True)
class At:
    """The scan context a check is judged under, and the image's container (what an absence means)."""

    scan: ScanContext
    container: str = "vhdx"


def at(day: str, container: str = "vhdx", **context: Any) -> At:
    """Judged on `day`; `context`: the other ScanContext fields (horizon_days, firmware, dbx)."""
    return At(ScanContext(date.fromisoformat(day), **context), container)


@dataclass
class Ran:
    findings: list[Finding] = field(default_factory=list)
    inventory: list[InventoryItem] = field(default_factory=list)
    skipped: str | None = None
    stamped: list[Finding] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return [f.rule.id for f in self.findings]


def _opened(files: dict[str, bytes | None], container: str) -> OpenedImage:
    return OpenedImage(volume=MemoryVolume(files), info=ImageIdentity("memory:unit", "0" * 64, container))


def kinds_of(check: type[Check], files: dict[str, bytes | None], container: str = "vhdx") -> dict[str, object]:
    """The kinds `check` reads, each loaded by its own loader from a scenario's in-memory `files`: what a
    scan would hand it, without loading the kinds or running the checks it does not need."""
    art = Artefacts(_opened(files, container), builtin_registry())
    return {kind.name: art.get(kind) for kind in check.reads()}


def run_check(check: type[Check], context: At, **kinds: object) -> Ran:
    registry = builtin_registry()
    named = {kind.name: kind for kind in registry.kinds}
    opened = _opened({}, context.container)
    art = Artefacts(opened, registry)
    for name, value in kinds.items():
        art.preload(named[name], value)
    missing = [k.name for k in check.reads() if k.name not in kinds]
    assert not missing, f"{check.__name__} reads {missing}: pass them to run_check"
    instance = check()
    absent = next((reason for kind in check.needs if (reason := art.absent(kind))), None)
    context_ = CheckContext(art, context.scan, check.reads())
    if absent or not instance.applies(context_):
        return Ran(skipped=absent or check.not_applicable)
    ran = Ran()
    for record in instance.run(context_):
        (ran.inventory if isinstance(record, InventoryItem) else ran.findings).append(record)  # type: ignore[arg-type]
    ran.stamped = [s for f in ran.findings if (s := _stamp(replace(f), context.scan)) is not None]
    for finding in ran.stamped:
        _contract("FindingJson").validate(finding.to_dict())
    for item in ran.inventory:
        _contract("Inventory", item.section).validate([item.item])
    return ran


@functools.cache
def _contract(definition: str, section: str | None = None) -> jsonschema.Draft202012Validator:
    """A validator of one part of the report schema: a finding, or one built-in inventory section (a section
    the schema does not declare fails: only plugins outside imgscan may add their own)."""
    defs = schema()["$defs"]
    part = defs[definition] if section is None else defs[definition]["properties"][section]
    return jsonschema.Draft202012Validator(part | {"$defs": defs})


def findings_of(checks: tuple[type[Check], ...], files: dict[str, bytes | None], context: At) -> list[dict[str, Any]]:
    """The findings of `checks` alone, each run on its kinds loaded from `files`, as a report gives them
    (stamped by the time policy, then `Finding.to_dict`)."""
    return [
        f.to_dict() for check in checks for f in run_check(check, context, **kinds_of(check, files, context.container)).stamped
    ]
