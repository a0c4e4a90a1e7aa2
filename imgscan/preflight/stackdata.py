"""imgscan/data/servicing_stacks.toml, typed: how Windows knows an image's servicing stack, the code it gives
when an update needs a newer one, and the updates whose Microsoft page names a servicing stack update that must
come first. Each fact carries the Microsoft page it rests on; the file is data, so that a new fact is a new
entry with its source, not new code.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI
    import tomli as tomllib


@dataclass(frozen=True)
class UpdateNeed:
    """A servicing stack update that an update's Microsoft page says must be installed before it."""

    kbs: tuple[str, ...]  # the updates the fact is about
    windows: str  # "6.1": the Windows version the fact is about
    ssu: str  # the first servicing stack update that fulfils it; a later one does too
    ssu_released: date
    hresult: str  # the code the page gives when it is missing
    why: str
    source: str


@dataclass(frozen=True)
class StackData:
    image_key: str  # SOFTWARE key whose value names are the installed servicing stack versions
    image_sources: tuple[str, ...]
    hresult: str  # CBS's code for a package that needs a newer servicing stack
    wusa_message: str  # what WUSA shows then
    manifest_sources: tuple[str, ...]
    updates: tuple[UpdateNeed, ...]


@cache
def stack_data() -> StackData:
    text = resources.files("imgscan.data").joinpath("servicing_stacks.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return StackData(
        image_key=data["image"]["key"],
        image_sources=tuple(data["image"]["sources"]),
        hresult=data["manifest"]["hresult"],
        wusa_message=data["manifest"]["wusa_message"],
        manifest_sources=tuple(data["manifest"]["sources"]),
        updates=tuple(
            UpdateNeed(tuple(e["kbs"]), e["windows"], e["ssu"], e["ssu_released"], e["hresult"], e["why"], e["source"])
            for e in data.get("updates", [])
        ),
    )
