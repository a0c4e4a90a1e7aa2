"""The real files of ../shared/realdata as test parameters, and the real catalogs of PyPI packages.

The folder sits beside the checkout on every developer machine and in CI, but a bare clone has none:
then each test that reads it is skipped with one line saying so, and when it is there nothing is.
The tests glob the folder, so a file added there is tested without a change here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REALDATA, REGISTRY_CATALOGS, REPO

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

# the driver catalogs scripts/setup.sh --test takes out of PyPI packages, with their facts and Windows' verdict
REGISTRY: list[dict[str, Any]] = tomllib.loads((REPO / "tests" / "registry_catalogs.toml").read_text(encoding="utf-8"))["catalog"]


def absent(folder: Path = REALDATA) -> str:
    return f"{folder} is absent: these tests read the real files written by Windows that sit beside the checkout"


needs_realdata = pytest.mark.realdata  # the conftest hook skips it when the folder is absent


def files(folder: str, suffix: str, prefix: str = "") -> list[Any]:
    """Every file of realdata/`folder` whose name starts with `prefix` and ends in `suffix` (any case), as
    parameters named by file name; when the folder is absent, one skipped parameter that says so."""
    where = REALDATA / folder
    if not where.is_dir():
        return [pytest.param(None, id=f"{folder}-absent", marks=pytest.mark.skip(reason=absent(where)))]
    return [
        pytest.param(p, id=p.name)
        for p in sorted(where.iterdir())
        if p.name.startswith(prefix) and p.name.lower().endswith(suffix)
    ]


def registry_file(entry: dict[str, Any]) -> Path:
    """A PyPI package's catalog; missing means the test environment is incomplete, which fails."""
    path = REGISTRY_CATALOGS / entry["name"]
    assert path.is_file(), f"{path} is missing: run scripts/setup.sh --test, which takes it out of {entry['package']}"
    return path
