"""A check's outcome reused across the judgements of one read, when what it read of the scan context agrees.

A fleet judges one read of an image for every distinct host setting (firmware, network, recovery space, the
day it is judged on): twenty judgements of an image are common, and most checks read none of those facts, or
only the phase of a day or two. Each check runs under a `Recorder`, which answers as the scan context does and
notes every fact the check asked for (an attribute, a host fact, the phase of a day, whether a day has
happened) with its answer. A later judgement of the same read reuses the check's outcome when each noted
fact gets the same answer under its own context; otherwise the check runs again and its outcome is kept too.

Nothing is declared by hand: a check (or a plugin) that reads a new fact of the context is recorded like the
others, so reuse can never hide a difference. Findings are handed out as fresh copies, since the scan stamps,
links and orders them in place. Only a read that will be judged often keeps outcomes (`scan.read(...,
judged_often=True)`, a fleet's): a single scan, which judges its read once, copies nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from imgscan.check import Finding

if TYPE_CHECKING:
    from imgscan.check import Check, InventoryItem
    from imgscan.context import ScanContext

Fact = tuple[str, tuple[Any, ...] | None]  # ("as_of", None), ("phase", (day,)), ("host.network", None)


class _Noting:
    """Answers attribute reads and method calls from `target`, noting each (name prefixed) with its answer."""

    def __init__(self, target: object, prefix: str, facts: dict[Fact, object]) -> None:
        self._target = target
        self._prefix = prefix
        self._facts = facts

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value):
            return self._method(self._prefix + name, value)
        return self._facts.setdefault((self._prefix + name, None), value)

    def _method(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            return self._facts.setdefault((name, args), method(*args))

        return call


class Recorder(_Noting):
    """The scan context as one check sees it. The host's facts are noted one by one (`host.network`), so a
    check that reads the network is not run again for hosts that differ only in their recovery partition."""

    def __init__(self, scan: ScanContext) -> None:
        self.facts: dict[Fact, object] = {}
        super().__init__(scan, "", self.facts)
        self.host = _Noting(scan.host, "host.", self.facts)


def answer(scan: ScanContext, fact: Fact) -> object:
    """What `scan` answers to a noted fact."""
    name, args = fact
    target: object = scan
    if name.startswith("host."):
        target, name = scan.host, name.removeprefix("host.")
    value = getattr(target, name)
    return value if args is None else value(*args)


@dataclass
class Outcome:
    """What one check did under the facts it read: completed (`records`), skipped or crashed (`why`; a crash
    with its `error` entry, and the records made before it)."""

    facts: dict[Fact, object]
    why: str | None = None  # absent, not applicable, or "crashed: ..."; None: completed
    records: list[Finding | InventoryItem] = field(default_factory=list)
    error: dict[str, str] | None = None

    def agrees(self, scan: ScanContext) -> bool:
        return all(answer(scan, fact) == value for fact, value in self.facts.items())

    def handed_out(self) -> list[Finding | InventoryItem]:
        """The records for one judgement: each finding a copy with its own lists (the scan fills them in)."""
        return [_copy(r) if isinstance(r, Finding) else r for r in self.records]


def _copy(finding: Finding) -> Finding:
    return replace(
        finding,
        confirmed_by=list(finding.confirmed_by),
        explained_by=list(finding.explained_by),
        explains=list(finding.explains),
    )


@dataclass
class CheckReuse:
    """The outcomes of the checks run on one read, by check."""

    _kept: dict[Check, list[Outcome]] = field(default_factory=dict)

    def find(self, check: Check, scan: ScanContext) -> Outcome | None:
        return next((outcome for outcome in self._kept.get(check, ()) if outcome.agrees(scan)), None)

    def keep(self, check: Check, outcome: Outcome) -> None:
        """Keep a copy of `outcome` (its findings as the check made them, before the scan stamps those)."""
        self._kept.setdefault(check, []).append(replace(outcome, records=outcome.handed_out()))
