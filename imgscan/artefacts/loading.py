"""The kinds of one opened image, each loaded the first time something asks for it and kept.

`Artefacts` holds the opened image (volume, partitions, container), the load settings and the values
of the kinds loaded so far: what was read, and nothing else (no as-of day, horizon or firmware target:
a read is judged under a scan context, `imgscan.check.CheckContext`, so one read serves every as-of
day and every host). A kind's `load` gets a `KindLoader`: the same image and settings, but only
the kinds it declares in `requires`, so every dependency between kinds is written down. The scan loads
the kinds its checks need (`load`), and reports the errors and inventory sections of those it loaded,
in registry order; it names none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from imgscan.artefacts.lacking import EVERY_WINDOWS_HAS, lacking, lacking_note
from imgscan.interrupt import doing
from imgscan.kinds import ErrorList, InventoryContext, Kind, KindRegistry, LoadSettings, Section

if TYPE_CHECKING:
    from collections.abc import Iterable

    from imgscan.image import OpenedImage
    from imgscan.image.partitions import Partition
    from imgscan.image.volume import WindowsVolume

T = TypeVar("T")


class Artefacts:
    """The artefacts of one opened image: each registered kind, loaded when first asked for and kept."""

    def __init__(self, image: OpenedImage, registry: KindRegistry, settings: LoadSettings | None = None) -> None:
        self.image = image  # its volume, partitions and container: everything the kinds read comes from it
        self.registry = registry  # the kinds it may load, in the order it loads them
        self.settings = settings or LoadSettings()  # how to read (worker processes, a fleet's verdict cache)
        self._values: dict[Kind[Any], Any] = {}
        self._absent: dict[Kind[Any], str | None] = {}  # by kind: a read judged many times answers once

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
        self._absent.pop(kind, None)

    def load(self, kinds: Iterable[Kind[Any]]) -> None:
        """Load these kinds and those they require, in registry order (a scan's reads, up front)."""
        for kind in self.registry.closure(kinds):
            self.get(kind)

    @property
    def loaded(self) -> list[Kind[Any]]:
        """The kinds read so far, in registry order."""
        return [kind for kind in self.registry.kinds if kind in self._values]

    def absent(self, kind: Kind[Any]) -> str | None:
        """Why a check that needs this kind has nothing to judge (None: the kind is present). On a triage
        collection, a kind none of whose declared paths was collected is absent even when another kind names
        what they would hold (installed packages): their absence is the collector's, not the host's. It
        depends on the read alone, so it is worked out once per kind (a fleet judges a read per host setting)."""
        if kind not in self._absent:
            self._absent[kind] = self._why_absent(kind)
        return self._absent[kind]

    def _why_absent(self, kind: Kind[Any]) -> str | None:
        missing = lacking(self.container, self.volume, kind.paths)
        if kind.paths and len(missing) == len(kind.paths):  # not collected: what the image holds there is unknown
            return f"the collection holds none of {', '.join(missing)}"
        if kind.present(self.get(kind)):
            return None
        reason = kind.absent
        return (reason(KindLoader(self, kind)) if callable(reason) else reason) + lacking_note(missing)

    def collection_lacks(self) -> list[str]:
        """On a triage collection, the declared paths of the kinds every Windows has that it holds nothing
        of: the collection is partial (empty for a disk image, a WIM or a directory)."""
        return [
            path for kind in EVERY_WINDOWS_HAS if self.absent(kind) for path in lacking(self.container, self.volume, kind.paths)
        ]

    def errors(self) -> ErrorList:
        """Files the loaded kinds could not use, kind by kind, then directories the volume could not list."""
        found = [entry for kind in self.loaded for entry in kind.errors(self._values[kind])]
        return found + list(getattr(self.volume, "problems", []))

    def inventory(self, context: InventoryContext) -> Section:
        """The loaded kinds' inventory sections in registry order, stamped under the scan context the read
        is judged under; two kinds that fill one section (the machine and the user hives) add to it in
        that order."""
        sections: Section = {}
        for kind in self.loaded:
            if kind.inventory is None:
                continue
            for name, section in kind.inventory(self._values[kind], context).items():
                earlier = sections.get(name)
                sections[name] = earlier + section if isinstance(earlier, list) and isinstance(section, list) else section
        return sections


class KindLoader:
    """What one kind's `load` reads: the image, the load settings, and the kinds it requires."""

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
    def settings(self) -> LoadSettings:
        return self._artefacts.settings

    def get(self, kind: Kind[T]) -> T:
        if kind not in self._kind.requires:
            raise LookupError(f"kind {self._kind.name!r} reads kind {kind.name!r} without naming it in `requires`")
        return self._artefacts.get(kind)
