"""Kind `machine_hives`: SOFTWARE, SYSTEM and COMPONENTS, and the host facts read from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.artefacts.hive_loading import Unreadable, read_hive
from imgscan.hives import Hive
from imgscan.image.volume import CONFIG_DIR, child_path

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS = (
    "/Windows/System32/config/SOFTWARE",
    "/Windows/System32/config/SYSTEM",
    "/Windows/System32/config/COMPONENTS",
)
ABSENT = "the image has no readable SOFTWARE or SYSTEM hive"


@dataclass
class MachineHives:
    software: Hive | None
    system: Hive | None
    components: Hive | None
    unreadable: list[Unreadable] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.software or self.system)


def load(art: ArtefactLoader) -> MachineHives:
    unreadable: list[Unreadable] = []

    def read(name: str, required: bool) -> Hive | None:
        return read_hive(art.volume, child_path(CONFIG_DIR, name), name, required, unreadable)

    return MachineHives(read("SOFTWARE", True), read("SYSTEM", True), read("COMPONENTS", False), unreadable)
