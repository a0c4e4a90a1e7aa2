"""Everything the checks read, one kind of artefact per module.

Data flows one way: image → artefacts → checks → findings → report. Each kind is a module of this
package (KINDS) that declares the image paths it reads (`PATHS`: globs from the volume root; the WIM
backend extracts exactly their union, `wanted_paths()`), what its absence means for a check
(`ABSENT`) and a loader `load(art)`, which gets an `ArtefactLoader` (loading.py): the opened image,
the scan's settings and the kinds it reads from. `Artefacts.kind(name)` loads a kind the first time
something asks for it and keeps it; a scan loads every kind up front (`gather`), a listing or
preflight only those it asks for. The attributes below are views on the kinds. A new kind is a new
module named in KINDS; a check that needs it names it in `needs`.

A file that cannot be read is recorded where it belongs (a hive in `unreadable`, which becomes a
`hive-unreadable` finding; anything else in `errors`) and the rest is still read.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from imgscan.artefacts.hive_loading import Unreadable, UserHive
from imgscan.artefacts.loading import KINDS, ArtefactLoader, kind_module, wanted_paths
from imgscan.hives import Hive

if TYPE_CHECKING:
    from imgscan.artefacts.boot import Boot
    from imgscan.artefacts.catalog_set import CatalogSet
    from imgscan.image import OpenedImage
    from imgscan.logs.collect import LogSet
    from imgscan.report import Host

__all__ = ["KINDS", "Artefacts", "Unreadable", "UserHive", "gather", "kind_module", "wanted_paths"]


class Artefacts(ArtefactLoader):
    """The artefacts of one opened image as of one day, as the checks read them: the views below are on the
    kinds, each loaded on first use (a scan loads them all first, see `gather`)."""

    @property
    def user_hives(self) -> list[UserHive]:
        return self.kind("user_hives").hives

    @property
    def profile_notes(self) -> list[dict[str, object]]:
        return self.kind("user_hives").notes

    @property
    def unreadable(self) -> list[Unreadable]:
        """Hives that could not be used: the machine hives', then the user hives'."""
        return [*self.kind("machine_hives").unreadable, *self.kind("user_hives").unreadable]

    @property
    def catalogs(self) -> CatalogSet:
        return self.kind("catalogs").catalogs

    @property
    def trust(self) -> dict[str, object]:
        return self.kind("catalogs").trust

    @property
    def boot(self) -> Boot:
        return self.kind("boot")

    @property
    def logs(self) -> LogSet:
        return self.kind("logs")

    @property
    def errors(self) -> list[dict[str, str]]:
        """Files other than hives that could not be used, kind by kind, then directories the volume
        could not list (of the kinds loaded so far)."""
        found = [e for name in KINDS if name in self._kinds for e in getattr(self._kinds[name], "errors", [])]
        return found + list(getattr(self.volume, "problems", []))

    @property
    def hives(self) -> list[Hive | UserHive]:
        """Every hive read (path, dirty flag and damaged cells); user hives as handles, not loaded."""
        machine: list[Hive | UserHive] = [h for h in (self.software, self.system, self.components) if h]
        return machine + list(self.user_hives)

    def host(self) -> Host:
        return {
            "name": _computer_name(self.system),
            "os": self.os_version.name if self.os_version else None,
            "utc_offset_minutes": _utc_offset(self.system),
        }


def gather(image: OpenedImage, as_of: date, horizon_days: int = 365, **options: Any) -> Artefacts:
    """Every kind of artefact of the image, loaded now (a scan reports all of them); `options` are
    Artefacts' keyword settings (jobs, verdict_cache, target_firmware, target_dbx)."""
    art = Artefacts(image, as_of, horizon_days, **options)
    art.load_all()
    return art


def _computer_name(system: Hive | None) -> str | None:
    control_set = system.control_set() if system else None
    if system is None or control_set is None:
        return None
    name = system.value(rf"{control_set}\Control\ComputerName\ComputerName", "ComputerName")
    return name if isinstance(name, str) else None


def _utc_offset(system: Hive | None) -> int | None:
    """The host's offset from UTC in minutes (local = UTC + offset), from the current control set's
    TimeZoneInformation: ActiveTimeBias (the bias in force when Windows last ran, daylight saving
    included), else Bias. Text logs (CBS.log, setup logs) are written in that local time."""
    control_set = system.control_set() if system else None
    if system is None or control_set is None:
        return None
    key = rf"{control_set}\Control\TimeZoneInformation"
    for name in ("ActiveTimeBias", "Bias"):
        bias = system.value(key, name)
        if isinstance(bias, int):
            return -(bias - (1 << 32) if bias >= 1 << 31 else bias)  # a DWORD holding a signed value
    return None
