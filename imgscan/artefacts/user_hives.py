"""Kind `user_hives`: `.DEFAULT`, the Default profile template and every profile's NTUSER.DAT.

Each hive is read once here (to know it is readable, and whether it is dirty) and released: checks
open it again one profile at a time, so memory stays flat however many profiles an image carries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.accounts import Account, discover
from imgscan.artefacts.hive_loading import Unreadable, read_hive
from imgscan.hives import Hive, load_hive

if TYPE_CHECKING:
    from imgscan.artefacts import Artefacts

PATHS = (
    "/Windows/System32/config/DEFAULT",
    "/Users/*/NTUSER.DAT",
    "/Documents and Settings/*/NTUSER.DAT",
)
ABSENT = "the image has no user hive"


@dataclass
class UserHive:
    """A user hive, read again each time a check opens it and released afterwards."""

    account: Account
    path: str
    dirty: bool
    load: Callable[[], Hive] = field(repr=False)
    problems: list[dict[str, str]] = field(default_factory=list)  # damaged cells met while reading it

    def open(self) -> Hive:
        hive = self.load()
        hive.problems = self.problems  # what the reader finds now is reported with this hive
        return hive


@dataclass
class UserHives:
    hives: list[UserHive] = field(default_factory=list)
    notes: list[dict[str, object]] = field(default_factory=list)  # ProfileList entries not on this volume
    unreadable: list[Unreadable] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.hives)


def load(art: Artefacts) -> UserHives:
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
