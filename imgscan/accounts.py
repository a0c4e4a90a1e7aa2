"""Which user hives an image holds, and whose settings each one carries.

Windows reads per-user settings (WinTrust among them) from the hive of the
account that runs the code:
- `.DEFAULT` (`System32\\config\\DEFAULT`): SYSTEM, so Windows Update and
  msiexec running as a service. HKU\\S-1-5-18 is a link to it, so the
  `systemprofile` entry of ProfileList is not a hive of its own.
- the Default profile's NTUSER.DAT: not loaded by anyone, but copied into
  every profile created later, so in a golden image it is every future user.
- each profile's NTUSER.DAT: installs that user starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgscan.hives import Hive
from imgscan.image.volume import CONFIG_DIR, WindowsVolume, child_path
from imgscan.report import AccountJson

SYSTEM_SID = "S-1-5-18"
PROFILE_LIST = r"Microsoft\Windows NT\CurrentVersion\ProfileList"
PROFILE_ROOTS = ("Users", "Documents and Settings")
DEFAULT_TEMPLATES = (r"Users\Default", r"Documents and Settings\Default User")
NOT_PROFILES = {"all users", "default user", "public", "default"}


@dataclass(frozen=True)
class Account:
    """The account a user hive belongs to."""

    kind: str  # "system-default", "default-template" or "profile"
    name: str
    sid: str | None
    hive_path: str
    listed: bool = True  # False: an NTUSER.DAT found on disk but absent from ProfileList

    @property
    def label(self) -> str:
        if self.kind == "system-default":
            return ".DEFAULT"
        if self.kind == "default-template":
            return "Default profile template"
        return f"profile {self.name}" + (f" ({self.sid})" if self.sid else "")

    @property
    def affected(self) -> str:
        """Who runs into a setting stored in this hive, in words."""
        if self.kind == "system-default":
            return "installs running as SYSTEM (Windows Update, msiexec as a service) on every host built from this image"
        if self.kind == "default-template":
            return "every user profile created after deployment (the template is copied into each new profile)"
        return f"installs started by user {self.name}"

    @property
    def registry_root(self) -> str:
        """Where this hive appears under HKEY_USERS when loaded (for .reg remediation)."""
        if self.kind == "system-default":
            return r"HKEY_USERS\.DEFAULT"
        if self.kind == "default-template" or not self.sid:
            return r"HKEY_USERS\imgscan-offline"
        return f"HKEY_USERS\\{self.sid}"

    def as_dict(self) -> AccountJson:
        return {"kind": self.kind, "name": self.name, "sid": self.sid, "listed_in_profile_list": self.listed}


def volume_path(windows_path: str, system_root: str = "Windows") -> str | None:
    """Map a path as Windows stores it (`%SystemDrive%\\Users\\x`, `C:\\Users\\x`) to a volume path.

    Returns None for a path on another drive letter than the system drive,
    which this image does not hold.
    """
    text = windows_path.strip().strip('"')
    text = re.sub(r"(?i)%(systemroot|windir)%", lambda _m: "C:\\" + system_root, text)
    text = re.sub(r"(?i)%systemdrive%", "C:", text)
    match = re.match(r"(?i)^([a-z]):\\?(.*)$", text)
    if not match:
        return None
    if match.group(1).upper() != "C":
        return None
    return match.group(2).strip("\\")


@dataclass
class Discovered:
    """The user hives of an image, and what of them it lacks."""

    accounts: list[Account]
    notes: list[dict[str, object]]  # ProfileList entries whose hive is not on this volume
    template_not_found: str | None  # where the Default profile template's NTUSER.DAT should be, when it is not


def discover(volume: WindowsVolume, software: Hive | None) -> Discovered:
    """All user hives of the image, notes on ProfileList entries whose hive is not on this volume, and the
    Default profile template's hive when it is nowhere (then no future account's settings were checked)."""
    notes: list[dict[str, object]] = []
    accounts = [Account("system-default", ".DEFAULT", SYSTEM_SID, child_path(CONFIG_DIR, "DEFAULT"))]
    system_root = _system_root(software)
    listed_paths: set[str] = set()

    template, expected = _default_template(volume, software, system_root)
    if template:
        accounts.append(Account("default-template", "Default", None, child_path(template, "NTUSER.DAT")))
        listed_paths.add(template.lower())

    profile_list = software.key(PROFILE_LIST) if software else None
    for key in sorted(software.subkeys(profile_list) if software else [], key=lambda k: k.name()):
        sid = key.name()
        path_value = (software.values(key) or {}).get("profileimagepath") if software else None
        image_path = path_value if isinstance(path_value, str) else None
        if sid == SYSTEM_SID or not image_path:
            continue
        folder = volume_path(image_path, system_root)
        if folder is None:
            notes.append({"sid": sid, "profile_path": image_path, "status": "not on this volume"})
            continue
        hive_path = child_path(folder, "NTUSER.DAT")
        if not volume.exists(hive_path):  # an odd entry is still this profile's hive: hive-unreadable, not a skip
            notes.append({"sid": sid, "profile_path": image_path, "status": "no NTUSER.DAT"})
            continue
        listed_paths.add(folder.lower())
        accounts.append(Account("profile", folder.rsplit("\\", 1)[-1], sid, hive_path))

    for root in PROFILE_ROOTS:
        for name in volume.listdir(root):
            folder = child_path(root, name)
            hive_path = child_path(folder, "NTUSER.DAT")
            if folder.lower() in listed_paths or name.lower() in NOT_PROFILES or not volume.exists(hive_path):
                continue
            accounts.append(Account("profile", name, None, hive_path, listed=False))
    return Discovered(accounts, notes, None if template else child_path(expected, "NTUSER.DAT"))


def _system_root(software: Hive | None) -> str:
    root = software.value(r"Microsoft\Windows NT\CurrentVersion", "SystemRoot") if software else None
    mapped = volume_path(root) if isinstance(root, str) else None
    return mapped or "Windows"


def _default_template(volume: WindowsVolume, software: Hive | None, system_root: str) -> tuple[str | None, str]:
    """The Default profile folder: ProfileList's `Default` (Vista+), or `ProfilesDirectory` +
    `DefaultUserProfile` (XP/2003), else the usual folders (None when none holds an NTUSER.DAT); and the
    folder the image names first, which a report names when the template is nowhere."""
    candidates: list[str] = []
    if software:
        default = software.value(PROFILE_LIST, "Default")
        if isinstance(default, str):
            candidates.append(default)
        directory = software.value(PROFILE_LIST, "ProfilesDirectory")
        name = software.value(PROFILE_LIST, "DefaultUserProfile")
        if isinstance(directory, str) and isinstance(name, str):
            candidates.append(f"{directory}\\{name}")
    folders = [folder for c in candidates if (folder := volume_path(c, system_root))] + list(DEFAULT_TEMPLATES)
    found = next((folder for folder in folders if volume.exists(child_path(folder, "NTUSER.DAT"))), None)
    return found, folders[0]
