"""A site plugin outside the package (run with `--plugins tests/plugins`): a kind of its own, DISM's log read
as a log family, and a check over it. It is what CONTRIBUTING.md's "adding a kind" walks through.

DISM.log lines: `2013-07-01 09:00:00, Error   DISM   DISM Package Manager: ... failed. - ... (hr:0x800f081f)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from imgscan.check import Finding, Rule, Severity
from imgscan.kinds import InventoryContext, Kind, Loader
from imgscan.logcheck import LogCheck, code_text, evidence, observed_at, span
from imgscan.logs import LogEntry, canonical, subjects_of
from imgscan.logs.collect import LogGroup, LogRead, read_family
from imgscan.logs.text import lines

LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),\s+(\w+)\s+(\S+)\s+(.*?)(?:\(hr:(0x[0-9a-fA-F]{8})\))?\s*$")
DISM_LOG = r"Windows\Logs\DISM\dism.log"


def read_dism(fh: BinaryIO, path: str) -> Iterator[LogEntry]:
    for number, line, _cut in lines(fh):
        match = LINE.match(line)
        if match and match.group(5):
            stamp, level, source, text, code = match.groups()
            yield LogEntry(path, number, datetime.fromisoformat(stamp), level, source, text, canonical(code), subjects_of(text))


def load(art: Loader) -> LogRead:
    return read_family(art.volume, "dism", [DISM_LOG], read_dism)


def inventory(logs: LogRead, context: InventoryContext) -> dict[str, object]:
    return {"dism_log": {"read": logs.read, "failures": len(logs.until(context.scan.happened).groups)}}


DISM_LOGS = Kind(
    name="dism_logs",
    paths=("/Windows/Logs/DISM/dism.log",),
    load=load,
    absent="the image has no DISM log",
    inventory=inventory,
    errors=lambda logs: logs.errors,
    reading="reading the DISM log",
)

DISM_ERROR = Rule(
    id="site-dism-log-error",
    severity=Severity.MEDIUM,
    title="DISM logged a failure",
    summary="DISM's own log records a failing operation in the reference machine.",
    observes_logs=True,
    subject="message",
)


class DismLogErrors(LogCheck):
    rules = (DISM_ERROR,)
    family = "dism"
    logs = DISM_LOGS

    def finding(self, group: LogGroup) -> Finding:
        return Finding(
            rule=DISM_ERROR,
            message=f"{group.subject or 'DISM'}: {code_text(group.hresult)} logged {span(group)}.",
            evidence=evidence(group),
            remediation="Read DISM.log around these lines.",
            hresult=group.hresult,
            observed=observed_at(group),
        )
