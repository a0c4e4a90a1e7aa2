"""A kind of artefact as an object: what it reads from the image, how, from which other kinds, what its
absence means, and the inventory section and errors it reports.

Checks name the kinds they read (`needs = (CATALOGS, PACKAGES)`) and get each value typed
(`context.get(CATALOGS) -> CatalogSet`), so a typo is an import error, not a silent skip. The built-in
kinds are `imgscan.artefacts` (one module each); a `--plugins` file or an `imgscan.plugins` entry point
adds its own by defining a `Kind` at module level. A `KindRegistry` keeps them in the order a scan loads
them and reports their errors and inventory sections; the WIM backend extracts the union of their paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from imgscan.context import ScanContext
    from imgscan.image.partitions import Partition
    from imgscan.image.volume import WindowsVolume
    from imgscan.signing.verdict_cache import VerdictCache

T = TypeVar("T")
Section = dict[str, object]  # one or more report inventory sections by name
ErrorList = list[dict[str, str]]  # report `errors` entries: {"path", "message"}


@dataclass(frozen=True)
class LoadSettings:
    """How the kinds are read: settings that change the time a read takes, never what it finds (no as-of
    day, horizon or firmware target: those are the scan context's, applied when a read is judged)."""

    jobs: int | None = 1  # processes that judge catalogs (None: as many as cores, for a large image)
    verdict_cache: VerdictCache | None = None  # a fleet's catalogs judged by earlier hosts


class Loader(Protocol):
    """What a kind's `load` gets: the opened image, the load settings, and the kinds it `requires`."""

    @property
    def volume(self) -> WindowsVolume: ...

    @property
    def partitions(self) -> list[Partition]: ...

    @property
    def container(self) -> str:
        """The image's format ("vhdx", "wim", "directory", ...): what an absence means."""
        ...

    @property
    def settings(self) -> LoadSettings: ...

    def get(self, kind: Kind[T]) -> T: ...


class InventoryContext(Protocol):
    """What a kind's `inventory` gets besides its value: the scan context the read is judged under (its
    stamps: a catalog's state on the as-of day, the logs up to it) and the other kinds (a package's
    validity is read from the catalogs)."""

    @property
    def scan(self) -> ScanContext: ...

    def get(self, kind: Kind[T]) -> T: ...


def no_errors(value: object) -> ErrorList:
    return []


@dataclass(frozen=True, eq=False)
class Kind(Generic[T]):
    """One kind of artefact. Compared by identity: two kinds with one name cannot both be registered."""

    name: str
    paths: tuple[str, ...]  # globs from the volume root; the WIM backend extracts the union of every kind's
    load: Callable[[Loader], T]
    requires: tuple[Kind[Any], ...] = ()  # the kinds `load` may get (and only those)
    # what the kind's absence means, in words (the inventory's "skipped" reason of a check that needs it);
    # a function when it depends on the image (partitions: the container)
    absent: str | Callable[[Loader], str] = ""
    present: Callable[[T], bool] = bool
    inventory: Callable[[T, InventoryContext], Section] | None = None  # its report inventory section(s)
    errors: Callable[[T], ErrorList] = no_errors  # files it could not use, as report `errors` entries
    reading: str = ""  # what loading it is, for an interrupted scan's message ("reading the catalogs")

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"


class KindRegistry:
    """The kinds a scan may load, in the order it loads them and reports their errors and inventory."""

    def __init__(self, kinds: Iterable[Kind[Any]] = ()) -> None:
        self.kinds: list[Kind[Any]] = []
        for kind in kinds:
            self.register(kind)

    def register(self, kind: Kind[Any]) -> None:
        """Add a kind (again registering the same object changes nothing); a second kind with a taken name,
        or one that requires an unregistered kind, is refused (ValueError, one line)."""
        if kind in self.kinds:
            return
        if any(k.name == kind.name for k in self.kinds):
            raise ValueError(f"kind {kind.name!r} is already registered by another module")
        unknown = [r.name for r in kind.requires if r not in self.kinds]
        if unknown:
            raise ValueError(f"kind {kind.name!r} requires kind(s) no module registers: {', '.join(unknown)}")
        self.kinds.append(kind)

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds

    def closure(self, kinds: Iterable[Kind[Any]]) -> list[Kind[Any]]:
        """These kinds and every kind they require, directly or not, in registry order."""
        wanted: set[Kind[Any]] = set()
        todo = list(kinds)
        while todo:
            kind = todo.pop()
            if kind not in wanted:
                wanted.add(kind)
                todo.extend(kind.requires)
        return [k for k in self.kinds if k in wanted]

    def paths(self) -> tuple[str, ...]:
        """Every path any registered kind reads: what the WIM backend extracts (no second list exists)."""
        return tuple(dict.fromkeys(path for kind in self.kinds for path in kind.paths))
