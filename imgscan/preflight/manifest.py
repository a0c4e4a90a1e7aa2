"""An update's package manifests (`update.mum`, `package_*.mum`) as a typed model.

A manifest is an asm.v3 `assembly` whose `assemblyIdentity` names the package
(`name~publicKeyToken~arch~language~version`, the identity CBS registers) and whose `package` element
carries the KB (`identifier`), `releaseType`, `restart`, the `<parent>` elements that say where it
applies, the `<update>` children it installs (child packages, or components) and the servicing stack
version it was built for (`installerAssembly`). A `<parent>` lists alternatives: the package applies when
one of them is installed, its version compared part by part as `buildCompare` and `serviceCompare` say
(../shared/domain.md, "Update packages"; Microsoft's real packages in ../shared/realdata/updates).

Parsed with defusedxml, as `imgscan.servicing` parses installed manifests: a billion-laughs document or an
external entity is refused, not expanded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from imgscan.errors import XML_ERRORS
from imgscan.numerals import dotted_version, version_text
from imgscan.servicing import ASM_V3, KB_PATTERN, SERVICING_STACK

COMPARISONS = ("EQ", "GE", "GT", "LE", "LT", "NE")


class ManifestError(ValueError):
    """A .mum that is not a package manifest; the message says why, in one line."""


@dataclass(frozen=True)
class Identity:
    name: str
    version: tuple[int, ...]  # (6, 1, 7601, 17514); () when the manifest gave none
    arch: str  # processorArchitecture as written: amd64, x86, wow64, msil, neutral
    language: str  # "neutral" for language-neutral packages
    token: str  # publicKeyToken

    @property
    def version_text(self) -> str:
        return version_text(self.version)

    @property
    def cbs_identity(self) -> str:
        """The name CBS registers it under (its key in the SOFTWARE hive and its servicing\\Packages files)."""
        language = "" if self.language.lower() == "neutral" else self.language
        return f"{self.name}~{self.token}~{self.arch}~{language}~{self.version_text}"

    def same_package(self, other: Identity) -> bool:
        """Same name, architecture and language: two versions of one package."""
        return (self.name.lower(), self.arch.lower(), self.language.lower()) == (
            other.name.lower(),
            other.arch.lower(),
            other.language.lower(),
        )

    def __str__(self) -> str:
        return f"{self.name} {self.version_text} ({self.arch})"


@dataclass(frozen=True)
class Parent:
    """One `<parent>` element: the package applies when one of `alternatives` is installed."""

    alternatives: tuple[Identity, ...]
    build_compare: str  # how the third version part compares: EQ (the default CBS assumes), GE, ...
    service_compare: str  # how the fourth part compares: GE (the default assumed), EQ, ...

    def matches(self, installed: Identity) -> Identity | None:
        """The alternative `installed` satisfies, or None."""
        for wanted in self.alternatives:
            if wanted.same_package(installed) and _version_matches(
                wanted.version, installed.version, self.build_compare, self.service_compare
            ):
                return wanted
        return None


def _version_matches(wanted: tuple[int, ...], have: tuple[int, ...], build: str, service: str) -> bool:
    """Major and minor must be equal; build and revision compare as the parent element says."""
    if len(wanted) < 4 or len(have) < 4:
        return wanted == have
    if wanted[:2] != have[:2]:
        return False
    return _compare(have[2], wanted[2], build) and _compare(have[3], wanted[3], service)


def _compare(have: int, wanted: int, how: str) -> bool:
    return {
        "EQ": have == wanted,
        "GE": have >= wanted,
        "GT": have > wanted,
        "LE": have <= wanted,
        "LT": have < wanted,
        "NE": have != wanted,
    }[how]


@dataclass(frozen=True)
class Manifest:
    file: str  # its name in the update, e.g. update.mum
    identity: Identity
    kb: str | None
    release_type: str | None
    restart: str | None  # "possible", "required" or None (CBS then decides)
    parents: tuple[Parent, ...]
    children: tuple[Identity, ...]  # packages its <update> elements install
    servicing_stack: str | None  # the installerAssembly version it was built for
    updates_servicing_stack: bool  # it installs the servicing stack component: a servicing stack update
    created: datetime | None  # creationTimeStamp, when written
    digests: frozenset[bytes]  # SHA-1 and SHA-256 of the file, to find it among a catalog's members
    installs_servicing_stack: tuple[int, ...] = ()  # the servicing stack version an SSU installs (): none


def parse_identity(element: Element) -> Identity:
    version = element.get("version") or ""
    numbers = dotted_version(version)  # ASCII numerals only (see imgscan.numerals)
    if version and not numbers:
        raise ManifestError(f"assemblyIdentity {element.get('name')!r} has version {version!r}, not four numbers")
    return Identity(
        name=element.get("name") or "",
        version=numbers,
        arch=element.get("processorArchitecture") or "neutral",
        language=element.get("language") or "neutral",
        token=element.get("publicKeyToken") or "",
    )


def parse_manifest(file: str, data: bytes) -> Manifest:
    """The manifest's model; raises ManifestError (one line) when it is not an asm.v3 package manifest."""
    try:
        root = ElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise ManifestError(f"{file} is refused: {exc.__class__.__name__} (entity or DTD declarations)") from exc
    except XML_ERRORS as exc:
        raise ManifestError(f"{file} is not XML ({exc})".splitlines()[0]) from exc
    package = root.find(f"{ASM_V3}package")
    identity = root.find(f"{ASM_V3}assemblyIdentity")
    if root.tag != f"{ASM_V3}assembly" or package is None or identity is None:
        raise ManifestError(f"{file} is not a package manifest (no asm.v3 assembly with assemblyIdentity and package)")
    parents = tuple(
        Parent(
            alternatives=tuple(parse_identity(i) for i in parent.iter(f"{ASM_V3}assemblyIdentity")),
            build_compare=_comparison(parent.get("buildCompare"), "EQ"),
            service_compare=_comparison(parent.get("serviceCompare"), "GE"),
        )
        for parent in package.findall(f"{ASM_V3}parent")
    )
    children = tuple(
        parse_identity(found)
        for update in package.findall(f"{ASM_V3}update")
        for child in update.findall(f"{ASM_V3}package")
        if (found := child.find(f"{ASM_V3}assemblyIdentity")) is not None
    )
    stack = [
        parse_identity(i)
        for update in package.findall(f"{ASM_V3}update")
        for i in update.iter(f"{ASM_V3}assemblyIdentity")
        if (i.get("name") or "").lower() == SERVICING_STACK
    ]
    installer = package.find(f"{ASM_V3}installerAssembly")
    kb = package.get("identifier")
    return Manifest(
        file=file,
        identity=parse_identity(identity),
        kb=kb.upper() if kb and KB_PATTERN.fullmatch(kb) else kb,
        release_type=package.get("releaseType"),
        restart=package.get("restart"),
        parents=parents,
        children=children,
        servicing_stack=installer.get("version") if installer is not None else None,
        updates_servicing_stack=bool(stack),
        created=_timestamp(root.get("creationTimeStamp")),
        digests=frozenset({hashlib.sha1(data).digest(), hashlib.sha256(data).digest()}),
        installs_servicing_stack=max((i.version for i in stack), default=()),
    )


def _comparison(value: str | None, default: str) -> str:
    return value.upper() if value and value.upper() in COMPARISONS else default


def _timestamp(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
