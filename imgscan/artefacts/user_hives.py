"""Kind `user_hives`: `.DEFAULT`, the Default profile template and every profile's NTUSER.DAT.

Each hive is read once here (to know it is readable, and whether it is dirty) and released: checks
open it again one profile at a time, so memory stays flat however many profiles an image carries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.accounts import discover
from imgscan.artefacts.hive_loading import Unreadable, UserHive, read_hive
from imgscan.hives import load_hive

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS = (
    "/Windows/System32/config/DEFAULT",
    "/Users/*/NTUSER.DAT",
    "/Documents and Settings/*/NTUSER.DAT",
)
ABSENT = "the image has no user hive"


@dataclass
class UserHives:
    hives: list[UserHive] = field(default_factory=list)
    notes: list[dict[str, object]] = field(default_factory=list)  # ProfileList entries not on this volume
    unreadable: list[Unreadable] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.hives)


def load(art: ArtefactLoader) -> UserHives:
    accounts, notes = discover(art.volume, art.software)
    found = UserHives(notes=notes)
    for account in accounts:
        hive = read_hive(art.volume, account.hive_path, account.label, True, found.unreadable)
        if hive:
            found.hives.append(
                UserHive(account, hive.path, hive.dirty, functools.partial(load_hive, art.volume, account.hive_path))
            )
        del hive
    return found
