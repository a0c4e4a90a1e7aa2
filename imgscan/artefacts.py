"""Everything the checks read, gathered once from the Windows volume.

Data flows one way: image → artefacts → checks → findings → report. A file
that cannot be read is recorded in `unreadable` (it becomes an `errors` entry
and a `hive-unreadable` finding) and the rest is still gathered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from imgscan.accounts import Account, discover
from imgscan.catalog_inventory import CatalogSet, catalog_paths, read_catalogs, uncovered_manifests
from imgscan.certs import CertCache
from imgscan.hives import Hive, HiveError, load_hive
from imgscan.image.volume import CONFIG_DIR, ArtefactUnreadable, WindowsVolume, child_path
from imgscan.logs.collect import LogSet, read_logs
from imgscan.report import Host
from imgscan.servicing import Package, read_packages
from imgscan.trust_store import build_store
from imgscan.validity import Judge

# Updates that make WinVerifyTrust accept timestamps whose TSA certificate lacks the
# timestamping EKU (Advisory 2749655): Vista/7/2008/2008 R2, and Windows 8/2012.
EKU_MITIGATIONS = ("KB2749655", "KB2756872")

CURRENT_VERSION = r"Microsoft\Windows NT\CurrentVersion"


@dataclass(frozen=True)
class Unreadable:
    """A file that exists (or must exist) but could not be used."""

    path: str
    role: str  # "SOFTWARE", "SYSTEM", "COMPONENTS" or an account label
    problem: str


@dataclass
class UserHive:
    """A user hive, read again each time a check opens it and released afterwards, so memory stays flat
    however many profiles an image carries (a terminal server's image can hold thousands)."""

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
class Artefacts:
    volume: WindowsVolume
    as_of: date
    horizon_days: int = 365
    software: Hive | None = None
    system: Hive | None = None
    components: Hive | None = None
    user_hives: list[UserHive] = field(default_factory=list)
    profile_notes: list[dict[str, object]] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)  # hives
    packages: list[Package] = field(default_factory=list)
    catalogs: CatalogSet = field(default_factory=lambda: CatalogSet([]))
    mitigation: str | None = None  # the installed EKU_MITIGATIONS update, if any
    trust: dict[str, object] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)  # other files that could not be used
    logs: LogSet = field(default_factory=LogSet)

    @property
    def horizon_end(self) -> date:
        """The last day --horizon looks ahead to: failures starting after it are not reported."""
        return self.as_of + timedelta(days=self.horizon_days)

    @property
    def hives(self) -> list[Hive | UserHive]:
        """Every hive read (path, dirty flag and damaged cells); user hives as handles, not loaded."""
        machine: list[Hive | UserHive] = [h for h in (self.software, self.system, self.components) if h]
        return machine + list(self.user_hives)

    def host(self) -> Host:
        return {"name": _computer_name(self.system), "os": _os_name(self.software),
                "utc_offset_minutes": _utc_offset(self.system)}


def gather(volume: WindowsVolume, as_of: date, horizon_days: int = 365) -> Artefacts:
    art = Artefacts(volume=volume, as_of=as_of, horizon_days=horizon_days)
    art.software = _machine_hive(art, "SOFTWARE", required=True)
    art.system = _machine_hive(art, "SYSTEM", required=True)
    art.components = _machine_hive(art, "COMPONENTS", required=False)
    accounts, art.profile_notes = discover(volume, art.software)
    for account in accounts:
        hive = _read(art, account.hive_path, account.label, required=True)
        if hive:  # checked once here, then released: checks open it again one profile at a time
            art.user_hives.append(UserHive(account, hive.path, hive.dirty,
                                           functools.partial(load_hive, volume, account.hive_path)))
        del hive
    _servicing(art)
    art.logs = read_logs(volume, as_of)
    art.errors.extend(art.logs.errors)
    art.errors.extend(getattr(volume, "problems", []))  # directories the volume could not list
    return art


def _servicing(art: Artefacts) -> None:
    """Packages, the mitigation they install, the root stores and every catalog's verdict."""
    art.packages = read_packages(art.volume, art.software)
    for package in art.packages:
        if package.problem:
            art.errors.append({"path": package.mum_path or package.identity, "message": package.problem})
    installed = {p.kb for p in art.packages if p.installed}
    art.mitigation = next((kb for kb in EKU_MITIGATIONS if kb in installed), None)
    if not catalog_paths(art.volume):
        return
    cache = CertCache()
    store = build_store(cache, art.software)
    art.errors.extend({"path": r"SOFTWARE\Microsoft\SystemCertificates", "message": p} for p in store.problems)
    art.trust = {"image_roots": store.count("image"), "bundled_roots": store.count("bundled"),
                 "eku_mitigation": art.mitigation}
    art.catalogs = read_catalogs(art.volume, Judge(store, cache, art.mitigation), cache)
    art.errors.extend(uncovered_manifests(art.packages, art.catalogs))


def _machine_hive(art: Artefacts, name: str, required: bool) -> Hive | None:
    return _read(art, child_path(CONFIG_DIR, name), name, required)


def _read(art: Artefacts, path: str, role: str, required: bool) -> Hive | None:
    try:
        return load_hive(art.volume, path)
    except FileNotFoundError:
        if required:
            art.unreadable.append(Unreadable(path, role, "missing"))
    except HiveError as exc:
        art.unreadable.append(Unreadable(path, role, str(exc)))
    except ArtefactUnreadable as exc:
        art.unreadable.append(Unreadable(path, role, exc.problem))
    return None


def _computer_name(system: Hive | None) -> str | None:
    if system is None:
        return None
    current = system.value("Select", "Current")
    if not isinstance(current, int):
        return None
    name = system.value(rf"ControlSet{current:03d}\Control\ComputerName\ComputerName", "ComputerName")
    return name if isinstance(name, str) else None


def _utc_offset(system: Hive | None) -> int | None:
    """The host's offset from UTC in minutes (local = UTC + offset), from the current control set's
    TimeZoneInformation: ActiveTimeBias (the bias in force when Windows last ran, daylight saving
    included), else Bias. Text logs (CBS.log, setup logs) are written in that local time."""
    if system is None:
        return None
    current = system.value("Select", "Current")
    if not isinstance(current, int):
        return None
    key = rf"ControlSet{current:03d}\Control\TimeZoneInformation"
    for name in ("ActiveTimeBias", "Bias"):
        bias = system.value(key, name)
        if isinstance(bias, int):
            return -(bias - (1 << 32) if bias >= 1 << 31 else bias)  # a DWORD holding a signed value
    return None


def _os_name(software: Hive | None) -> str | None:
    if software is None:
        return None
    parts = [software.value(CURRENT_VERSION, n) for n in ("ProductName", "CSDVersion")]
    build = software.value(CURRENT_VERSION, "CurrentBuildNumber") or software.value(CURRENT_VERSION, "CurrentBuild")
    text = " ".join(p for p in parts if isinstance(p, str) and p)
    if isinstance(build, str) and build:
        text = f"{text} (build {build})" if text else f"build {build}"
    return text or None
