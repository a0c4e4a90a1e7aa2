"""The kinds of one opened image, each loaded the first time something asks for it and kept.

`Artefacts` holds the opened image (volume, partitions, container), the scan's settings and the values
of the kinds loaded so far. A kind's `load` gets a `KindLoader`: the same image and settings, but only
the kinds it declares in `requires`, so every dependency between kinds is written down. The scan loads
the kinds its checks need (`load`), and reports the errors and inventory sections of those it loaded,
in registry order; it names none of them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from imgscan.interrupt import doing
from imgscan.kinds import ErrorList, Kind, KindRegistry, Section
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget

if TYPE_CHECKING:
    from collections.abc import Iterable

    from imgscan.image import OpenedImage
    from imgscan.image.partitions import Partition
    from imgscan.image.volume import WindowsVolume
    from imgscan.signing.firmware_db import SignatureDatabase
    from imgscan.signing.verdict_cache import VerdictCache

T = TypeVar("T")


class Artefacts:
    """The artefacts of one opened image as of one day: each registered kind, loaded when first asked for."""

    def __init__(
        self,
        image: OpenedImage,
        registry: KindRegistry,
        as_of: date,
        horizon_days: int = 365,
        *,
        jobs: int | None = 1,
        verdict_cache: VerdictCache | None = None,
        target_firmware: FirmwareTarget = UNKNOWN,
        target_dbx: SignatureDatabase | None = None,
    ) -> None:
        self.image = image  # its volume, partitions and container: everything the kinds read comes from it
        self.registry = registry  # the kinds it may load, in the order it loads them
        self.target_firmware = target_firmware  # what the hosts' Secure Boot db holds
        self.target_dbx = target_dbx  # the hosts' Secure Boot dbx, when given: what their firmware revokes
        self.as_of = as_of
        self.horizon_days = horizon_days
        self.jobs = jobs  # processes that judge catalogs (None: as many as cores, for a large image)
        self.verdict_cache = verdict_cache  # a fleet's catalogs judged by earlier hosts
        self._values: dict[Kind[Any], Any] = {}

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

    @property
    def horizon_end(self) -> date:
        """The last day --horizon looks ahead to: failures starting after it are not reported."""
        return self.as_of + timedelta(days=self.horizon_days)

    def get(self, kind: Kind[T]) -> T:
        """The kind's value, loaded now if it was not yet."""
        if kind not in self._values:
            if kind not in self.registry:
                raise LookupError(f"kind {kind.name!r} is not registered")
            with doing(kind.reading or f"reading {kind.name}"):
                self._values[kind] = kind.load(KindLoader(self, kind))
        return cast(T, self._values[kind])

    def preload(self, kind: Kind[T], value: T) -> None:
        """Hand in a kind already at hand (tests and tools that hold a hive or a log set)."""
        self._values[kind] = value

    def load(self, kinds: Iterable[Kind[Any]]) -> None:
        """Load these kinds and those they require, in registry order (a scan's reads, up front)."""
        for kind in self.registry.closure(kinds):
            self.get(kind)

    @property
    def loaded(self) -> list[Kind[Any]]:
        """The kinds read so far, in registry order."""
        return [kind for kind in self.registry.kinds if kind in self._values]

    def absent(self, kind: Kind[Any]) -> str | None:
        """Why a check that needs this kind has nothing to judge (None: the kind is present)."""
        if kind.present(self.get(kind)):
            return None
        reason = kind.absent
        return reason(KindLoader(self, kind)) if callable(reason) else reason

    def errors(self) -> ErrorList:
        """Files the loaded kinds could not use, kind by kind, then directories the volume could not list."""
        found = [entry for kind in self.loaded for entry in kind.errors(self._values[kind])]
        return found + list(getattr(self.volume, "problems", []))

    def inventory(self) -> Section:
        """The loaded kinds' inventory sections in registry order; two kinds that fill one section (the
        machine and the user hives) add to it in that order."""
        sections: Section = {}
        for kind in self.loaded:
            if kind.inventory is None:
                continue
            for name, section in kind.inventory(self._values[kind], self).items():
                earlier = sections.get(name)
                sections[name] = earlier + section if isinstance(earlier, list) and isinstance(section, list) else section
        return sections


class KindLoader:
    """What one kind's `load` reads: the image and settings of the scan, and the kinds it requires."""

    def __init__(self, artefacts: Artefacts, kind: Kind[Any]) -> None:
        self._artefacts = artefacts
        self._kind = kind

    @property
    def volume(self) -> WindowsVolume:
        return self._artefacts.volume

    @property
    def partitions(self) -> list[Partition]:
        return self._artefacts.partitions

    @property
    def container(self) -> str:
        return self._artefacts.container

    @property
    def as_of(self) -> date:
        return self._artefacts.as_of

    @property
    def jobs(self) -> int | None:
        return self._artefacts.jobs

    @property
    def verdict_cache(self) -> VerdictCache | None:
        return self._artefacts.verdict_cache

    def get(self, kind: Kind[T]) -> T:
        if kind not in self._kind.requires:
            raise LookupError(f"kind {self._kind.name!r} reads kind {kind.name!r} without naming it in `requires`")
        return self._artefacts.get(kind)
