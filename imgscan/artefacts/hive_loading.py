"""Reading one hive of the image, with the outcomes the checks need to know about, and the handle of a user
hive that is read again each time a check opens it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from imgscan.accounts import Account
from imgscan.hives import Hive, HiveError, load_hive
from imgscan.image.volume import ArtefactUnreadable, WindowsVolume


@dataclass(frozen=True)
class Unreadable:
    """A hive that exists (or must exist) but could not be used."""

    path: str
    role: str  # "SOFTWARE", "SYSTEM", "COMPONENTS" or an account label
    problem: str


def read_hive(volume: WindowsVolume, path: str, role: str, required: bool, unreadable: list[Unreadable]) -> Hive | None:
    """The hive at `path`, or None with the reason appended to `unreadable` (a missing optional hive
    is no problem)."""
    try:
        return load_hive(volume, path)
    except FileNotFoundError:
        if required:
            unreadable.append(Unreadable(path, role, "missing"))
    except HiveError as exc:
        unreadable.append(Unreadable(path, role, str(exc)))
    except ArtefactUnreadable as exc:
        unreadable.append(Unreadable(path, role, exc.problem))
    return None


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
