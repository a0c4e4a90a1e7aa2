"""One update package (.msu or update .cab), read into memory from a private temporary folder.

An `.msu` is a cabinet holding the update's own cabinet (`Windows6.1-KBnnnnnnn-x64.cab`), `WSUSSCAN.cab`
(Windows Update's applicability metadata), `*-pkgProperties.txt` and an unattend `.xml`; the update cabinet
holds `update.mum` and `package_*.mum` manifests, their `.cat` catalogs and the payload. Packages of the
Windows 6.0/6.1 era may also carry `_manifest_.cix.xml`: a container index whose files are stored raw or as
PA30 deltas (numbered members); a delta cannot be expanded without the file it was made against, so such a
manifest or catalog is named as unreadable, not guessed (../shared/domain.md, "Update packages").

Everything is expanded by cabextract into a folder made with mode 0700 in the system temp, never next to
the input, and removed when reading ends, also on errors, Ctrl-C and SIGTERM (imgscan.interrupt).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from defusedxml import ElementTree

from imgscan.errors import XML_ERRORS
from imgscan.hashing import file_sha256
from imgscan.interrupt import deferred, doing
from imgscan.numerals import ascii_int
from imgscan.preflight.cabinet import Member, UpdateUnreadable, expand, file_signature, list_members
from imgscan.preflight.manifest import Manifest, ManifestError, parse_manifest
from imgscan.signing.cab_signature import CabSignature
from imgscan.signing.catalog import Catalog, CatalogError, parse_catalog
from imgscan.signing.certs import CertCache

CIX = "_manifest_.cix.xml"
CIX_NS = "{urn:ContainerIndex}"
IGNORED_CABINETS = ("wsusscan.cab",)  # Windows Update's scan metadata, not the update


@dataclass(frozen=True)
class CatalogFile:
    file: str
    catalog: Catalog | None  # None: it could not be read (problem says why)
    problem: str | None = None


@dataclass(frozen=True)
class UpdatePackage:
    path: str  # as the user gave it
    sha256: str
    container: str  # "msu" or "cab"
    properties: dict[str, str]  # the .msu's pkgProperties.txt ("KB Article Number", "Applies to", ...)
    manifests: tuple[Manifest, ...]
    catalogs: tuple[CatalogFile, ...]
    payload_bytes: int  # what the update cabinet expands to: at least what CBS stages on the Windows volume
    problems: tuple[str, ...] = ()  # parts that could not be read, one line each
    signature: CabSignature | None = None  # the file's own Authenticode signature; None: its header declares none

    @property
    def top(self) -> tuple[Manifest, ...]:
        """The packages WUSA installs: update.mum, or else every manifest no other one names as its child."""
        named = [m for m in self.manifests if m.file.lower() == "update.mum"]
        if named:
            return tuple(named)
        children = {c.cbs_identity.lower() for m in self.manifests for c in m.children}
        return tuple(m for m in self.manifests if m.identity.cbs_identity.lower() not in children)

    @property
    def kb(self) -> str | None:
        number = self.properties.get("KB Article Number")
        if number and number.isdigit():
            return f"KB{number}"
        return next((m.kb for m in (*self.top, *self.manifests) if m.kb), None)

    @property
    def name(self) -> str:
        return Path(self.path).name


def read_update(path: Path) -> UpdatePackage:
    """Read one .msu or update .cab; raises UpdateUnreadable (one line) when it cannot be read at all."""
    if not path.is_file():
        raise UpdateUnreadable(str(path), "no such file" if not path.exists() else "not a regular file")
    workdir: Path | None = None
    try:
        with deferred():  # a Ctrl-C waits until the folder is made and its removal armed
            workdir = Path(tempfile.mkdtemp(prefix="imgscan-update-"))  # mode 0700, in the system temp
        with doing("reading the update", subject=str(path)):
            return _read(path, workdir)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _inner(path: Path, cabinet: Path, work: Callable[[], list[Member]]) -> list[Member]:
    """`work` on the update's payload cabinet; a failure names the update and the cabinet inside it, not the
    temporary folder the cabinet was expanded to."""
    try:
        return work()
    except UpdateUnreadable as exc:
        if cabinet == path:
            raise
        raise UpdateUnreadable(str(path), f"{cabinet.name} inside it: {exc.problem}", exc.advice) from None


def _read(path: Path, workdir: Path) -> UpdatePackage:
    """The update's signature first, then what it holds. Only the file given is held to its signature: WUSA
    verifies the .msu, whose signed bytes hold its update cabinet and WSUSSCAN.cab whole (a change to either
    changes the .msu's digest), and CBS trusts the package by its catalogs (`reasons.catalog_reasons`), not
    by the update cabinet's own signature. A file that does not match its signature still has its contents
    read for the report (its KB, its identity); when they cannot be, the signature's verdict stands and a
    note says what was not read. A signed file is read once for its signature's digest and its SHA-256."""
    signature = file_signature(path)
    sha256 = signature.sha256 if signature else file_sha256(path)
    try:
        update = _contents(path, workdir, sha256)
    except UpdateUnreadable as exc:
        if signature is None or signature.valid:
            raise
        update = _unread(path, exc, sha256)
    return replace(update, signature=signature)


def _unread(path: Path, exc: UpdateUnreadable, sha256: str) -> UpdatePackage:
    """An update that does not match its signature and whose contents cannot be read either (a byte flipped
    in its compressed data): Windows refuses it on the signature alone."""
    return UpdatePackage(
        path=str(path),
        sha256=sha256,
        container="msu" if path.suffix.lower() == ".msu" else "cab",
        properties={},
        manifests=(),
        catalogs=(),
        payload_bytes=0,
        problems=(f"its contents were not read: {exc.problem}",),
    )


def _contents(path: Path, workdir: Path, sha256: str) -> UpdatePackage:
    members = list_members(path)
    names = {m.name.lower() for m in members}
    inner = [m for m in members if m.name.lower().endswith(".cab") and m.name.lower() not in IGNORED_CABINETS]
    properties: dict[str, str] = {}
    if any(n.endswith(".mum") for n in names):
        container, cabinet, payload_members = "cab", path, members
    elif inner:
        outer = workdir / "msu"
        outer.mkdir()
        expand(path, outer)
        properties = _properties(outer)
        if len(inner) > 1:
            found = ", ".join(m.name for m in inner)
            raise UpdateUnreadable(str(path), f"holds more than one update cabinet ({found})", "give each update on its own")
        container, cabinet = "msu", outer / Path(inner[0].name).name
        payload_members = _inner(path, cabinet, lambda: list_members(cabinet))
    else:
        raise UpdateUnreadable(str(path), "holds no update manifest (.mum) and no update cabinet", "is it a Windows update?")
    files = workdir / "update"
    files.mkdir()
    _inner(path, cabinet, lambda: expand(cabinet, files))
    index = _container_index(files)
    manifests, problems = _manifests(path, files, index)
    if not manifests:
        raise UpdateUnreadable(str(path), "its cabinet holds no package manifest (.mum)", "is it a Windows update?")
    catalogs = _catalogs(files, index)
    payload = max(sum(m.size for m in payload_members), sum(index.values()))
    problems += [f"{c.file}: {c.problem}" for c in catalogs if c.problem]
    return UpdatePackage(
        path=str(path),
        sha256=sha256,
        container=container,
        properties=properties,
        manifests=tuple(sorted(manifests, key=lambda m: m.file.lower())),
        catalogs=catalogs,
        payload_bytes=payload,
        problems=tuple(problems),
    )


def _properties(folder: Path) -> dict[str, str]:
    """`Name="value"` lines of the .msu's pkgProperties.txt (UTF-16 or UTF-8)."""
    found: dict[str, str] = {}
    for text_file in sorted(folder.glob("*pkgProperties.txt")):
        data = text_file.read_bytes()
        text = data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig", "replace")
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                found[name.strip()] = value.strip().strip('"')
    return found


def _container_index(folder: Path) -> dict[str, int]:
    """{file name (lower case): expanded length} of _manifest_.cix.xml, or {} when there is none or it is
    not readable (the files themselves are then all there is)."""
    path = folder / CIX
    if not path.is_file():
        return {}
    try:
        root = ElementTree.fromstring(path.read_bytes())
    except XML_ERRORS:
        return {}
    found = {}
    for entry in root.iter(f"{CIX_NS}File"):
        name, length = entry.get("name") or "", ascii_int(entry.get("length"))
        if name and length is not None:
            found[name.replace("\\", "/").lower()] = length
    return found


def _present(folder: Path, suffix: str) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(suffix)), key=lambda p: p.name.lower())


def _absent_in_index(folder: Path, index: dict[str, int], suffix: str) -> list[str]:
    present = {p.name.lower() for p in folder.iterdir()}
    return sorted(name for name in index if name.endswith(suffix) and "/" not in name and name not in present)


def _manifests(path: Path, folder: Path, index: dict[str, int]) -> tuple[list[Manifest], list[str]]:
    manifests = []
    for file in _present(folder, ".mum"):
        try:
            manifests.append(parse_manifest(file.name, file.read_bytes()))
        except ManifestError as exc:
            raise UpdateUnreadable(str(path), str(exc), "CBS refuses it too (0x800F0900 CBS_E_XML_PARSER_FAILURE)") from exc
    problems = [
        f"{name}: stored as a PA30 delta in {CIX}, which cannot be expanded without the file it was made against"
        for name in _absent_in_index(folder, index, ".mum")
    ]
    return manifests, problems


def _catalogs(folder: Path, index: dict[str, int]) -> tuple[CatalogFile, ...]:
    cache = CertCache()
    found = []
    for file in _present(folder, ".cat"):
        try:
            found.append(CatalogFile(file.name, parse_catalog(file.name, file.read_bytes(), cache, members=True)))
        except CatalogError as exc:
            found.append(CatalogFile(file.name, None, f"not a readable catalog ({exc})"))
    for name in _absent_in_index(folder, index, ".cat"):
        problem = f"stored as a PA30 delta in {CIX}, which cannot be expanded without the file it was made against"
        found.append(CatalogFile(name, None, problem))
    return tuple(found)


__all__ = ["CatalogFile", "Member", "UpdatePackage", "UpdateUnreadable", "read_update"]
