"""Everything the checks read, one kind of artefact per module, each loaded on first use.

Data flows one way: image → artefacts → checks → findings → report. Each kind is a module of this
package (KINDS) that declares the image paths it reads (`PATHS`: globs from the volume root; the WIM
backend extracts exactly their union, `wanted_paths()`), what its absence means for a check
(`ABSENT`) and a loader `load(art)`. `Artefacts.kind(name)` loads a kind the first time something
asks for it and keeps it; the attributes below are views on the kinds. A new kind is a new module
named in KINDS; a check that needs it names it in `needs`.

A file that cannot be read is recorded where it belongs (a hive in `unreadable`, which becomes a
`hive-unreadable` finding; anything else in `errors`) and the rest is still read.
"""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any

from imgscan.artefacts.hive_loading import Unreadable
from imgscan.artefacts.user_hives import UserHive
from imgscan.hives import Hive
from imgscan.image.volume import WindowsVolume
from imgscan.interrupt import doing
from imgscan.os_version import OsVersion, read_os_version
from imgscan.report import Host
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget

if TYPE_CHECKING:
    from imgscan.artefacts.boot import Boot
    from imgscan.artefacts.catalog_set import CatalogSet
    from imgscan.image.partitions import Partition
    from imgscan.logs.collect import LogSet
    from imgscan.servicing import Package
    from imgscan.signing.firmware_db import SignatureDatabase
    from imgscan.signing.validity import Judge
    from imgscan.signing.verdict_cache import VerdictCache

__all__ = ["KINDS", "Artefacts", "Unreadable", "UserHive", "gather", "kind_module", "wanted_paths"]

# in the order a full scan loads them (and reports their errors)
KINDS = ("machine_hives", "user_hives", "packages", "catalogs", "logs", "setup_state", "pending", "partitions", "boot")
# what loading each kind is, for the message of an interrupted scan ("reading the catalogs of golden.wim")
READING = {
    "machine_hives": "reading the machine hives",
    "user_hives": "reading the profiles' hives",
    "packages": "reading the servicing packages",
    "catalogs": "reading the catalogs",
    "logs": "reading the update logs",
    "setup_state": "reading the Windows Setup state",
    "pending": "reading pending servicing operations",
    "partitions": "reading the partitions",
    "boot": "reading the boot files",
}


def kind_module(name: str) -> ModuleType:
    return importlib.import_module(f"imgscan.artefacts.{name}")


def wanted_paths() -> tuple[str, ...]:
    """Every path any kind reads: what the WIM backend extracts (no second list exists)."""
    return tuple(dict.fromkeys(path for name in KINDS for path in kind_module(name).PATHS))


class Artefacts:
    """The artefacts of one Windows volume as of one day, each kind loaded on first use."""

    def __init__(
        self,
        volume: WindowsVolume,
        as_of: date,
        horizon_days: int = 365,
        *,
        jobs: int | None = 1,
        verdict_cache: VerdictCache | None = None,
        partitions: list[Partition] | None = None,
        container: str = "",
        target_firmware: FirmwareTarget = UNKNOWN,
        target_dbx: SignatureDatabase | None = None,
    ) -> None:
        self.volume = volume
        self.target_firmware = target_firmware  # what the hosts' Secure Boot db holds
        self.target_dbx = target_dbx  # the hosts' Secure Boot dbx, when given: what their firmware revokes
        self.partitions = partitions or []  # a disk image's partitions (none for a WIM or a tree)
        self.container = container  # the image's format ("vhdx", "wim", "directory", ...): what absences mean
        self._judge: Judge | None = None
        self.as_of = as_of
        self.horizon_days = horizon_days
        self.jobs = jobs  # processes that judge catalogs (None: as many as cores, for a large image)
        self.verdict_cache = verdict_cache  # a fleet's catalogs judged by earlier hosts
        self._kinds: dict[str, Any] = {}

    def preload(self, name: str, value: Any) -> None:
        """Hand in a kind already at hand (tests and tools that hold a hive or a log set)."""
        self._kinds[name] = value

    def kind(self, name: str) -> Any:
        if name not in self._kinds:
            with doing(READING.get(name, f"reading {name}")):
                self._kinds[name] = kind_module(name).load(self)
        return self._kinds[name]

    def judge(self) -> Judge:
        """The image's signature judge (its trust stores and mitigations), built once for catalogs and boot files."""
        if self._judge is None:
            from imgscan.signing.certs import CertCache
            from imgscan.signing.trust_store import build_store
            from imgscan.signing.validity import Judge

            cache = CertCache()
            self._judge = Judge(build_store(cache, self.software), cache, self.mitigation)
        return self._judge

    def absent(self, name: str) -> str | None:
        """Why a check that needs this kind has nothing to judge (None: the kind is present)."""
        if name not in KINDS:
            return f"it needs an artefact kind imgscan does not know ({name!r}; known: {', '.join(KINDS)})"
        if self.kind(name):
            return None
        reason = kind_module(name).ABSENT  # a sentence, or a function of the artefacts (partitions: the container)
        return reason(self) if callable(reason) else str(reason)

    def load_all(self) -> None:
        for name in KINDS:
            self.kind(name)

    @property
    def horizon_end(self) -> date:
        """The last day --horizon looks ahead to: failures starting after it are not reported."""
        return self.as_of + timedelta(days=self.horizon_days)

    @property
    def software(self) -> Hive | None:
        return self.kind("machine_hives").software

    @property
    def system(self) -> Hive | None:
        return self.kind("machine_hives").system

    @property
    def components(self) -> Hive | None:
        return self.kind("machine_hives").components

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
    def packages(self) -> list[Package]:
        return self.kind("packages").packages

    @property
    def mitigation(self) -> str | None:
        return self.kind("packages").mitigation

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

    @cached_property
    def os_version(self) -> OsVersion | None:
        return read_os_version(self.software)

    def host(self) -> Host:
        return {
            "name": _computer_name(self.system),
            "os": self.os_version.name if self.os_version else None,
            "utc_offset_minutes": _utc_offset(self.system),
        }


def gather(volume: WindowsVolume, as_of: date, horizon_days: int = 365, **options: Any) -> Artefacts:
    """Every kind of artefact of the volume, loaded now (a scan reports all of them); `options` are
    Artefacts' keyword settings (jobs, verdict_cache, partitions, container, target_firmware, target_dbx)."""
    art = Artefacts(volume, as_of, horizon_days, **options)
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
