"""The servicing stack facts are data with their Microsoft sources: imgscan/data/servicing_stacks.toml (what an
update needs of the stack, the code Windows gives) and windows7_servicing.toml (the SHA-2, SSU and ESU updates).
Every fact names a Microsoft page, every code is one `imgscan explain` knows, and every servicing stack update
a fact names has the release day the list of SSUs gives it, when listed (KB4528069 needs an SSU created after it:
its ESU check was made stricter)."""

from __future__ import annotations

import re
import sys
from importlib import resources
from typing import Any
from urllib.parse import urlparse

import pytest

from imgscan.errorcodes import describe, parse
from imgscan.numerals import dotted_version
from imgscan.preflight.stackdata import stack_data
from imgscan.servicing_levels import windows7_servicing

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MICROSOFT = {"learn.microsoft.com", "support.microsoft.com", "techcommunity.microsoft.com"}
FILES = ("servicing_stacks.toml", "windows7_servicing.toml")
FACT_KEYS = {"kb", "hresult", "ssu", "key", "sha2_only_from", "end_of_support"}


def _raw(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("imgscan.data").joinpath(name).read_text(encoding="utf-8"))


def _facts(node: object, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every table of the file that states a fact (a KB, a code, a key, a day), with where it is."""
    found = []
    if isinstance(node, dict):
        if any(not isinstance(node[k], (dict, list)) for k in FACT_KEYS & node.keys()):
            found.append((where, node))
        for key, value in node.items():
            found += _facts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _facts(value, f"{where}[{i}]")
    return found


@pytest.mark.parametrize("name", FILES)
def test_every_fact_names_a_microsoft_page(name):
    facts = _facts(_raw(name))
    assert facts, f"{name} states no fact"
    for where, fact in facts:
        urls = [fact["source"]] if "source" in fact else list(fact.get("sources", []))
        assert urls, f"{name}{where} has no source"
        for url in urls:
            parsed = urlparse(url)
            assert parsed.scheme == "https" and parsed.hostname in MICROSOFT, f"{name}{where}: {url} is not a Microsoft page"


def test_the_servicing_stack_facts_are_valid():
    data = stack_data()
    ssus = {u.kb: u for u in windows7_servicing().ssus}
    assert data.image_key.startswith("Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\")
    assert describe(parse(data.hresult)).name == "CBS_E_NEW_SERVICING_STACK_REQUIRED"
    kbs = [kb for need in data.updates for kb in need.kbs]
    assert kbs and len(set(kbs)) == len(kbs)  # one fact per update
    for need in data.updates:
        assert all(re.fullmatch(r"KB\d{6,7}", kb) for kb in (*need.kbs, need.ssu))
        assert need.windows in ("6.0", "6.1", "6.2", "6.3", "10.0")
        if need.ssu in ssus:  # on the list of SSUs: the same release day
            assert ssus[need.ssu].released == need.ssu_released
        assert describe(parse(need.hresult)).name, f"{need.hresult} is a code imgscan explain does not know"
        assert need.why and need.source


def test_the_ssu_list_is_in_release_order_and_kb_order():
    ssus = windows7_servicing().ssus
    assert [u.released for u in ssus] == sorted(u.released for u in ssus if u.released)
    assert [u.kb for u in ssus] == sorted((u.kb for u in ssus), key=lambda kb: int(kb[2:]))  # KB numbers grow with time


@pytest.mark.parametrize(
    ("text", "version"),
    [("6.1.7601.24516", (6, 1, 7601, 24516)), ("6.0.0.0", (6, 0, 0, 0)), ("6.1.x", ()), ("", ()), ("6.1.²", ())],
)
def test_versions_are_compared_as_numbers(text, version):
    assert dotted_version(text) == version
    assert dotted_version("6.1.7601.24516") > dotted_version("6.1.7601.9999")
