"""Everything the checks read, one kind of artefact per module.

Data flows one way: image → artefacts → checks → findings → report. Each module of this package but
the helpers (loading, hive_loading, catalog_set) defines one `Kind` (imgscan/kinds.py): the image paths
it reads (the WIM backend extracts their union), its loader and the kinds it requires, what its absence
means, and the inventory section and errors it reports. `BUILTIN` lists them in the order a scan loads
them and reports their inventory sections and errors. `Artefacts` (loading.py) loads each kind the
first time something asks for it; it holds what was read and nothing else (no as-of day, horizon or
firmware target): checks see a read through a `CheckContext` (imgscan.check), the read judged under one
`ScanContext`. A new kind is a new module here, named in BUILTIN; a check that
reads it names it in `needs`.

A file that cannot be read is recorded where it belongs (a hive in `unreadable`, which becomes a
`hive-unreadable` finding; anything else in `errors`) and the rest is still read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imgscan.artefacts.boot import BOOT
from imgscan.artefacts.catalogs import CATALOGS
from imgscan.artefacts.hive_loading import Unreadable, UserHive
from imgscan.artefacts.judge import SIGNATURE_JUDGE
from imgscan.artefacts.loading import Artefacts
from imgscan.artefacts.logs import LOGS
from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.artefacts.packages import PACKAGES
from imgscan.artefacts.partitions import PARTITIONS
from imgscan.artefacts.pending import PENDING
from imgscan.artefacts.setup_state import SETUP_STATE
from imgscan.artefacts.user_hives import USER_HIVES
from imgscan.kinds import Kind, KindRegistry, LoadSettings

if TYPE_CHECKING:
    from imgscan.report import Host

__all__ = [
    "BOOT",
    "BUILTIN",
    "CATALOGS",
    "LOGS",
    "MACHINE_HIVES",
    "PACKAGES",
    "PARTITIONS",
    "PENDING",
    "SETUP_STATE",
    "SIGNATURE_JUDGE",
    "USER_HIVES",
    "Artefacts",
    "LoadSettings",
    "Unreadable",
    "UserHive",
    "builtin_registry",
    "host",
]

# the order a scan loads the kinds and reports their inventory sections (hives, profiles, qfe, packages,
# catalogs, trust, partitions, boot files, Secure Boot, logs) and errors
BUILTIN: tuple[Kind[Any], ...] = (
    MACHINE_HIVES,
    USER_HIVES,
    PACKAGES,
    SIGNATURE_JUDGE,
    CATALOGS,
    PARTITIONS,
    BOOT,
    LOGS,
    SETUP_STATE,
    PENDING,
)


def builtin_registry() -> KindRegistry:
    """A registry of the built-in kinds, to which plugins may add theirs."""
    return KindRegistry(BUILTIN)


def host(art: Artefacts) -> Host:
    """The report's host: computer name, Windows version and UTC offset, from the machine hives (read once
    per image, however many hosts its read is judged for)."""
    hives = art.get(MACHINE_HIVES)
    return {
        "name": hives.computer_name,
        "os": hives.os_version.name if hives.os_version else None,
        "utc_offset_minutes": hives.utc_offset,
    }
