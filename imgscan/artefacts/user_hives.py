"""Kind `user_hives`: `.DEFAULT`, the Default profile template and every profile's NTUSER.DAT.

Each hive is read once here (to know it is readable, whether it is dirty, and what the checks need of it:
its WinTrust State) and released, so memory stays flat however many profiles an image carries; judging
the read for many hosts opens none again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.accounts import discover
from imgscan.artefacts.hive_loading import Unreadable, UserHive, read_hive
from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.kinds import ErrorList, Kind, Section

if TYPE_CHECKING:
    from imgscan.kinds import InventoryContext, Loader


@dataclass
class UserHives:
    hives: list[UserHive] = field(default_factory=list)
    notes: list[dict[str, object]] = field(default_factory=list)  # ProfileList entries not on this volume
    unreadable: list[Unreadable] = field(default_factory=list)
    template_not_found: str | None = None  # where the Default profile template's NTUSER.DAT should be

    def __bool__(self) -> bool:
        return bool(self.hives)


def load(art: Loader) -> UserHives:
    discovered = discover(art.volume, art.get(MACHINE_HIVES).software)
    found = UserHives(notes=discovered.notes, template_not_found=discovered.template_not_found)
    for account in discovered.accounts:
        hive = read_hive(art.volume, account.hive_path, account.label, True, found.unreadable)
        if hive:
            found.hives.append(UserHive.of(account, hive))
        del hive
    return found


def inventory(found: UserHives, _: InventoryContext) -> Section:
    hives = [{"path": u.path, "role": "user", "dirty": u.dirty is not None} | u.account.as_dict() for u in found.hives]
    return {"hives": hives, "profiles_not_scanned": found.notes}


def errors(found: UserHives) -> ErrorList:
    """Hives that could not be used, profiles ProfileList names whose hive is missing and a Default profile
    template that is nowhere (the checks never saw those accounts: a scan must not look clean for them in
    silence), then damaged cells met while the checks read the others."""
    missing: ErrorList = []
    if found.template_not_found:
        missing.append(
            {
                "path": found.template_not_found,
                "message": "Default profile template: its NTUSER.DAT was not found; the WinTrust State every account "
                "created after deployment copies from it was not checked",
            }
        )
    missing += [
        {
            "path": f"{note['profile_path']}\\NTUSER.DAT",
            "message": f"profile {note['sid']}: ProfileList names it, but its NTUSER.DAT is missing; "
            "the account's settings (its WinTrust State) were not checked",
        }
        for note in found.notes
        if note["status"] == "no NTUSER.DAT"
    ]
    return [u.entry() for u in found.unreadable] + missing + [problem for user in found.hives for problem in user.problems]


USER_HIVES = Kind(
    name="user_hives",
    paths=(
        "/Windows/System32/config/DEFAULT",
        "/Users/*/NTUSER.DAT",
        "/Documents and Settings/*/NTUSER.DAT",
    ),
    load=load,
    requires=(MACHINE_HIVES,),
    absent="the image has no user hive",
    inventory=inventory,
    errors=errors,
    reading="reading the profiles' hives",
)
