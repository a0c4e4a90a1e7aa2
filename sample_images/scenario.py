"""Turn a readable scenario (TOML) into the files of a Windows volume.

A scenario names the host, its profiles and the WinTrust State of each user
hive; `volume_files` returns {volume path: bytes}, written by `regf` for the
hives. Tests derive bad-input variants by editing a loaded `Scenario` (a
truncated profile hive, a garbage SOFTWARE hive, a dirty hive, an unlisted
profile) instead of keeping near-identical scenario files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import tomllib

from sample_images.regf import Key, Value, build_hive

SCENARIOS = Path(__file__).parent / "scenarios"
WINTRUST_KEY = r"Software\Microsoft\Windows\CurrentVersion\WinTrust\Trust Providers\Software Publishing"
CONFIG = "Windows/System32/config"


@dataclass
class UserHiveSpec:
    """One user hive: its WinTrust State (None = value absent) and how it is stored."""

    wintrust_state: int | None = None
    dirty: bool = False
    damage: str | None = None  # "truncate" (cut in half) or "garbage" (not a hive)


@dataclass
class Profile(UserHiveSpec):
    name: str = ""
    sid: str = ""
    listed: bool = True  # False: NTUSER.DAT on disk but no ProfileList entry


@dataclass
class Scenario:
    name: str
    description: str
    computer_name: str
    product_name: str
    csd_version: str
    build: str
    written: datetime
    system_default: UserHiveSpec = field(default_factory=UserHiveSpec)
    default_template: UserHiveSpec = field(default_factory=UserHiveSpec)
    profiles: list[Profile] = field(default_factory=list)
    software_damage: str | None = None


def load(name: str) -> Scenario:
    data = tomllib.loads((SCENARIOS / f"{name}.toml").read_text(encoding="utf-8"))
    written = data["written"]
    return Scenario(
        name=name,
        description=data["description"],
        computer_name=data["computer_name"],
        product_name=data["product_name"],
        csd_version=data["csd_version"],
        build=data["build"],
        written=written if written.tzinfo else written.replace(tzinfo=timezone.utc),
        system_default=UserHiveSpec(**data.get("system_default", {})),
        default_template=UserHiveSpec(**data.get("default_template", {})),
        profiles=[Profile(**p) for p in data.get("profile", [])],
    )


def _damaged(data: bytes, damage: str | None) -> bytes:
    if damage == "truncate":
        return data[: len(data) // 2]
    if damage == "garbage":
        return b"This is not a registry hive.\r\n" * 200
    return data


def _user_hive(spec: UserHiveSpec, file_name: str, written: datetime) -> bytes:
    root = Key("ROOT")
    root.path(r"Control Panel\Desktop")
    root.set("Environment", Value.string("TEMP", r"%USERPROFILE%\AppData\Local\Temp", expand=True))
    if spec.wintrust_state is not None:
        root.set(WINTRUST_KEY, Value.dword("State", spec.wintrust_state))
    else:
        root.path(WINTRUST_KEY)
    return _damaged(build_hive(root, file_name, written, dirty=spec.dirty), spec.damage)


def _software(s: Scenario) -> bytes:
    root = Key("ROOT")
    current = r"Microsoft\Windows NT\CurrentVersion"
    root.set(current, Value.string("ProductName", s.product_name))
    root.set(current, Value.string("CSDVersion", s.csd_version))
    root.set(current, Value.string("CurrentVersion", "6.1"))
    root.set(current, Value.string("CurrentBuildNumber", s.build))
    root.set(current, Value.string("SystemRoot", r"C:\Windows"))
    profiles = current + r"\ProfileList"
    root.set(profiles, Value.string("Default", r"%SystemDrive%\Users\Default", expand=True))
    root.set(profiles, Value.string("ProfilesDirectory", r"%SystemDrive%\Users", expand=True))
    root.set(profiles, Value.string("Public", r"%SystemDrive%\Users\Public", expand=True))
    system_profile = r"%systemroot%\system32\config\systemprofile"
    root.set(profiles + r"\S-1-5-18", Value.string("ProfileImagePath", system_profile, expand=True))
    for profile in s.profiles:
        if profile.listed:
            root.set(f"{profiles}\\{profile.sid}", Value.string("ProfileImagePath", f"C:\\Users\\{profile.name}", expand=True))
    hive = build_hive(root, r"\SystemRoot\System32\Config\SOFTWARE", s.written)
    return _damaged(hive, s.software_damage)


def _system(s: Scenario) -> bytes:
    root = Key("ROOT")
    root.set("Select", Value.dword("Current", 1))
    root.set("Select", Value.dword("Default", 1))
    root.set(r"ControlSet001\Control\ComputerName\ComputerName", Value.string("ComputerName", s.computer_name))
    return build_hive(root, r"\SystemRoot\System32\Config\SYSTEM", s.written)


def _components(s: Scenario) -> bytes:
    root = Key("ROOT")
    root.path(r"CanonicalData\Deployments")
    return build_hive(root, r"\SystemRoot\System32\Config\COMPONENTS", s.written)


def volume_files(s: Scenario) -> dict[str, bytes]:
    """Every file of the scenario's Windows volume, keyed by its path with forward slashes."""
    files = {
        f"{CONFIG}/SOFTWARE": _software(s),
        f"{CONFIG}/SYSTEM": _system(s),
        f"{CONFIG}/COMPONENTS": _components(s),
        f"{CONFIG}/DEFAULT": _user_hive(s.system_default, r"\SystemRoot\System32\Config\DEFAULT", s.written),
        "Users/Default/NTUSER.DAT": _user_hive(s.default_template, r"\??\C:\Users\Default\NTUSER.DAT", s.written),
        "Windows/System32/drivers/etc/hosts": b"127.0.0.1 localhost\r\n",
    }
    for profile in s.profiles:
        files[f"Users/{profile.name}/NTUSER.DAT"] = _user_hive(profile, f"\\??\\C:\\Users\\{profile.name}\\ntuser.dat", s.written)
    return files


def write_tree(s: Scenario, root: Path) -> Path:
    """Write the scenario's files below `root` with the scenario's timestamp; returns `root`."""
    stamp = s.written.timestamp()
    for rel, data in volume_files(s).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (stamp, stamp))
    return root
