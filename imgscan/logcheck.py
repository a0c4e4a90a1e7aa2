"""Shared by the log rules: their base check, a log group as finding evidence, and severity by HRESULT class.

It sits beside check.py, in the checks' layer: imgscan.logs only parses logs and knows nothing of checks.
The loader takes checks from imgscan.plugins and --plugins files only, so `LogCheck` is never run itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from imgscan.artefacts import LOGS
from imgscan.check import Check, Finding, Severity
from imgscan.errorcodes import describe
from imgscan.report import LogLineEvidence

if TYPE_CHECKING:
    from imgscan.check import CheckContext
    from imgscan.kinds import Kind
    from imgscan.logs.collect import LogGroup, LogRead, LogSet

# facility → severity of a failure logged with it: trust and servicing failures stop updates
FACILITY_SEVERITY = {
    0x0B: Severity.HIGH,  # CERT / TRUST (0x800Bxxxx)
    0x09: Severity.HIGH,  # SECURITY / crypt32 (0x8009xxxx)
    0x0F: Severity.HIGH,  # SETUPAPI / CBS_E_* (0x800Fxxxx)
    0x24: Severity.MEDIUM,  # WINDOWSUPDATE (0x8024xxxx)
    0x07: Severity.MEDIUM,  # WIN32 (0x8007xxxx)
}
SXS_STORE_CORRUPT = 0x80073712
SEVERITY_POLICY = (
    "by HRESULT class: high for trust, crypto and servicing codes (0x800B, 0x8009, 0x800F), "
    "medium for Windows Update and Win32, low otherwise; info on a fleet host deployed after the log shows it "
    "(the machine the image was captured from lived it, not that host)"
)


def severity_of(hresult: str) -> Severity:
    value = int(hresult, 16)
    if value == SXS_STORE_CORRUPT:
        return Severity.HIGH
    return FACILITY_SEVERITY.get((value >> 16) & 0x1FFF, Severity.LOW)


def code_text(hresult: str) -> str:
    name = describe(int(hresult, 16)).name
    return f"{hresult} {name}" if name else hresult


def span(group: LogGroup) -> str:
    if group.first is None:
        when = f"{group.count} time(s)"
    elif group.first == group.last:
        when = f"{group.count} time(s) at {group.first:%Y-%m-%d %H:%M:%S}"
    else:
        when = f"{group.count} time(s) from {group.first:%Y-%m-%d %H:%M:%S} to {group.last:%Y-%m-%d %H:%M:%S}"
    if group.codes is None:
        return when
    # the overflow group of a family: its code is the most frequent of several
    several = f"{len(group.codes)}{' or more' if group.further else ''} different codes"
    return f"{when} under {several}, this one most often ({group.codes.get(group.hresult, 0)} time(s))"


def observed_at(group: LogGroup) -> str | None:
    """When a log first shows the failure (ISO 8601; text logs keep the host's local time, without a zone,
    event logs UTC, with `Z`)."""
    return group.written(group.first)


def evidence(group: LogGroup) -> list[LogLineEvidence]:
    """The group's sample lines; for a family's overflow group also its entries per code (most frequent
    first), and how many came under codes past the ones counted one by one."""
    items = [sample.copy() for sample in group.samples]
    if group.codes is not None:
        counts = dict(sorted(group.codes.items(), key=lambda item: (-item[1], item[0])))
        items.append({"path": group.log or "", "entries_per_code": counts, "entries_under_further_codes": group.further})
    return items


class LogCheck(Check):
    """A check over one log family's failure groups: it needs the kind that reads the family (`logs`: the
    built-in LOGS with its families `cbs`, `setup` and `events`, or a plugin's own kind of LogRead), applies
    when the family has groups, and by default turns each group into one finding."""

    family: ClassVar[str]
    logs: ClassVar[Kind[LogRead]] = LOGS
    only_failed: ClassVar[bool] = True  # False: every group of the family (event logs record failures only)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "needs" not in cls.__dict__:
            cls.needs = (cls.logs,)  # the kind it reads its family from is the kind it needs

    def failures(self, artefacts: CheckContext) -> LogSet:
        """The failures the logs show by the as-of day (the kind holds every entry, whatever its day)."""
        return artefacts.get(self.logs).until(artefacts.scan.happened)

    def applies(self, artefacts: CheckContext) -> bool:
        return any(g.family == self.family for g in self.failures(artefacts).groups)

    def groups(self, artefacts: CheckContext) -> list[LogGroup]:
        return [g for g in self.failures(artefacts).groups if g.family == self.family and (g.failed or not self.only_failed)]

    def run(self, artefacts: CheckContext) -> Iterator[Finding]:
        for group in self.groups(artefacts):
            yield self.finding(group)

    def finding(self, group: LogGroup) -> Finding:
        raise NotImplementedError
