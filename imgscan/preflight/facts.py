"""The adapter between an image and the preflight engine: `ImageFacts`, and the one function that builds it.

The engine (`imgscan.preflight.verdict`, `order`) never reads an image: it sees exactly the facts below. Only
`from_artefacts` knows where each fact lives in today's `imgscan.artefacts.Artefacts`; when the artefact API
changes (typed kinds, `context.get(KIND)`), this function is what moves. A host's own facts (its free
space, firmware, network) replace the image's with `dataclasses.replace` on the same `ImageFacts`.

Where each fact comes from, and what "unknown" means:
- Windows version and build: SOFTWARE `Microsoft\\Windows NT\\CurrentVersion` (imgscan.os_version).
- Architecture: the current control set's `Session Manager\\Environment` PROCESSOR_ARCHITECTURE, else the
  architecture of the image's installed packages; None when neither says.
- Installed packages: SOFTWARE's CBS `Packages` joined with servicing\\Packages (imgscan.servicing), with
  the problems CheckSUR would report (missing or unlisted .mum/.cat) and broken states.
- SHA-2 support, servicing stack updates, ESU licensing: imgscan.servicing_levels over those packages
  (the KBs and their Microsoft sources are in imgscan/data/windows7_servicing.toml).
- Servicing stack version: SOFTWARE `Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Version` (its
  highest value name: the stack CBS runs), else the Microsoft-Windows-ServicingStack version the newest installed
  servicing stack update's .mum installs, else, with no servicing stack update installed, the version of the
  Foundation package (the build Windows was installed with); () when none says (imgscan/data/servicing_stacks.toml).
- Pending operations: the `pending` artefact kind (pending.xml, PendingFileRenameOperations, CBS markers).
- Free space on the Windows volume: the NTFS $Bitmap of the partition that holds Windows; None for a
  WIM or a directory, which have no volume of their own (never a guess).
- Service start types: the current control set's `Services\\<name>\\Start`.
- Accounts whose WinTrust State rejects an offline revocation server: the user hives (imgscan.wintrust).
- Catalog judge: imgscan.signing.validity.Judge built from the image's own ROOT/AuthRoot/Disallowed stores and
  its Advisory 2749655 mitigation, the same judge a scan uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from imgscan.numerals import dotted_version
from imgscan.preflight.manifest import Identity
from imgscan.preflight.stackdata import stack_data
from imgscan.servicing import STATES
from imgscan.servicing_levels import kb_number

if TYPE_CHECKING:
    from imgscan.artefacts import Artefacts
    from imgscan.hives import Hive
    from imgscan.servicing import Package
    from imgscan.signing.catalog import Catalog
    from imgscan.signing.validity import Verdict

SERVICES = ("wuauserv", "TrustedInstaller")  # what WUSA needs: the Windows Update service and the Windows Modules Installer
START_TYPES = {0: "boot", 1: "system", 2: "automatic", 3: "manual", 4: "disabled"}
BROKEN_STATES = {s for s in STATES if s >= 0xFFFFFF00}
FOUNDATION = "microsoft-windows-foundation-package~"  # Windows' own base package: its version is the installed build
ARCHITECTURES = {"amd64": "amd64", "x86": "x86", "ia64": "ia64", "arm64": "arm64"}


class CatalogJudge(Protocol):
    """Judges a catalog's signature as WinVerifyTrust would on the image (imgscan.signing.validity.Judge)."""

    def judge(self, catalog: Catalog) -> Verdict: ...


@dataclass(frozen=True)
class InstalledPackage:
    identity: Identity
    cbs_identity: str  # as registered, for evidence
    state: str  # "Installed", "Superseded", "Staged", "Installed (broken)", ...
    installed: bool
    kb: str | None
    store_problems: tuple[str, ...] = ()  # "CBS MUM Missing: ...", "Installed (broken)", ...
    path: str = ""  # where the evidence is: its .mum, or its registration


@dataclass(frozen=True)
class Service:
    name: str
    start: int | None  # the Start value; None when the service key or value is missing
    path: str

    @property
    def disabled(self) -> bool:
        return self.start == 4

    @property
    def start_type(self) -> str:
        return "not configured" if self.start is None else START_TYPES.get(self.start, f"unknown ({self.start})")


@dataclass(frozen=True)
class ImageFacts:
    """Everything the preflight verdicts depend on, and nothing else."""

    windows_version: str | None  # "6.1"
    build: int | None  # 7601
    product: str | None  # "Windows 7 Enterprise Service Pack 1 (build 7601)", for messages
    architecture: str | None  # "amd64", "x86"; None: unknown
    architecture_source: str
    packages: tuple[InstalledPackage, ...]
    sha2_support: str | None  # the installed SHA-2 code signing support update (KB4474419), None: missing
    ssus: tuple[str, ...]  # installed servicing stack updates of March 2019 or later, oldest first
    esu_licensing: str | None  # the installed ESU Licensing Preparation Package, None: missing
    pending: tuple[str, ...]  # pending servicing operations, one line of evidence each
    free_bytes: int | None  # free on the Windows volume; None: the image cannot say
    free_bytes_source: str  # where it was read, or why it is unknown
    services: tuple[Service, ...]
    judge: CatalogJudge = field(compare=False, repr=False)
    eku_mitigation: str | None = None  # KB2749655/KB2756872 when installed: it changes catalog verdicts
    servicing_stack: tuple[int, ...] = ()  # the servicing stack version the image runs; (): unknown
    servicing_stack_source: str = ""  # where it was read (a registry value or a .mum): the evidence
    servicing_stack_basis: str = "not read"  # how that says it, or why it is unknown
    all_ssus: tuple[str, ...] = ()  # installed servicing stack updates of any release, oldest KB first
    # who meets 0x800B010E while revocation servers cannot be reached: accounts whose WinTrust State rejects an
    # offline revocation server (imgscan.wintrust), as Account.affected words it
    offline_revocation: tuple[str, ...] = ()

    @property
    def is_windows7_sp1(self) -> bool:
        return self.windows_version == "6.1" and self.build == 7601

    @property
    def has_sha2_support(self) -> bool:
        return self.sha2_support is not None and bool(self.ssus)

    def installed(self) -> tuple[InstalledPackage, ...]:
        return tuple(p for p in self.packages if p.installed)


def from_artefacts(art: Artefacts) -> ImageFacts:
    """The facts of an image as today's artefact kinds hold them (the one place that knows where they live)."""
    from imgscan.artefacts import CATALOGS, MACHINE_HIVES, PACKAGES, PENDING, SIGNATURE_JUDGE
    from imgscan.artefacts.catalog_set import store_problems
    from imgscan.servicing_levels import is_ssu, servicing_level

    packages = art.get(PACKAGES).packages
    catalogs = art.get(CATALOGS).catalogs
    installed = tuple(_installed_package(p, store_problems(p, catalogs) if p.installed else []) for p in packages)
    level = servicing_level(packages)
    os = art.get(MACHINE_HIVES).os_version
    architecture, source = _architecture(art, installed)
    free, free_source = _free_space(art)
    stack, stack_source, stack_basis = _servicing_stack(art.get(MACHINE_HIVES).software, packages)
    return ImageFacts(
        windows_version=os.version if os else None,
        build=os.build if os else None,
        product=os.name if os else None,
        architecture=architecture,
        architecture_source=source,
        packages=tuple(p for p in installed if p is not None),
        sha2_support=level.sha2_support,
        ssus=level.ssus,
        esu_licensing=level.esu_licensing,
        pending=tuple(_pending_line(e) for e in art.get(PENDING).evidence),
        free_bytes=free,
        free_bytes_source=free_source,
        services=_services(art),
        judge=art.get(SIGNATURE_JUDGE),
        eku_mitigation=art.get(PACKAGES).mitigation,
        servicing_stack=stack,
        servicing_stack_source=stack_source,
        servicing_stack_basis=stack_basis,
        all_ssus=tuple(sorted({p.kb for p in packages if p.installed and p.kb and is_ssu(p)}, key=kb_number)),
        offline_revocation=_offline_revocation(art),
    )


def _offline_revocation(art: Artefacts) -> tuple[str, ...]:
    """Who a WinTrust State that rejects an offline revocation server affects, one entry per account."""
    from imgscan.artefacts import USER_HIVES
    from imgscan.wintrust import TrustState, as_dword

    found = []
    for user in art.get(USER_HIVES).hives:
        raw = None if user.wintrust.data is None else as_dword(user.wintrust.data)
        if raw is not None and TrustState(raw).rejects_offline_revocation:
            found.append(f"{user.account.affected} (State 0x{raw:x} in {user.path})")
    return tuple(found)


def _installed_package(package: Package, problems: list[tuple[str, str]]) -> InstalledPackage | None:
    """The package as the engine sees it (None: an identity that is not name~token~arch~language~version)."""
    parts = package.identity.split("~")
    if len(parts) != 5:
        return None
    name, token, arch, language, version = parts
    identity = Identity(name, dotted_version(version), arch, language or "neutral", token)
    lines = [f"{kind}: {what}" for kind, what in problems]
    if package.state in BROKEN_STATES:
        lines.append(f"state {package.state_name}")
    return InstalledPackage(
        identity=identity,
        cbs_identity=package.identity,
        state=package.state_name,
        installed=package.installed,
        kb=package.kb,
        store_problems=tuple(lines),
        path=package.mum_path
        or rf"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages\{package.identity}",
    )


def _servicing_stack(software: Hive | None, packages: list[Package]) -> tuple[tuple[int, ...], str, str]:
    """The servicing stack version the image runs as Windows knows it, where that was read, and how it says so."""
    key = stack_data().image_key
    names = software.values(found) if software is not None and (found := software.key(key)) is not None else None
    versions = [(dotted_version(name), name) for name in names or {}]
    if any(v for v, _ in versions):
        version, name = max(versions)
        return version, rf"SOFTWARE\{key}\{name}", "the highest stack the registry names, the one CBS runs"
    ssus = [(dotted_version(p.servicing_stack_version), p) for p in packages if p.installed and p.servicing_stack_version]
    if any(v for v, _ in ssus):
        version, ssu = max(((v, p) for v, p in ssus if v), key=lambda found: found[0])
        return version, ssu.mum_path or ssu.identity, f"what the newest installed servicing stack update, {ssu.kb}, installs"
    foundation = [p for p in packages if p.installed and p.identity.lower().startswith(FOUNDATION)]
    if foundation:
        base = max(foundation, key=lambda p: dotted_version(p.identity.split("~")[-1]))
        return (
            dotted_version(base.identity.split("~")[-1]),
            base.mum_path or base.identity,
            "no servicing stack update is installed: the stack of the build Windows was installed with",
        )
    return (), rf"SOFTWARE\{key}", "neither the registry, an installed servicing stack update nor the Foundation package says"


def _architecture(art: Artefacts, packages: tuple[InstalledPackage | None, ...]) -> tuple[str | None, str]:
    system = _system(art)
    control_set = system.control_set() if system else None
    if system is not None and control_set is not None:
        key = rf"{control_set}\Control\Session Manager\Environment"
        value = system.value(key, "PROCESSOR_ARCHITECTURE")
        if isinstance(value, str) and value.lower() in ARCHITECTURES:
            return ARCHITECTURES[value.lower()], rf"SYSTEM\{key} PROCESSOR_ARCHITECTURE = {value}"
    arches = Counter(p.identity.arch.lower() for p in packages if p and p.installed and p.identity.arch.lower() in ARCHITECTURES)
    if arches:
        arch, count = arches.most_common(1)[0]
        return arch, f"{count} of the image's installed packages are {arch} (PROCESSOR_ARCHITECTURE not set)"
    return None, "neither PROCESSOR_ARCHITECTURE nor an installed package says"


def _free_space(art: Artefacts) -> tuple[int | None, str]:
    windows = next((p for p in art.partitions if p.role == "windows"), None)
    if windows is None and art.container == "raw-volume":  # the image is the Windows volume itself
        return _volume_free(art)
    if windows is None:
        return None, f"unknown: a {art.container or 'container'} has no Windows partition of its own to measure"
    if windows.free_bytes is None:
        return None, f"unknown: {windows.problem or 'the Windows partition file system does not say'}"
    return windows.free_bytes, f"partition {windows.number} ({windows.filesystem}) allocation map"


def _volume_free(art: Artefacts) -> tuple[int | None, str]:
    """A bare volume image's free space, from its own allocation map (no partition table holds it)."""
    from imgscan.image.partitions import read_free

    fs = getattr(art.volume, "_fs", None)
    free, problem = read_free(fs) if fs is not None else (None, None)
    if problem:
        return None, f"unknown: {problem}"
    if free is None:
        return None, "unknown: the volume's file system does not say"
    return free, "the volume's own allocation map (the image is the Windows volume)"


def _services(art: Artefacts) -> tuple[Service, ...]:
    system = _system(art)
    control_set = system.control_set() if system else None
    if system is None or control_set is None:
        return ()
    found = []
    for name in SERVICES:
        key = rf"{control_set}\Services\{name}"
        start = system.value(key, "Start")
        found.append(Service(name, start if isinstance(start, int) else None, rf"SYSTEM\{key}"))
    return tuple(found)


def _system(art: Artefacts) -> Hive | None:
    from imgscan.artefacts import MACHINE_HIVES

    return art.get(MACHINE_HIVES).system


def _pending_line(evidence: Mapping[str, object]) -> str:
    detail = evidence.get("marker") or evidence.get("value")
    return f"{evidence.get('path')}: {detail}" if detail else str(evidence.get("path"))
