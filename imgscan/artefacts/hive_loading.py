"""Reading one hive of the image, with the outcomes the checks need to know about, and the handle of a user
hive: what the checks read of it, read once with the image, and a way to open it again."""

from __future__ import annotations

from dataclasses import dataclass, field

from imgscan.accounts import Account
from imgscan.hives import Hive, HiveError, key_last_written, load_hive
from imgscan.image.volume import ArtefactUnreadable, WindowsVolume
from imgscan.wintrust import KEY_PATH, VALUE_NAME


@dataclass(frozen=True)
class Unreadable:
    """A hive that exists (or must exist) but could not be used."""

    path: str
    role: str  # "SOFTWARE", "SYSTEM", "COMPONENTS" or an account label
    problem: str

    def entry(self) -> dict[str, str]:
        """As a report `errors` entry."""
        return {"path": self.path, "message": f"{self.role}: {self.problem}"}


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


@dataclass(frozen=True)
class WinTrustValue:
    """The account's WinTrust Software Publishing `State` as the image holds it: the value's data (None when
    absent) and its key's last-write time (None without the key). A property of the image, not of a host, so
    it is read with the image, once, and every host's judgement reuses it."""

    data: object
    last_written: str | None
    # why the value could not be read, when a damaged cell on its key's path or in the value lost it: the
    # State is then unknown, not Windows' default (hive-unreadable says so)
    damaged: str | None = None

    @classmethod
    def read(cls, hive: Hive) -> WinTrustValue:
        key = hive.key(KEY_PATH)
        data = hive.value(KEY_PATH, VALUE_NAME)
        lost = (f"{hive.path}\\{KEY_PATH}", f"{hive.path}\\{KEY_PATH}\\{VALUE_NAME}")
        damaged = next((p["message"] for p in hive.problems if p["path"] in lost), None) if data is None else None
        return cls(data, key_last_written(key) if key else None, damaged)


@dataclass
class UserHive:
    """A user hive: what the checks read of it, read once while the image is read (`of`); the hive itself
    is released afterwards, so memory stays flat however many profiles an image carries."""

    account: Account
    path: str
    dirty: str | None  # why Windows would recover it from its transaction logs (Hive.dirty)
    wintrust: WinTrustValue
    problems: list[dict[str, str]] = field(default_factory=list)  # damaged cells met while reading it

    @classmethod
    def of(cls, account: Account, hive: Hive) -> UserHive:
        """The user hive `hive`, just read, with what the checks need of it read now (damaged cells met
        doing so are its problems)."""
        return cls(account, hive.path, hive.dirty, WinTrustValue.read(hive), hive.problems)
