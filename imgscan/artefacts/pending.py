"""Kind `pending`: servicing operations waiting for a reboot that a captured image never gets.

Offline evidence (Microsoft Configuration Manager's "Pending system restart" prerequisite check and
the Windows Update troubleshooting articles for 0x80070BC9): `Windows\\WinSxS\\pending.xml`; the value
`PendingFileRenameOperations` under the current control set's `Control\\Session Manager`; the keys
`RebootPending`, `PackagesPending` and `SessionsPending` under SOFTWARE's Component Based Servicing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.kinds import Kind
from imgscan.report import Evidence

if TYPE_CHECKING:
    from imgscan.kinds import Loader

PENDING_XML = r"Windows\WinSxS\pending.xml"
CBS_KEY = r"Microsoft\Windows\CurrentVersion\Component Based Servicing"
CBS_MARKERS = ("RebootPending", "PackagesPending", "SessionsPending")


@dataclass
class Pending:
    evidence: list[Evidence] = field(default_factory=list)  # one entry per marker found

    def __bool__(self) -> bool:
        return bool(self.evidence)


def load(art: Loader) -> Pending:
    found = Pending()
    if art.volume.exists(PENDING_XML):
        found.evidence.append({"path": PENDING_XML, "marker": "pending.xml (CBS transactions not yet committed)"})
    hives = art.get(MACHINE_HIVES)
    system = hives.system
    control_set = system.control_set() if system else None
    if system is not None and control_set is not None:
        key = rf"{control_set}\Control\Session Manager"
        renames = system.value(key, "PendingFileRenameOperations")
        if renames:
            count = len([r for r in renames if r]) if isinstance(renames, list) else 1
            found.evidence.append({"path": rf"SYSTEM\{key}", "value": "PendingFileRenameOperations", "entries": count})
    software = hives.software
    for marker in CBS_MARKERS:
        if software is not None and software.key(rf"{CBS_KEY}\{marker}") is not None:
            found.evidence.append({"path": rf"SOFTWARE\{CBS_KEY}\{marker}", "marker": f"{marker} key"})
    return found


PENDING = Kind(
    name="pending",
    paths=("/Windows/WinSxS/pending.xml",),
    load=load,
    requires=(MACHINE_HIVES,),
    absent="no servicing operation is pending in the image",
    reading="reading pending servicing operations",
)
