"""Output speaks the user's words: no project-internal word (seed, scenario, fixture names) in any
format of any subcommand, on every bundled sample image. Only the folder the images sit in
(`sample_images/built`, the user's own layout) is taken out before looking: the images' names and
their computer names are looked at too, as a user reads them in every report."""

from __future__ import annotations

import json
import re

import pytest

from sample_images.scenario import SCENARIOS, load
from tests.conftest import REPO, run_imgscan

BUILT = sorted((REPO / "sample_images" / "built").glob("*.vhdx"))
SCAN_FORMATS = ("table", "json", "sarif", "junit", "csv", "html")
# the scenario descriptions are fixture text: none may leak into a report
DESCRIPTIONS = [load(p.stem).description for p in SCENARIOS.glob("*.toml")]
JARGON = re.compile(r"(?i)\bseeds?\b|seed[ _-]?\d|scenario|fixture|sample_images|\.toml\b")
# Python's own spelling of a value where a person reads evidence: `sha2_support=None`, `eku=False`, `['a']`
PYTHON = re.compile(r"=(?:None|True|False)\b|=\[|\['|\{'|codec can't")


def _clean(text: str, inputs: list[str]) -> str:
    for piece in sorted(inputs, key=len, reverse=True):
        text = text.replace(piece, "<input>").replace(piece.replace("\\", "\\\\"), "<input>")
    return text


def _assert_plain(text: str, where: str) -> None:
    found = JARGON.findall(text) + PYTHON.findall(text)
    assert not found, f"{where}: {sorted(set(found))}"
    for description in DESCRIPTIONS:
        assert description not in text, f"{where}: {description!r}"


def test_bundled_images_are_there():
    assert len(BUILT) == 3


@pytest.mark.parametrize("image", BUILT, ids=lambda p: p.stem)
def test_scan_and_listings_have_no_internal_words(image, tmp_path):
    args = [a for fmt in SCAN_FORMATS for a in ("--format", fmt, "-o", tmp_path / f"report.{fmt}")]
    run = run_imgscan("scan", image, "--as-of", "2013-07-01", *args)
    assert run.code in (0, 1), run.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["host"]["name"]  # a computer name to look at
    inputs = [str(image.parent)]
    for fmt in SCAN_FORMATS:
        text = (tmp_path / f"report.{fmt}").read_text(encoding="utf-8")
        _assert_plain(_clean(text, inputs), f"{image.name} {fmt}")
    _assert_plain(_clean(run.stderr, inputs), f"{image.name} stderr")
    for command in ("packages", "catalogs", "timeline"):  # their JSON is the scan's inventory, seen above
        listing = run_imgscan(command, image, "--as-of", "2013-07-01")
        assert listing.code == 0, listing.stderr
        _assert_plain(_clean(listing.stdout + listing.stderr, inputs), f"{image.name} {command}")


def test_rules_and_explanations_have_no_internal_words():
    listing = run_imgscan("plugins")
    explained = run_imgscan("explain", "0x800b0101", "0x800b010e", "0x80070643", "--format", "json")
    _assert_plain(listing.stdout + explained.stdout, "plugins/explain")
    assert json.loads(explained.stdout)[0]["name"] == "CERT_E_EXPIRED"
