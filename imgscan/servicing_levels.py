"""Which SHA-2, servicing stack and ESU prerequisites a Windows 7 SP1 / 2008 R2 SP1 image has installed.

The updates and days come from `imgscan/data/windows7_servicing.toml`, where each one names the
Microsoft article it rests on. A servicing stack update (SSU) is recognised by its KB number in that
list, or, for SSUs released after the list ends, by its manifest (it updates the servicing stack
component) together with a KB number above the first SHA-2 era SSU's: KB articles are numbered in the
order they are created, so such an SSU is later than March 2019.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI
    import tomli as tomllib

from imgscan.numerals import ascii_int
from imgscan.report import PackageJson, SsuLevel
from imgscan.servicing import INSTALLED_STATES, STATES, Package

INSTALLED_NAMES = {STATES[state] for state in INSTALLED_STATES}


@dataclass(frozen=True)
class Update:
    kb: str
    title: str
    source: str
    released: date | None = None


@dataclass(frozen=True)
class Windows7Servicing:
    """The data file, typed."""

    sha2_only_from: date
    sha2_sources: tuple[str, ...]
    sha2_support: tuple[Update, ...]
    ssus: tuple[Update, ...]
    end_of_support: date
    esu_sources: tuple[str, ...]
    esu_licensing: tuple[Update, ...]
    esu_updates: tuple[Update, ...] = ()  # updates that install only on ESU-eligible devices

    @cached_property
    def first_sha2_ssu(self) -> Update:
        return min(self.ssus, key=lambda u: u.released or date.max)

    @cached_property
    def ssu_kbs(self) -> frozenset[str]:
        return frozenset(u.kb for u in self.ssus)


@cache
def windows7_servicing() -> Windows7Servicing:
    data = tomllib.loads(resources.files("imgscan.data").joinpath("windows7_servicing.toml").read_text(encoding="utf-8"))

    def updates(entries: list[dict[str, Any]], title: str = "") -> tuple[Update, ...]:
        return tuple(Update(e["kb"], e.get("title", title), e["source"], e.get("released")) for e in entries)

    return Windows7Servicing(
        sha2_only_from=data["sha2"]["sha2_only_from"],
        sha2_sources=tuple(data["sha2"]["sources"]),
        sha2_support=updates(data["sha2"]["support"]),
        ssus=updates(data["ssu"], "Servicing stack update"),
        end_of_support=data["esu"]["end_of_support"],
        esu_sources=tuple(data["esu"]["sources"]),
        esu_licensing=updates(data["esu"]["licensing"]),
        esu_updates=updates(data["esu"].get("updates", [])),
    )


def kb_number(kb: str | None) -> int:
    """A KB's number, to order updates by age: KB articles are numbered in the order they are created (0: not a KB)."""
    return (ascii_int(kb[2:]) if kb else None) or 0


def is_ssu(package: Package) -> bool:
    """A servicing stack update, of any Windows release and age."""
    return package.updates_servicing_stack or package.kb in windows7_servicing().ssu_kbs


def is_sha2_era_ssu(package: Package) -> bool:
    """A Windows 7 SP1 servicing stack update of March 2019 or later (the level SHA-2 signed updates need)."""
    return sha2_era_ssu(package.kb, package.updates_servicing_stack)


def sha2_era_ssu(kb: str | None, updates_servicing_stack: bool) -> bool:
    """The same question for an update that is not installed yet (preflight): its KB and whether its
    manifest updates the servicing stack component."""
    data = windows7_servicing()
    return (updates_servicing_stack or kb in data.ssu_kbs) and kb_number(kb) >= kb_number(data.first_sha2_ssu.kb)


@dataclass(frozen=True)
class ServicingLevel:
    """What the image's installed packages provide, each as the installed KB (None: missing)."""

    sha2_support: str | None
    ssus: tuple[str, ...]  # installed SSUs of March 2019 or later, oldest KB first
    esu_licensing: str | None

    @property
    def latest_ssu(self) -> str | None:
        return self.ssus[-1] if self.ssus else None

    @property
    def has_sha2_support(self) -> bool:
        """KB4474419 and a servicing stack update of March 2019 or later: what SHA-2 signed updates need."""
        return self.sha2_support is not None and self.latest_ssu is not None


def servicing_level(packages: list[Package]) -> ServicingLevel:
    data = windows7_servicing()
    installed = [p for p in packages if p.installed and p.kb]
    kbs = {p.kb for p in installed}

    def newest_installed(updates: tuple[Update, ...]) -> str | None:
        return next((u.kb for u in reversed(updates) if u.kb in kbs), None)

    ssus = sorted({p.kb for p in installed if p.kb and is_sha2_era_ssu(p)}, key=kb_number)
    return ServicingLevel(
        sha2_support=newest_installed(data.sha2_support), ssus=tuple(ssus), esu_licensing=newest_installed(data.esu_licensing)
    )


def ssu_level(packages: list[PackageJson]) -> SsuLevel | None:
    """The newest installed servicing stack update of a report's package inventory, with its release day
    when the data file knows it (None: no SSU installed)."""
    kbs = {kb for p in packages if p["servicing_stack_update"] and (kb := p["kb"]) and p["state_name"] in INSTALLED_NAMES}
    if not kbs:
        return None
    newest = max(kbs, key=kb_number)
    released = next((u.released for u in windows7_servicing().ssus if u.kb == newest), None)
    return {"kb": newest, "released": released.isoformat() if released else None}
