"""Kind `machine_hives`: SOFTWARE, SYSTEM and COMPONENTS, and the host facts read from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from imgscan.artefacts.hive_loading import Unreadable, read_hive
from imgscan.hives import Hive
from imgscan.image.volume import CONFIG_DIR, child_path
from imgscan.kinds import ErrorList, Kind, Section
from imgscan.os_version import OsVersion, read_os_version
from imgscan.report import HiveJson

if TYPE_CHECKING:
    from imgscan.kinds import InventoryContext, Loader


@dataclass
class MachineHives:
    software: Hive | None
    system: Hive | None
    components: Hive | None
    unreadable: list[Unreadable] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.software or self.system)

    @property
    def hives(self) -> list[tuple[str, Hive]]:
        """The hives read, by role."""
        roles = (("SOFTWARE", self.software), ("SYSTEM", self.system), ("COMPONENTS", self.components))
        return [(role, hive) for role, hive in roles if hive]

    @property
    def components_not_found(self) -> bool:
        """No COMPONENTS hive at all on a Windows that services through CBS. Nothing judges its content, so
        its absence is no finding, but the report must say the component store's registry went unchecked
        rather than look clean; a COMPONENTS that is there but unusable is in `unreadable` (hive-unreadable)."""
        there = self.components is not None or any(u.role == "COMPONENTS" for u in self.unreadable)
        return not there and self.os_version is not None and self.os_version.services_through_cbs

    @cached_property
    def os_version(self) -> OsVersion | None:
        return read_os_version(self.software)

    @cached_property
    def control_set(self) -> str | None:
        """SYSTEM's current control set ("ControlSet001"), None without SYSTEM or its Select key."""
        return self.system.control_set() if self.system else None

    @cached_property
    def computer_name(self) -> str | None:
        """The ComputerName of the current control set."""
        system, control_set = self.system, self.control_set
        if system is None or control_set is None:
            return None
        name = system.value(rf"{control_set}\Control\ComputerName\ComputerName", "ComputerName")
        return name if isinstance(name, str) else None

    @cached_property
    def utc_offset(self) -> int | None:
        """The host's offset from UTC in minutes (local = UTC + offset), from the current control set's
        TimeZoneInformation: ActiveTimeBias (the bias in force when Windows last ran, daylight saving
        included), else Bias. Text logs (CBS.log, setup logs) are written in that local time."""
        system, control_set = self.system, self.control_set
        if system is None or control_set is None:
            return None
        key = rf"{control_set}\Control\TimeZoneInformation"
        for name in ("ActiveTimeBias", "Bias"):
            bias = system.value(key, name)
            if isinstance(bias, int):
                return -(bias - (1 << 32) if bias >= 1 << 31 else bias)  # a DWORD holding a signed value
        return None


def load(art: Loader) -> MachineHives:
    unreadable: list[Unreadable] = []

    def read(name: str, required: bool) -> Hive | None:
        return read_hive(art.volume, child_path(CONFIG_DIR, name), name, required, unreadable)

    return MachineHives(read("SOFTWARE", True), read("SYSTEM", True), read("COMPONENTS", False), unreadable)


def inventory(found: MachineHives, _: InventoryContext) -> Section:
    hives: list[HiveJson] = [{"path": hive.path, "role": role, "dirty": hive.dirty is not None} for role, hive in found.hives]
    return {"hives": hives}


def errors(found: MachineHives) -> ErrorList:
    """Hives that could not be used, a COMPONENTS hive not found (a warning, not silence), then damaged cells
    met while reading the others."""
    unchecked = "the component store's registry, which servicing loads to install or remove any update, was not checked"
    missing = [{"path": child_path(CONFIG_DIR, "COMPONENTS"), "message": f"COMPONENTS: not found; {unchecked}"}]
    return (
        [u.entry() for u in found.unreadable]
        + (missing if found.components_not_found else [])
        + [problem for _, hive in found.hives for problem in hive.problems]
    )


MACHINE_HIVES = Kind(
    name="machine_hives",
    paths=(
        "/Windows/System32/config/SOFTWARE",
        "/Windows/System32/config/SYSTEM",
        "/Windows/System32/config/COMPONENTS",
    ),
    load=load,
    absent="the image has no readable SOFTWARE or SYSTEM hive",
    inventory=inventory,
    errors=errors,
    reading="reading the machine hives",
)
