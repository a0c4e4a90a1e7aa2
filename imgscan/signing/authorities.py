"""Microsoft's Secure Boot certificate authorities and their days, from `imgscan/data/secureboot.toml`
(read from Microsoft's certificate files). Kept apart from the boot-file judging in secureboot.py so a
rule can name a CA's day without loading the signature stack.
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
class Authority:
    name: str
    generation: int  # 2011 or 2023
    signs: str
    expires: date | None = None


@cache
def authorities() -> dict[str, Authority]:
    data = tomllib.loads(resources.files("imgscan.data").joinpath("secureboot.toml").read_text(encoding="utf-8"))
    return {ca["name"]: Authority(ca["name"], ca["generation"], ca["signs"], ca.get("expires")) for ca in data["ca"]}
