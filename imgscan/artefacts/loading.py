"""What a kind's `load` gets: the opened image (volume, partitions, container), the scan's settings, and
the kinds a kind reads from (SOFTWARE and SYSTEM, the packages, the image's signature judge).

`ArtefactLoader` loads each kind the first time something asks for it and keeps it. It names no kind's
value type, so the kind modules can name it without an import cycle; `Artefacts` (the package) adds the
views the checks read.
"""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any

from imgscan.hives import Hive
from imgscan.interrupt import doing
from imgscan.os_version import OsVersion, read_os_version
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget

if TYPE_CHECKING:
    from imgscan.image import OpenedImage
    from imgscan.image.partitions import Partition
    from imgscan.image.volume import WindowsVolume
    from imgscan.servicing import Package
    from imgscan.signing.firmware_db import SignatureDatabase
    from imgscan.signing.validity import Judge
    from imgscan.signing.verdict_cache import VerdictCache

# in the order a full scan loads them (and reports their errors)
KINDS = ("machine_hives", "user_hives", "packages", "catalogs", "logs", "setup_state", "pending", "partitions", "boot")
# what loading each kind is, for the message of an interrupted scan ("reading the catalogs of golden.wim")
READING = {
    "machine_hives": "reading the machine hives",
    "user_hives": "reading the profiles' hives",
    "packages": "reading the servicing packages",
    "catalogs": "reading the catalogs",
    "logs": "reading the update logs",
    "setup_state": "reading the Windows Setup state",
    "pending": "reading pending servicing operations",
    "partitions": "reading the partitions",
    "boot": "reading the boot files",
}


def kind_module(name: str) -> ModuleType:
    return importlib.import_module(f"imgscan.artefacts.{name}")


def wanted_paths() -> tuple[str, ...]:
    """Every path any kind reads: what the WIM backend extracts (no second list exists)."""
    return tuple(dict.fromkeys(path for name in KINDS for path in kind_module(name).PATHS))


class ArtefactLoader:
    """The kinds of one opened image as of one day, each loaded when first asked for."""

    def __init__(
        self,
        image: OpenedImage,
        as_of: date,
        horizon_days: int = 365,
        *,
        jobs: int | None = 1,
        verdict_cache: VerdictCache | None = None,
        target_firmware: FirmwareTarget = UNKNOWN,
        target_dbx: SignatureDatabase | None = None,
    ) -> None:
        self.image = image  # its volume, partitions and container: everything the kinds read comes from it
        self.target_firmware = target_firmware  # what the hosts' Secure Boot db holds
        self.target_dbx = target_dbx  # the hosts' Secure Boot dbx, when given: what their firmware revokes
        self._judge: Judge | None = None
        self.as_of = as_of
        self.horizon_days = horizon_days
        self.jobs = jobs  # processes that judge catalogs (None: as many as cores, for a large image)
        self.verdict_cache = verdict_cache  # a fleet's catalogs judged by earlier hosts
        self._kinds: dict[str, Any] = {}

    @property
    def volume(self) -> WindowsVolume:
        return self.image.volume

    @property
    def partitions(self) -> list[Partition]:
        """A disk image's partitions (none for a WIM or a tree)."""
        return self.image.partitions

    @property
    def container(self) -> str:
        """The image's format ("vhdx", "wim", "directory", ...): what an absence means."""
        return self.image.info.format

    def preload(self, name: str, value: Any) -> None:
        """Hand in a kind already at hand (tests and tools that hold a hive or a log set)."""
        self._kinds[name] = value

    def kind(self, name: str) -> Any:
        if name not in self._kinds:
            with doing(READING.get(name, f"reading {name}")):
                self._kinds[name] = kind_module(name).load(self)
        return self._kinds[name]

    def judge(self) -> Judge:
        """The image's signature judge (its trust stores and mitigations), built once for catalogs and boot files."""
        if self._judge is None:
            from imgscan.signing.certs import CertCache
            from imgscan.signing.trust_store import build_store
            from imgscan.signing.validity import Judge

            cache = CertCache()
            self._judge = Judge(build_store(cache, self.software), cache, self.mitigation)
        return self._judge

    def absent(self, name: str) -> str | None:
        """Why a check that needs this kind has nothing to judge (None: the kind is present)."""
        if name not in KINDS:
            return f"it needs an artefact kind imgscan does not know ({name!r}; known: {', '.join(KINDS)})"
        if self.kind(name):
            return None
        reason = kind_module(name).ABSENT  # a sentence, or a function of the artefacts (partitions: the container)
        return reason(self) if callable(reason) else str(reason)

    def load_all(self) -> None:
        for name in KINDS:
            self.kind(name)

    @property
    def horizon_end(self) -> date:
        """The last day --horizon looks ahead to: failures starting after it are not reported."""
        return self.as_of + timedelta(days=self.horizon_days)

    @property
    def software(self) -> Hive | None:
        return self.kind("machine_hives").software

    @property
    def system(self) -> Hive | None:
        return self.kind("machine_hives").system

    @property
    def components(self) -> Hive | None:
        return self.kind("machine_hives").components

    @property
    def packages(self) -> list[Package]:
        return self.kind("packages").packages

    @property
    def mitigation(self) -> str | None:
        return self.kind("packages").mitigation

    @cached_property
    def os_version(self) -> OsVersion | None:
        return read_os_version(self.software)
