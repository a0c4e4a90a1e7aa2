"""An install order for a month's updates, and the updates that cannot install in any order.

The order is found by installing in imagination: of the updates that install on the image as it stands,
take the one that must come first (servicing stack updates, then SHA-2 support and the ESU licensing
package, which later updates depend on: Microsoft KB4472027 and KB4522133), add what it registers to the
image's facts, and judge the rest again. An update whose parent package another update of the folder brings,
or that needs SHA-2 support another one installs, thus comes after it; what still does not install when
nothing more can be installed cannot install in any order, and its verdict says why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from imgscan.preflight.facts import ImageFacts, InstalledPackage
from imgscan.preflight.package import UpdatePackage
from imgscan.preflight.verdict import UpdateVerdict, judge
from imgscan.servicing_levels import sha2_era_ssu, windows7_servicing


@dataclass(frozen=True)
class Step:
    update: UpdatePackage
    verdict: UpdateVerdict  # as judged at this point of the order
    after: tuple[str, ...]  # the updates (files) before it that it needs


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]  # an order that installs
    blocked: tuple[UpdateVerdict, ...]  # updates that install in no order, judged after every step


def plan(updates: list[UpdatePackage], facts: ImageFacts, as_of: date, horizon_end: date) -> Plan:
    remaining = list(updates)
    current = facts
    steps: list[Step] = []
    while True:
        ready = [(u, v) for u in remaining if (v := judge(u, current, as_of, horizon_end)).status == "installs"]
        if not ready:
            break
        update, verdict = min(ready, key=lambda pair: _priority(pair[0]))
        needed = _needed(update, facts, [s.update for s in steps], as_of, horizon_end)
        steps.append(Step(update, verdict, needed))
        current = installed(current, update, verdict)
        remaining.remove(update)
    blocked = tuple(
        v for u in remaining if (v := judge(u, current, as_of, horizon_end)).status in ("will-not-install", "not-applicable")
    )
    return Plan(tuple(steps), blocked)


def _priority(update: UpdatePackage) -> tuple[int, int, str]:
    data = windows7_servicing()
    stack = any(m.updates_servicing_stack for m in update.manifests) or update.kb in data.ssu_kbs
    enabler = update.kb in {u.kb for u in (*data.sha2_support, *data.esu_licensing)}
    rank = 0 if stack else 1 if enabler else 2
    number = int(update.kb[2:]) if update.kb and update.kb[2:].isdecimal() else 0
    return rank, number, update.path


def installed(facts: ImageFacts, update: UpdatePackage, verdict: UpdateVerdict) -> ImageFacts:
    """The facts once `update` has installed: its packages registered, the servicing levels (and the servicing
    stack version) it raises."""
    data = windows7_servicing()
    by_identity = {m.identity.cbs_identity: m for m in update.manifests}
    added = tuple(
        InstalledPackage(by_identity[i].identity, i, "Installed", True, update.kb, (), f"{update.path}!{by_identity[i].file}")
        for i in verdict.registers
        if i in by_identity
    )
    stack = any(m.updates_servicing_stack for m in update.manifests)
    version = max((m.installs_servicing_stack for m in update.manifests), default=())
    raised = version > facts.servicing_stack and verdict.status == "installs"
    return replace(
        facts,
        packages=facts.packages + added,
        servicing_stack=version if raised else facts.servicing_stack,
        servicing_stack_source=update.path if raised else facts.servicing_stack_source,
        servicing_stack_basis="installed before" if raised else facts.servicing_stack_basis,
        sha2_support=facts.sha2_support or (update.kb if update.kb in {u.kb for u in data.sha2_support} else None),
        ssus=facts.ssus + ((update.kb,) if update.kb and sha2_era_ssu(update.kb, stack) else ()),
        all_ssus=facts.all_ssus + ((update.kb,) if update.kb and (stack or update.kb in data.ssu_kbs) else ()),
        esu_licensing=facts.esu_licensing or (update.kb if update.kb in {u.kb for u in data.esu_licensing} else None),
    )


def _needed(
    update: UpdatePackage, facts: ImageFacts, before: list[UpdatePackage], as_of: date, horizon_end: date
) -> tuple[str, ...]:
    """The earliest prefix of `before` after which the update installs: the updates it waits for."""
    if judge(update, facts, as_of, horizon_end).status == "installs":
        return ()
    needed: list[str] = []
    current = facts
    for earlier in before:
        verdict = judge(earlier, current, as_of, horizon_end)
        changed = installed(current, earlier, verdict)
        if judge(update, current, as_of, horizon_end) != judge(update, changed, as_of, horizon_end):
            needed.append(earlier.path)
        current = changed
    return tuple(needed)
