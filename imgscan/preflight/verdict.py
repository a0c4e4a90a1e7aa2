"""The preflight engine: will one update install on an image, and from which day will it not?

Pure functions from (UpdatePackage, ImageFacts, as-of day, horizon end) to an `UpdateVerdict`; nothing here reads
an image or a file. The order of questions is the one WUSA and CBS ask (Microsoft, "Description of the
Windows Update Standalone Installer", KB934307): does the file match its own Authenticode signature (else
0x80096010 TRUST_E_BAD_DIGEST, and nothing in it is asked about), is it for this Windows and architecture, is
one of its parent packages installed (else 0x80240017 WU_E_NOT_APPLICABLE), is it already installed or superseded
(0x00240006 WU_S_ALREADY_INSTALLED), then every reason it would fail, all of them, not only the first.
The codes are Microsoft's: WUA result codes (learn.microsoft.com, "WUA Success and Error Codes"), winerror.h
via `imgscan explain`, and the KB pages named in imgscan/data/windows7_servicing.toml and servicing_stacks.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from imgscan.numerals import dotted_version, version_text
from imgscan.preflight import reasons as why
from imgscan.preflight.facts import ImageFacts, InstalledPackage
from imgscan.preflight.manifest import Manifest
from imgscan.preflight.package import UpdatePackage
from imgscan.preflight.reasons import Reason
from imgscan.preflight.stack import servicing_stack_reason, stack_notes

STATUSES = ("installs", "will-not-install", "not-applicable", "installed", "superseded", "unknown")
NEUTRAL_ARCHES = {"neutral", "msil", "wow64"}  # run on the image whatever its own architecture (wow64 on amd64)
# Windows' own version numbers (Vista/2008, 7/2008 R2, 8/2012, 8.1/2012 R2, 10 and later): a parent package
# versioned so names the Windows the update is for; others (Internet Explorer 11.x) do not
WINDOWS_VERSIONS = {(6, 0), (6, 1), (6, 2), (6, 3), (10, 0)}


@dataclass(frozen=True)
class UpdateVerdict:
    update: str  # the file as given
    kb: str | None
    identity: str | None  # the top package's CBS identity
    status: str  # see STATUSES
    summary: str  # one sentence
    reasons: tuple[Reason, ...] = ()  # every reason it fails at --as-of (status will-not-install / not-applicable)
    later: tuple[Reason, ...] = ()  # reasons that start after --as-of, within --horizon
    notes: tuple[str, ...] = ()  # what could not be judged, and why
    registers: tuple[str, ...] = ()  # the packages CBS would register when it installs
    release_type: str | None = None
    restart: str | None = None
    payload_bytes: int = 0
    prerequisites: tuple[str, ...] = field(default=(), compare=False)  # KBs that must install first (order)
    servicing_stack_update: bool = False

    @property
    def hresult(self) -> str | None:
        """The code Windows reports: the first blocking reason's, or WU_S_ALREADY_INSTALLED."""
        if self.status == "installed":
            return "0x00240006"
        return next((r.hresult for r in self.reasons if r.hresult), None)

    @property
    def fails_from(self) -> date | None:
        """The first day an update that installs at --as-of stops installing (within --horizon)."""
        return min((r.starts for r in self.later if r.starts), default=None)


def judge(update: UpdatePackage, facts: ImageFacts, as_of: date, horizon_end: date) -> UpdateVerdict:
    """The verdict on one update as of `as_of`, with what starts failing up to `horizon_end`."""
    top = update.top
    base = {
        "update": update.path,
        "kb": update.kb,
        "identity": top[0].identity.cbs_identity if top else None,
        "release_type": top[0].release_type if top else None,
        "restart": _restart(update),
        "payload_bytes": update.payload_bytes,
        "servicing_stack_update": any(m.updates_servicing_stack for m in update.manifests),
    }
    # parts of the update that could not be read (a PA30 delta catalog) are said whatever the verdict: a
    # not-applicable or installed one rests on the manifests alone, and the reader must know what was not checked
    unread = update.problems
    if update.signature is not None and not update.signature.valid:  # WUSA checks the file before reading it
        refused = why.signature_invalid(update, update.signature)
        summary = f"will not install: 1 reason(s), first {refused.hresult}"
        return UpdateVerdict(status="will-not-install", summary=summary, reasons=(refused,), notes=unread, **base)  # type: ignore[arg-type]
    not_applicable = _applicability(update, facts)
    if not_applicable:
        summary = not_applicable[0].message
        return UpdateVerdict(status="not-applicable", summary=summary, reasons=not_applicable, notes=unread, **base)  # type: ignore[arg-type]
    present = _already(top, facts)
    if present:
        status, package = present
        summary = (
            f"already installed: {package.cbs_identity} ({package.state})"
            if status == "installed"
            else f"superseded by the installed {package.cbs_identity} ({package.state})"
        )
        reasons = () if status == "installed" else (why.superseded(package),)
        return UpdateVerdict(status=status, summary=summary, reasons=reasons, notes=unread, **base)  # type: ignore[arg-type]
    found = list(why.catalog_reasons(update, facts, as_of, horizon_end))
    stack = servicing_stack_reason(update, facts, why.sha2_only(update), as_of)
    found += [stack] if stack else []
    found += why.image_reasons(update, facts, _touched(update, facts))
    now = tuple(r for r in found if r.starts is None or r.starts <= as_of)
    later = tuple(r for r in found if r.starts is not None and as_of < r.starts <= horizon_end)
    notes = why.notes(update, facts) + stack_notes(update, facts)  # `unread` first
    registers = _registers(update, facts)
    if now:
        status, summary = "will-not-install", f"will not install: {len(now)} reason(s), first {now[0].hresult or ''}".strip()
    elif any(c.catalog is None for c in update.catalogs) or not update.catalogs:
        status, summary = "unknown", "cannot tell: " + (update.problems[0] if update.problems else "the update has no catalog")
    else:
        status = "installs"
        summary = f"installs, registering {len(registers)} package(s)"
        if later:
            summary += f"; fails from {min(r.starts for r in later if r.starts)}"
    return UpdateVerdict(status=status, summary=summary, reasons=now, later=later, notes=notes, registers=registers, **base)  # type: ignore[arg-type]


def _restart(update: UpdatePackage) -> str | None:
    values = {m.restart for m in update.manifests if m.restart}
    return "required" if "required" in values else ("possible" if values else None)


def _applicability(update: UpdatePackage, facts: ImageFacts) -> tuple[Reason, ...]:
    """Why WUSA would call the update not applicable (empty: it applies)."""
    top = update.top
    arches = {m.identity.arch.lower() for m in top} - NEUTRAL_ARCHES
    if facts.architecture and arches and facts.architecture not in arches:
        return (why.wrong_architecture(update, sorted(arches), facts),)
    applies_to = update.properties.get("Applies to", "")
    if applies_to.startswith("Windows ") and facts.windows_version and applies_to.split()[-1] != facts.windows_version:
        return (why.wrong_windows(update, applies_to, facts),)
    wanted = [alternative for m in top for parent in m.parents for alternative in parent.alternatives]
    if not wanted or any(_parent_of(m, facts) for m in top):
        return ()
    windows = [a for a in wanted if a.version[:2] in WINDOWS_VERSIONS]  # not IE's 11.x or a feature's own
    versions = {a.version[:2] for a in windows}
    builds = {a.version[:3] for a in windows}
    own = dotted_version(facts.windows_version)
    if own and versions and own not in versions and not applies_to:
        return (why.wrong_windows(update, "Windows " + " or ".join(sorted(version_text(v) for v in versions)), facts),)
    if own and facts.build and (*own, facts.build) not in builds and {b[:2] for b in builds} == {own}:
        return (why.wrong_build(update, sorted(version_text(b) for b in builds), facts),)
    return (why.no_parent(update, wanted),)


def _parent_of(manifest: Manifest, facts: ImageFacts) -> InstalledPackage | None:
    """The installed package that satisfies one of the manifest's parents (None: none does)."""
    if not manifest.parents:
        return None
    for parent in manifest.parents:
        for package in facts.installed():
            if parent.matches(package.identity):
                return package
    return None


def _already(top: tuple[Manifest, ...], facts: ImageFacts) -> tuple[str, InstalledPackage] | None:
    for manifest in top:
        same = [p for p in facts.installed() if p.identity.same_package(manifest.identity)]
        for package in sorted(same, key=lambda p: p.identity.version, reverse=True):
            if package.identity.version == manifest.identity.version:
                return "installed", package
            if package.identity.version > manifest.identity.version:
                return "superseded", package
    return None


def _touched(update: UpdatePackage, facts: ImageFacts) -> tuple[InstalledPackage, ...]:
    """Installed packages the update services: the parents its manifests attach to, and older versions
    of its own packages that it replaces."""
    found: dict[str, InstalledPackage] = {}
    for manifest in update.manifests:
        parent = _parent_of(manifest, facts)
        if parent:
            found[parent.cbs_identity] = parent
        for package in facts.installed():
            if package.identity.same_package(manifest.identity):
                found[package.cbs_identity] = package
    return tuple(found[k] for k in sorted(found))


def _registers(update: UpdatePackage, facts: ImageFacts) -> tuple[str, ...]:
    """The update's packages whose parents are installed or come with the update itself."""
    own = [m.identity for m in update.manifests]
    found = []
    for manifest in update.manifests:
        if not manifest.parents or _parent_of(manifest, facts) or any(p.matches(i) for p in manifest.parents for i in own):
            found.append(manifest.identity.cbs_identity)
    return tuple(sorted(found, key=str.lower))
