"""Component Based Servicing packages: the SOFTWARE registrations joined with their .mum/.cat files.

The package key name, the `.mum`/`.cat` base name in `Windows\\servicing\\Packages`
and the `InstallName` value are the same identity
(`name~publicKeyToken~arch~language~version`).

What `wmic qfe` / `Get-HotFix` (Win32_QuickFixEngineering) list, and what imgscan assumes where the
sources are silent:
- Since Windows Vista the class returns only updates supplied by CBS, and `HotFixID` is a key
  property of the class: one instance per KB, however many packages the update has
  (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-quickfixengineering).
  Description is the release type ("Update", "Security Update"), InstalledBy an account name
  ("NT AUTHORITY\\SYSTEM"), InstalledOn a date
  (https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/get-hotfix);
  a registry-based rebuild of that list reads the same values from the registration and the `.mum`
  (Get-HotFixList in https://github.com/itm4n/PrivescCheck).
- The `.mum` says what a package is: `<package identifier= releaseType=>`. Every package of an
  update names the KB (`update.mum` and each `Package_N_for_KB...` of the real update packages in
  ../shared/realdata/updates). Windows' own packages name themselves, with release types from
  https://learn.microsoft.com/en-us/windows-hardware/manufacture/desktop/dism/dismreleasetype-enumeration:
  Foundation, Product (the edition), Language Pack, Feature Pack, OnDemand Pack; so do the language
  packages an update brings (KB2891638's children: identifier = their own name, "Language Pack").
  Real listings hold KB numbers only, never those packages (a Windows 7 host's HotFixIDs:
  https://github.com/pwnwiki/pwnwiki.github.io/pull/111).
- So a row is an installed package whose identifier (or, without a readable manifest, whose name)
  names a KB and whose release type is not a kind that only Windows' own packages have
  (`BASE_RELEASE_TYPES`). Assumed where the sources are silent: a Feature Pack that names a KB is
  listed (the real KB943790 manifest is one); Staged, Superseded and Absent packages are not; a KB's
  row takes the earliest install among its packages.
- To answer the query CBS opens every installed package, listed or not, since only the opened
  manifest says whether a package is an update; one it cannot open (its catalog no longer
  validates) fails the whole enumeration: "No instances available" on ~10,000 hosts in the
  KB2705219 incident. `qfe_opened` is that set: imgscan assumes a foundation, edition or language
  package with an invalid catalog empties the list just as an update does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from defusedxml import ElementTree

from imgscan.accounts import SYSTEM_SID
from imgscan.errors import XML_ERRORS
from imgscan.hives import Hive
from imgscan.image.volume import WindowsVolume, child_path
from imgscan.numerals import dotted_version
from imgscan.report import QfeRow

CBS_PACKAGES = r"Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages"
PACKAGES_DIR = r"Windows\servicing\Packages"
ASM_V3 = "{urn:schemas-microsoft-com:asm.v3}"
SERVICING_STACK = "microsoft-windows-servicingstack"  # the component a servicing stack update replaces

STATES = {
    0x0: "Absent",
    0x5: "Uninstall Pending",
    0x10: "Resolving",
    0x20: "Resolved",
    0x30: "Staging",
    0x40: "Staged",
    0x50: "Superseded",
    0x60: "Install Pending",
    0x65: "Partially Installed",
    0x70: "Installed",
    0x80: "Permanent",
    0xFFFFFFE0: "Resolved (broken)",
    0xFFFFFFC0: "Staged (broken)",
    0xFFFFFF90: "Installed (broken)",
    0xFFFFFF80: "Permanent (broken)",
}
INSTALLED_STATES = {0x65, 0x70, 0x80, 0xFFFFFF90, 0xFFFFFF80}
KB_PATTERN = re.compile(r"KB\d{6,8}", re.IGNORECASE)
# release types (lower case) only Windows' own packages have: never a wmic qfe row, whatever their identifier
BASE_RELEASE_TYPES = frozenset({"foundation", "product", "language pack", "ondemand pack", "local pack"})
# the accounts Windows names in InstalledBy for the well-known SIDs an offline image cannot resolve
# otherwise (https://learn.microsoft.com/en-us/windows/win32/secauthz/well-known-sids)
WELL_KNOWN_ACCOUNTS = {
    SYSTEM_SID: r"NT AUTHORITY\SYSTEM",
    "S-1-5-19": r"NT AUTHORITY\LOCAL SERVICE",
    "S-1-5-20": r"NT AUTHORITY\NETWORK SERVICE",
}


@dataclass(frozen=True)
class Package:
    identity: str
    state: int | None  # None: a .mum on disk with no registration
    install_time: datetime | None
    install_user: str | None
    kb: str | None  # the KB number the manifest's identifier (else the package name) names, if any
    release_type: str | None
    mum_path: str | None
    cat_path: str | None
    problem: str | None  # what is wrong with its files, if anything
    mum_digests: frozenset[bytes] = frozenset()  # SHA-1 and SHA-256 of the .mum, to find it in the catalog
    updates_servicing_stack: bool = False  # its .mum updates the servicing stack component (an SSU)
    identifier: str | None = None  # the manifest's <package identifier>: a KB, or the name of Windows' own package
    servicing_stack_version: str | None = None  # the Microsoft-Windows-ServicingStack version an SSU installs
    # False: the SOFTWARE hive, where packages are registered, could not be read (or a damaged cell lost some
    # registrations), so whether this package is registered, and in which state, is unknown (not "not registered")
    registrations_read: bool = True

    @property
    def is_update(self) -> bool:
        """Whether Win32_QuickFixEngineering counts it as an update (a hotfix) when it is installed."""
        return self.kb is not None and (self.release_type or "").lower() not in BASE_RELEASE_TYPES

    @property
    def state_name(self) -> str:
        if self.state is None:
            return "not registered" if self.registrations_read else "state unknown"
        return STATES.get(self.state, f"unknown 0x{self.state:x}")

    @property
    def installed(self) -> bool:
        return self.state in INSTALLED_STATES

    def as_dict(self) -> dict[str, object]:
        return {
            "identity": self.identity,
            "identifier": self.identifier,
            "kb": self.kb,
            "release_type": self.release_type,
            "state": None if self.state is None else f"0x{self.state:x}",
            "state_name": self.state_name,
            "installed_on": self.install_time.date().isoformat() if self.install_time else None,
            "installed_at": self.install_time.strftime("%Y-%m-%dT%H:%M:%SZ") if self.install_time else None,
            "install_user": self.install_user,
            "mum": self.mum_path,
            "cat": self.cat_path,
            "problem": self.problem,
        }


def filetime(high: int, low: int) -> datetime | None:
    ticks = (high << 32) | low
    if not ticks:
        return None
    return datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ticks // 10)


def _manifest_facts(data: bytes) -> tuple[str | None, str | None, str | None]:
    """(identifier, releaseType, the servicing stack version it installs) from a package manifest;
    raises ValueError when it is not a manifest.

    A servicing stack update names the servicing stack component, with the version it installs, among
    the assemblies its `update` elements install ("" when it names no version). Every package also names
    that component in `installerAssembly` (the servicing stack version it needs), which says nothing about
    what the package updates, so only `update` counts.
    """
    try:
        root = ElementTree.fromstring(data)
    except XML_ERRORS as exc:
        raise ValueError(f".mum is not XML ({exc})") from exc
    package = root.find(f"{ASM_V3}package")
    if root.tag != f"{ASM_V3}assembly" or package is None:
        raise ValueError(".mum is not a package manifest (no asm.v3 assembly/package element)")
    versions = [
        identity.get("version") or ""
        for update in package.iter(f"{ASM_V3}update")
        for identity in update.iter(f"{ASM_V3}assemblyIdentity")
        if (identity.get("name") or "").lower() == SERVICING_STACK
    ]
    stack = max(versions, key=dotted_version) if versions else None
    return package.get("identifier"), package.get("releaseType"), stack


# a package's registration: CurrentState, install time and InstallUser, each None when absent or damaged
Registration = tuple[int | None, datetime | None, str | None]


def read_packages(volume: WindowsVolume, software: Hive | None) -> tuple[list[Package], list[dict[str, str]]]:
    """All packages: registered ones (with their files, or a problem saying which are missing)
    and .mum files without a registration; and the damaged cells met reading the registrations. Without
    SOFTWARE (`software` None: missing or unreadable) the packages are the .mum files, each with its state
    unknown; so is each package not found registered when a damaged cell may hide its registration."""
    files = {name.lower(): name for name in volume.listdir(PACKAGES_DIR)}
    registered: dict[str, Registration] = {}
    for sub, values in _package_keys(software):
        state = values.get("currentstate")
        registered[sub.name()] = (
            state if isinstance(state, int) else None,
            filetime(values.get("installtimehigh") or 0, values.get("installtimelow") or 0)
            if isinstance(values.get("installtimehigh"), int)
            else None,
            values.get("installuser") if isinstance(values.get("installuser"), str) else None,
        )
    identities = set(registered) | {files[n][:-4] for n in files if n.endswith(".mum")}
    packages = [_package(volume, identity, registered.get(identity), files) for identity in sorted(identities, key=str.lower)]
    if software is None:
        return [replace(p, registrations_read=False) for p in packages], []
    damage = [p for p in software.problems if under_registrations(software.path, p["path"])]
    if damage:  # a package not found registered may be one a damaged key hides
        packages = [p if p.state is not None else replace(p, registrations_read=False) for p in packages]
    return packages, damage


def under_registrations(software_path: str, path: str) -> bool:
    """Whether `path` (a hive problem's, or an `errors` entry's) is the CBS Packages key of the SOFTWARE hive
    at `software_path` or a key under it: a damaged cell there loses package registrations."""
    where = f"{software_path}\\{CBS_PACKAGES}".lower()
    return path.lower() == where or path.lower().startswith(where + "\\")


def _package_keys(software: Hive | None) -> list[tuple[Any, dict[str, Any]]]:
    """(key, values by lower-case name) of every CBS package registration; a damaged key is left out
    (an `errors` entry from the hive), the other packages still count."""
    if software is None:
        return []
    found = []
    for sub in software.subkeys(software.key(CBS_PACKAGES)):
        values = software.values(sub)
        if values is not None:
            found.append((sub, values))
    return found


def _package(volume: WindowsVolume, identity: str, registration: Registration | None, files: dict[str, str]) -> Package:
    state, install_time, install_user = registration or (None, None, None)
    mum_name, cat_name = files.get(f"{identity.lower()}.mum"), files.get(f"{identity.lower()}.cat")
    mum_path = child_path(PACKAGES_DIR, mum_name) if mum_name else None
    cat_path = child_path(PACKAGES_DIR, cat_name) if cat_name else None
    identifier = release_type = problem = stack = None
    digests: frozenset[bytes] = frozenset()
    if mum_path:
        try:
            with volume.open(mum_path) as fh:
                data = fh.read()
            digests = frozenset({hashlib.sha1(data).digest(), hashlib.sha256(data).digest()})
            identifier, release_type, stack = _manifest_facts(data)
        except OSError as exc:  # ArtefactUnreadable: not a readable file
            problem = f".mum cannot be read: {getattr(exc, 'problem', exc)}"
        except ValueError as exc:
            problem = str(exc)
    missing = [kind for kind, path in ((".mum", mum_path), (".cat", cat_path)) if path is None]
    if missing and registration:
        problem = f"registered but {' and '.join(missing)} missing in {PACKAGES_DIR}"
    return Package(
        identity,
        state,
        install_time,
        install_user,
        _kb(identifier, identity),
        release_type,
        mum_path,
        cat_path,
        problem,
        digests,
        stack is not None,
        identifier,
        stack or None,
    )


def _kb(identifier: str | None, identity: str) -> str | None:
    """The KB an update's identifier names ("KB2999226", also "KB2999226_BF"), else the one its package
    name names ("Package_2_for_KB2705219"); None for Windows' own packages, whose identifier and name
    are names ("Microsoft-Windows-Foundation-Package")."""
    match = KB_PATTERN.search(identifier or "") or KB_PATTERN.search(identity.split("~")[0])
    return match.group(0).upper() if match else None


def qfe_opened(packages: list[Package]) -> list[Package]:
    """The packages CBS opens to answer a Win32_QuickFixEngineering query: every installed one, also
    those it does not list (see the module docstring). One that cannot be opened empties the list."""
    return [p for p in packages if p.installed]


def qfe_rows(packages: list[Package]) -> list[QfeRow]:
    """What `wmic qfe` would list when CBS can open every package: one row per KB among installed
    updates, with the release type, day and account of its earliest installed package."""
    rows: dict[str, QfeRow] = {}
    for package in sorted(qfe_opened(packages), key=lambda p: p.install_time or datetime.max.replace(tzinfo=timezone.utc)):
        if package.is_update and package.kb not in rows:
            rows[str(package.kb)] = {
                "HotFixID": package.kb,
                "Description": package.release_type,
                "InstalledOn": f"{package.install_time:%-m/%-d/%Y}" if package.install_time else None,
                "InstalledBy": WELL_KNOWN_ACCOUNTS.get(package.install_user or "", package.install_user),
            }
    return sorted(rows.values(), key=lambda r: r["HotFixID"] or "")
