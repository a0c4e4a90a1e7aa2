"""Turn a readable scenario (TOML) into the files of a Windows volume.

A scenario names the host, its profiles and the WinTrust State of each user
hive, and its CBS packages with the certificate and timestamp of each catalog;
a Windows 7 SP1 scenario (build 7601) also gets the packages every such image
registers (`bases/windows7-sp1.toml`: foundation, features, edition, language);
`volume_files` returns {volume path: bytes}: hives written by `regf`,
manifests, and catalogs written by `catalog_writer` with a fresh test PKI whose
root goes into SOFTWARE's ROOT store. Tests derive bad-input variants by
editing a loaded `Scenario` (a truncated hive, a garbage catalog, a .mum that
is not XML ...) instead of keeping near-identical scenario files.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import tomllib

from sample_images.catalog_writer import write_catalog
from sample_images.logs import STORIES
from sample_images.pki import Identity, TestPki, make_pki
from sample_images.regf import REG_MULTI_SZ, Key, Value, build_hive, filetime

SCENARIOS = Path(__file__).parent / "scenarios"
BASES = Path(__file__).parent / "bases"
BASE_OF_BUILD = {"7601": "windows7-sp1"}  # the packages Windows' own image brings, by build
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
class SignerSpec:
    """A code-signing certificate of the test PKI."""

    name: str
    not_before: datetime
    not_after: datetime
    lifetime: bool = False


@dataclass
class PackageSpec:
    """A CBS package: registry key, .mum and a catalog signed by `signer`.

    `timestamp` is "good" (TSA with the timestamping EKU), "no-eku" (TSA without it,
    Advisory 2749655) or "none". An update has a `kb`, its manifest's identifier; one of
    Windows' own packages has none and names itself. Damage fields make the bad-input variants.
    """

    identity: str
    signer: str
    signed: datetime
    installed: datetime
    kb: str | None = None
    release_type: str = "Security Update"
    state: int = 0x70
    timestamp: str = "good"
    winsxs_copy: bool = False
    catroot_copy: bool = False
    registered: bool = True
    files: bool = True
    missing: str | None = None  # ".mum" or ".cat": that file alone is left out of servicing\Packages
    servicing_stack: bool = False  # a servicing stack update: its .mum updates Microsoft-Windows-ServicingStack
    stack_version: str = "6.1.7601.24000"  # the Microsoft-Windows-ServicingStack version such an update installs
    parent: str = "Microsoft-Windows-Client-Features-Package"  # the package it attaches to ("": none)
    install_location: str | None = None  # InstallLocation; None: the Windows Update download folder of `kb`
    catalog_damage: str | None = None  # "truncate", "text", "garbage-date", "no-members"
    mum_damage: str | None = None  # "not-xml"

    @property
    def identifier(self) -> str:
        """The manifest's `<package identifier>`: the KB of an update, the name of Windows' own package."""
        return self.kb or self.identity.split("~")[0]


@dataclass
class BootSpec:
    """A UEFI disk: an EFI system partition with the boot manager, and a recovery partition with WinRE.

    `boot_ca` names the CA the boot manager's signer chains to ("2011": Microsoft Windows Production
    PCA 2011, "2023": Windows UEFI CA 2023; test certificates with those names); `tampered` changes a
    byte of the signed file; `owner_signed` has sbsign replace Microsoft's signature with one by the
    owner's self-signed image signing key; `recovery_mb` 0 puts WinRE on the Windows partition."""

    boot_ca: str = "2011"
    tampered: bool = False
    owner_signed: bool = False
    recovery_mb: int = 300
    winre_version: str | None = None  # SOFTWARE ...\Windows NT\CurrentVersion WinREVersion
    ca2023_status: str | None = None  # SYSTEM ...\SecureBoot\Servicing UEFICA2023Status
    ca2023_capable: int | None = None  # ... WindowsUEFICA2023Capable


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
    signers: dict[str, SignerSpec] = field(default_factory=dict)
    packages: list[PackageSpec] = field(default_factory=list)
    base_packages: list[PackageSpec] = field(default_factory=list)  # Windows' own, from bases/ (by build)
    root_in_image: bool = True  # the test root in SOFTWARE's ROOT store
    disallowed: list[str] = field(default_factory=list)  # signer keys whose certificate is in the Disallowed store
    image_state: str | None = None  # Windows Setup ImageState, in SOFTWARE and Windows\Setup\State\State.ini
    pending: list[str] = field(default_factory=list)  # "pending.xml", "renames", "RebootPending", ...
    disabled_services: list[str] = field(default_factory=list)  # services whose Start is 4
    wu_policy: dict[str, object] = field(default_factory=dict)  # WindowsUpdate policy values (AU\ for UseWUServer)
    logs: list[str] = field(default_factory=list)  # log stories from sample_images/logs.py
    current_version: str = "6.1"  # SOFTWARE CurrentVersion: 6.1 for Windows 7, 6.3 for Windows 10 and 11
    boot: BootSpec | None = None  # a UEFI/GPT disk with ESP and recovery partition
    pki: TestPki | None = None  # the test PKI to sign with (None: a fresh one), shared with sample updates
    # SOFTWARE Component Based Servicing\Version: the servicing stack versions CBS can run (none: no key)
    servicing_stack_versions: list[str] = field(default_factory=list)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _merged(name: str) -> dict[str, Any]:
    """A scenario file, with `extends = "other"` merging the other file underneath
    (lists of tables such as [[package]] appended, tables merged, other values replaced)."""
    data = tomllib.loads((SCENARIOS / f"{name}.toml").read_text(encoding="utf-8"))
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    merged = _merged(base_name)
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            merged[key] = merged.get(key, []) + value
        elif isinstance(value, dict):
            merged[key] = merged.get(key, {}) | value
        else:
            merged[key] = value
    return merged


def _packages(entries: list[dict[str, Any]]) -> list[PackageSpec]:
    return [PackageSpec(**(p | {"signed": _utc(p["signed"]), "installed": _utc(p["installed"])})) for p in entries]


def _signers(entries: dict[str, dict[str, Any]]) -> dict[str, SignerSpec]:
    return {
        key: SignerSpec(v["name"], _utc(v["not_before"]), _utc(v["not_after"]), v.get("lifetime", False))
        for key, v in entries.items()
    }


def _base(build: str, product_name: str) -> tuple[list[PackageSpec], dict[str, SignerSpec]]:
    """The packages and signers Windows' own image of `build` registers (none for a build without a base file)."""
    if build not in BASE_OF_BUILD:
        return [], {}
    data = tomllib.loads((BASES / f"{BASE_OF_BUILD[build]}.toml").read_text(encoding="utf-8"))
    edition = product_name.rsplit(" ", 1)[-1]  # the EditionID, as _software writes it
    entries = [p | {"identity": p["identity"].replace("{edition}", edition)} for p in data["package"]]
    return _packages(entries), _signers(data["signers"])


def load(name: str) -> Scenario:
    data = _merged(name)
    base_packages, base_signers = _base(data["build"], data["product_name"])
    return Scenario(
        name=name,
        description=data["description"],
        computer_name=data["computer_name"],
        product_name=data["product_name"],
        csd_version=data["csd_version"],
        build=data["build"],
        written=_utc(data["written"]),
        system_default=UserHiveSpec(**data.get("system_default", {})),
        default_template=UserHiveSpec(**data.get("default_template", {})),
        profiles=[Profile(**p) for p in data.get("profile", [])],
        signers=base_signers | _signers(data.get("signers", {})),
        packages=_packages(data.get("package", [])),
        base_packages=base_packages,
        root_in_image=data.get("root_in_image", True),
        disallowed=list(data.get("disallowed", [])),
        image_state=data.get("image_state"),
        pending=list(data.get("pending", [])),
        disabled_services=list(data.get("disabled_services", [])),
        wu_policy=dict(data.get("wu_policy", {})),
        logs=list(data.get("logs", [])),
        current_version=data.get("current_version", "6.1"),
        servicing_stack_versions=list(data.get("servicing_stack_versions", [])),
        boot=BootSpec(**data["boot"]) if "boot" in data else None,
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


def _software(s: Scenario, pki: TestPki | None, signers: dict[str, Identity]) -> bytes:
    root = Key("ROOT")
    current = r"Microsoft\Windows NT\CurrentVersion"
    root.set(current, Value.string("ProductName", s.product_name))
    root.set(current, Value.string("CSDVersion", s.csd_version))
    root.set(current, Value.string("CurrentVersion", s.current_version))
    root.set(current, Value.string("CurrentBuildNumber", s.build))
    root.set(current, Value.string("EditionID", s.product_name.rsplit(" ", 1)[-1]))
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
    cbs = rf"{CBS}\Packages"
    for package in [*s.base_packages, *s.packages]:
        if not package.registered:
            continue
        key = root.path(f"{cbs}\\{package.identity}")
        ticks = filetime(package.installed)
        location = package.install_location or f"\\\\?\\C:\\Windows\\SoftwareDistribution\\Download\\{package.kb}"
        key.values += [
            Value.dword("CurrentState", package.state),
            Value.dword("InstallTimeHigh", ticks >> 32),
            Value.dword("InstallTimeLow", ticks & 0xFFFFFFFF),
            Value.string("InstallName", f"{package.identity}.mum"),
            Value.string("InstallLocation", location),
            Value.string("InstallUser", "S-1-5-18"),
        ]
    for version in s.servicing_stack_versions:  # as Windows writes it: the value names the stack's WinSxS folder
        folder = rf"%SystemRoot%\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_{version}_none_0000000000000000"
        root.set(rf"{CBS}\Version", Value.string(version, folder, expand=True))
    if pki and s.root_in_image:
        thumbprint, blob = certificate_blob(pki.root.der)
        root.set(rf"Microsoft\SystemCertificates\ROOT\Certificates\{thumbprint}", Value.binary("Blob", blob))
    for key in s.disallowed:
        thumbprint, blob = certificate_blob(signers[key].der)
        root.set(rf"Microsoft\SystemCertificates\Disallowed\Certificates\{thumbprint}", Value.binary("Blob", blob))
    if s.boot and s.boot.winre_version:
        root.set(current, Value.string("WinREVersion", s.boot.winre_version))
    if s.image_state:
        root.set(r"Microsoft\Windows\CurrentVersion\Setup\State", Value.string("ImageState", s.image_state))
    for marker in ("RebootPending", "PackagesPending", "SessionsPending"):
        if marker in s.pending:
            root.path(rf"Microsoft\Windows\CurrentVersion\Component Based Servicing\{marker}")
    policy = r"Policies\Microsoft\Windows\WindowsUpdate"
    for name, data in s.wu_policy.items():
        key = rf"{policy}\AU" if name == "UseWUServer" else policy
        root.set(key, Value.dword(name, data) if isinstance(data, int) else Value.string(name, str(data)))
    hive = build_hive(root, r"\SystemRoot\System32\Config\SOFTWARE", s.written)
    return _damaged(hive, s.software_damage)


def certificate_blob(der: bytes) -> tuple[str, bytes]:
    """(thumbprint, Blob value) of a certificate in a SystemCertificates store: its SHA-1 hash property and its DER."""
    thumbprint = hashlib.sha1(der).hexdigest().upper()
    return thumbprint, _blob_property(0x03, bytes.fromhex(thumbprint)) + _blob_property(0x20, der)


def _blob_property(prop_id: int, data: bytes) -> bytes:
    """One property of a SystemCertificates Blob value: id, reserved 1, length, data."""
    return struct.pack("<III", prop_id, 1, len(data)) + data


def _system(s: Scenario) -> bytes:
    root = Key("ROOT")
    root.set("Select", Value.dword("Current", 1))
    root.set("Select", Value.dword("Default", 1))
    root.set(r"ControlSet001\Control\ComputerName\ComputerName", Value.string("ComputerName", s.computer_name))
    for service, start in (("wuauserv", 3), ("BITS", 3), ("TrustedInstaller", 3)):
        disabled = service in s.disabled_services
        root.set(rf"ControlSet001\Services\{service}", Value.dword("Start", 4 if disabled else start))
    if s.boot:
        servicing = r"ControlSet001\Control\SecureBoot\Servicing"
        root.path(servicing)
        if s.boot.ca2023_status is not None:
            root.set(servicing, Value.string("UEFICA2023Status", s.boot.ca2023_status))
        if s.boot.ca2023_capable is not None:
            root.set(servicing, Value.dword("WindowsUEFICA2023Capable", s.boot.ca2023_capable))
    if "renames" in s.pending:
        renames = "\\??\\C:\\Windows\\winsxs\\Temp\\PendingRenames\\a.dll\0\0"
        root.set(
            r"ControlSet001\Control\Session Manager",
            Value("PendingFileRenameOperations", REG_MULTI_SZ, (renames + "\0").encode("utf-16-le")),
        )
    return build_hive(root, r"\SystemRoot\System32\Config\SYSTEM", s.written)


def _components(s: Scenario) -> bytes:
    root = Key("ROOT")
    root.path(r"CanonicalData\Deployments")
    return build_hive(root, r"\SystemRoot\System32\Config\COMPONENTS", s.written)


def volume_files(s: Scenario) -> dict[str, bytes]:
    """Every file of the scenario's Windows volume, keyed by its path with forward slashes."""
    packages = [*s.base_packages, *s.packages]
    pki = s.pki or (make_pki() if packages else None)
    # one certificate per signer, shared by its packages as on a real image
    signers = (
        {
            key: pki.signer(spec.name, spec.not_before.isoformat()[:19], spec.not_after.isoformat()[:19], spec.lifetime)
            for key, spec in s.signers.items()
        }
        if pki
        else {}
    )
    files = {
        f"{CONFIG}/SOFTWARE": _software(s, pki, signers),
        f"{CONFIG}/SYSTEM": _system(s),
        f"{CONFIG}/COMPONENTS": _components(s),
        f"{CONFIG}/DEFAULT": _user_hive(s.system_default, r"\SystemRoot\System32\Config\DEFAULT", s.written),
        "Users/Default/NTUSER.DAT": _user_hive(s.default_template, r"\??\C:\Users\Default\NTUSER.DAT", s.written),
        "Windows/System32/drivers/etc/hosts": b"127.0.0.1 localhost\r\n",
    }
    for profile in s.profiles:
        files[f"Users/{profile.name}/NTUSER.DAT"] = _user_hive(profile, f"\\??\\C:\\Users\\{profile.name}\\ntuser.dat", s.written)
    for package in packages:
        assert pki is not None
        files |= _package_files(s, package, pki, signers[package.signer])
    for story in s.logs:
        files |= STORIES[story](s)
    if "pending.xml" in s.pending:
        files["Windows/winsxs/pending.xml"] = b'<?xml version="1.0" encoding="utf-8"?><PendingTransaction Version="3.1"/>'
    if s.boot:
        from sample_images.uefi import windows_files

        files |= windows_files(s.boot)
    if s.image_state:  # Windows writes it as UTF-16 with a byte order mark
        files["Windows/Setup/State/State.ini"] = f"[State]\r\nImageState={s.image_state}\r\n".encode("utf-16")
    return files


CBS = r"Microsoft\Windows\CurrentVersion\Component Based Servicing"
MUM_TEMPLATE = """<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0">
  <assemblyIdentity name="{name}" version="{version}" language="{language}"
      processorArchitecture="{arch}" publicKeyToken="{token}"/>
  <package identifier="{identifier}" releaseType="{release_type}" restart="possible">{parent}
    <installerAssembly name="Microsoft-Windows-ServicingStack" version="6.0.0.0" language="neutral"
        processorArchitecture="{arch}" versionScope="nonSxS" publicKeyToken="{token}"/>{updates}
  </package>
</assembly>
"""
PARENT = """
    <parent buildCompare="EQ" integrate="separate" disposition="detect">
      <assemblyIdentity name="{name}" version="6.1.7601.17514"
          language="neutral" processorArchitecture="{arch}" publicKeyToken="{token}"/>
    </parent>"""
# what a servicing stack update's manifest installs (every package names the component in
# installerAssembly above, the version it needs; only an SSU updates it)
SSU_UPDATE = """
    <update name="{number}-1_neutral_GDR">
      <component>
        <assemblyIdentity name="Microsoft-Windows-ServicingStack" version="{stack_version}"
            processorArchitecture="{arch}" language="neutral" buildType="release" publicKeyToken="{token}"
            versionScope="nonSxS"/>
      </component>
    </update>"""


def _package_files(s: Scenario, package: PackageSpec, pki: TestPki, signer: Identity) -> dict[str, bytes]:
    if not package.files:
        return {}
    name, token, arch, language, version = package.identity.split("~")
    number = package.identifier.removeprefix("KB")
    updates = (
        SSU_UPDATE.format(number=number, arch=arch, token=token, stack_version=package.stack_version)
        if package.servicing_stack
        else ""
    )
    parent = PARENT.format(name=package.parent, arch=arch, token=token) if package.parent else ""
    mum = MUM_TEMPLATE.format(
        name=name,
        version=version,
        language=language or "neutral",
        arch=arch,
        token=token,
        identifier=package.identifier,
        release_type=package.release_type,
        parent=parent,
        updates=updates,
    ).encode()
    if package.mum_damage == "not-xml":
        mum = b"\x00\x01 this manifest was overwritten \xff\xfe"
    spec = s.signers[package.signer]
    tsa = {"good": pki.tsa_good, "no-eku": pki.tsa_no_eku}.get(package.timestamp)
    stamp = (tsa, package.signed) if tsa else None
    members = [] if package.catalog_damage == "no-members" else [mum]
    catalog = write_catalog(members, package.signed, signer, [pki.code_pca, pki.stamp_pca], stamp)
    catalog = _damaged_catalog(catalog, package.catalog_damage, spec.not_before)
    base = "Windows/servicing/Packages/" + package.identity
    files = {f"{base}.mum": mum, f"{base}.cat": catalog}
    if package.missing:
        del files[f"{base}{package.missing}"]
    if package.winsxs_copy:
        files[f"Windows/winsxs/Catalogs/{hashlib.sha256(catalog).hexdigest()}.cat"] = catalog
    if package.catroot_copy:
        files[f"Windows/System32/CatRoot/{{F750E6C3-38EE-11D1-85E5-00C04FC295EE}}/{package.identity}.cat"] = catalog
    return files


def _damaged_catalog(catalog: bytes, damage: str | None, not_before: datetime) -> bytes:
    if damage == "truncate":
        return catalog[: len(catalog) // 3]
    if damage == "text":
        return b"This catalog was replaced by a text file.\r\n" * 20
    if damage == "garbage-date":
        stamp = not_before.strftime("%y%m%d%H%M%SZ").encode()
        assert stamp in catalog
        return catalog.replace(stamp, b"9913" + stamp[4:], 1)  # month 13: not a date
    return catalog


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
