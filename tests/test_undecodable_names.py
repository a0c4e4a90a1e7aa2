"""Names that are not valid Unicode (a directory input's file names are bytes: here a profile folder and
a package manifest whose names are not UTF-8) give valid UTF-8 in every output format, which names the
files with the README's escaping (`\\xFF`), keeps their exact bytes in the JSON report's `undecodable`,
and the ignore file matches the escaped name."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from imgscan.undecodable import FIELD, escaped, printable_report, raw
from sample_images.build import build
from sample_images.scenario import load
from tests.conftest import run_imgscan

PROFILE = b"Users/bad\xffname"
MUM = b"Windows/servicing/Packages/Package_for_KB9\xfe99~31bf3856ad364e35~amd64~~6.1.1.0.mum"
SHOWN = {r"Users\bad\xFFname\NTUSER.DAT", r"Windows\servicing\Packages\Package_for_KB9\xFE99~31bf3856ad364e35~amd64~~6.1.1.0.mum"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = build(load("ws-acc-0417"), tmp_path_factory.mktemp("names"), ("dir",))["dir"]
    root = os.fsencode(tree)
    os.mkdir(root + b"/" + PROFILE)
    Path(os.fsdecode(root + b"/" + PROFILE + b"/NTUSER.DAT")).write_bytes(b"not a hive" * 100)
    Path(os.fsdecode(root + b"/" + MUM)).write_bytes(b"not XML")
    return tree


def _report(tree: Path, fmt: str, out: Path, *more: object) -> str:
    target = out / f"report.{fmt}"
    run = run_imgscan("scan", tree, "--as-of", "2013-07-01", "-f", fmt, "-o", target, *more)
    assert run.code == 1 and "internal error" not in run.stderr, run.stderr
    return target.read_bytes().decode("utf-8")  # strict: any byte that is not UTF-8 fails here


def test_json_is_strict_utf8_names_the_files_and_keeps_their_bytes(tree: Path, tmp_path: Path) -> None:
    report = json.loads(_report(tree, "json", tmp_path))
    paths = {e["path"] for e in report["errors"]}
    assert SHOWN <= paths
    hive = [f for f in report["findings"] if f["rule"] == "hive-unreadable"]
    assert [f["evidence"][0]["path"] for f in hive] == [r"Users\bad\xFFname\NTUSER.DAT"]
    kept = {text: base64.b64decode(value) for text, value in report["undecodable"].items()}
    assert kept[r"Users\bad\xFFname\NTUSER.DAT"] == b"Users\\bad\xffname\\NTUSER.DAT"
    assert kept[r"Windows\servicing\Packages\Package_for_KB9\xFE99~31bf3856ad364e35~amd64~~6.1.1.0.mum"].count(b"\xfe") == 1


def test_sarif_is_strict_utf8_and_locates_the_profile(tree: Path, tmp_path: Path) -> None:
    sarif = json.loads(_report(tree, "sarif", tmp_path))
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for location in result.get("locations", [])
    }
    assert any("bad" in uri and "name/NTUSER.DAT" in uri for uri in uris), uris


def test_csv_table_html_junit_are_strict_utf8_and_name_the_profile(tree: Path, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(_report(tree, "csv", tmp_path), newline="")))
    assert any(r"Users\bad\xFFname\NTUSER.DAT" in cell for row in rows for cell in row)
    assert r"bad\xFFname" in _report(tree, "table", tmp_path)
    html = _report(tree, "html", tmp_path)
    assert r"Users\bad\xFFname\NTUSER.DAT" in html
    junit = ET.fromstring(_report(tree, "junit", tmp_path))
    assert r"bad\xFFname" in ET.tostring(junit, encoding="unicode")


def test_the_ignore_file_matches_the_escaped_name(tree: Path, tmp_path: Path) -> None:
    ignore = tmp_path / "ignore.yml"
    ignore.write_text("- rule: hive-unreadable\n  path: 'Users\\bad\\xFFname\\*'\n  reason: a broken test profile\n")
    report = json.loads(_report(tree, "json", tmp_path, "--ignore", ignore))
    hive = [f for f in report["findings"] if f["rule"] == "hive-unreadable"]
    assert hive and all(f.get("suppressed") for f in hive), hive
    assert not any("matched no finding" in w for w in report["warnings"]), report["warnings"]


@pytest.mark.parametrize(
    ("text", "shown", "kept"),
    [
        ("plain é", "plain é", "plain é".encode()),
        (os.fsdecode(b"a\xff\\b\x80"), r"a\xFF\b\x80", b"a\xff\\b\x80"),
        ("ntfs \ud800 name", r"ntfs \uD800 name", b"ntfs \xed\xa0\x80 name"),  # a lone UTF-16 surrogate: WTF-8
    ],
)
def test_escaping_and_raw_bytes(text: str, shown: str, kept: bytes) -> None:
    assert escaped(text) == shown and escaped(text).encode("utf-8")
    assert raw(text) == kept


@pytest.mark.parametrize(
    "report",
    [
        {"findings": [{"evidence": [{"path": os.fsdecode(b"Users/bad\xffname")}]}]},  # deep in a list
        {"inventory": {os.fsdecode(b"key\xff"): 1}},  # a key
        {"inventory": {date(2013, 7, 1): ["\ud800"]}},  # under a key JSON cannot encode: walked all the same
    ],
)
def test_a_report_with_a_name_that_is_not_unicode_is_escaped_wherever_it_is(report: dict[str, object]) -> None:
    clean = printable_report(report)
    assert FIELD in clean and clean != report
    assert all(text.encode("utf-8") for text in _texts(clean))  # no text left that UTF-8 refuses


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in _texts(key) + _texts(item)]
    return [text for item in value for text in _texts(item)] if isinstance(value, list) else []


def test_a_report_with_only_valid_unicode_is_kept_as_it_is() -> None:
    """Not walked and copied part by part (a fleet makes one report per distinct host of an image)."""
    report = {"host": {"name": "pc-é-\U0001f600"}, "findings": [{"message": "ok", "evidence": [{"n": 1}]}]}
    clean = printable_report(report)
    assert clean == report and FIELD not in clean and clean["findings"] is report["findings"]


def test_preflight_names_an_update_file_whose_name_is_not_utf8(tree: Path, tmp_path: Path) -> None:
    from sample_images.pki import make_pki
    from sample_images.updates import SAMPLES, build_samples

    name = next(iter(SAMPLES))
    built = build_samples(make_pki(), tmp_path / "updates", (name,))[name]
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/KB\xff" + os.fsencode(built.name)))
    built.rename(odd)
    for fmt in ("json", "table"):
        run = run_imgscan("preflight", tree, odd, "--as-of", "2013-07-01", "-f", fmt, "-o", tmp_path / f"preflight.{fmt}")
        assert "internal error" not in run.stderr, run.stderr
        text = (tmp_path / f"preflight.{fmt}").read_bytes().decode("utf-8")
        assert "KB\\xFF" + built.name in (json.loads(text)["updates"][0]["file"] if fmt == "json" else text)


def test_orjson_encodes_a_whole_report_as_the_standard_library_does(tmp_path: Path) -> None:
    """The report's one encoding is orjson's (compact_json); a whole report of a sample image, every kind of
    finding and inventory in it, comes out byte for byte as `json.dumps` writes it."""
    from imgscan.undecodable import compact_json

    image = Path(__file__).parents[1] / "sample_images" / "built" / "ref-w7-2012q3.vhdx"
    run = run_imgscan("scan", image, "-f", "json", "--no-cache")
    report = json.loads(run.stdout)
    assert len(report["findings"]) > 3 and report["inventory"], run.stderr
    assert compact_json(report) == json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_the_encoding_that_found_nothing_to_escape_is_the_one_the_fleet_stores() -> None:
    """One JSON encoding per fleet judgement: the one that told no text needed escaping is handed on, and it
    is exactly the store's (compact, keys sorted); a report that was walked hands on none."""
    from imgscan.undecodable import printable_encoded

    report = {"z": 1, "host": {"name": "pc-é\x1f"}, "findings": [{"b": 2.5, "a": [None, True, 1e16]}]}
    clean, text = printable_encoded(report)
    assert clean == report and text == json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert printable_encoded({"host": {"name": os.fsdecode(b"bad\xff")}})[1] is None
    assert printable_encoded({"inventory": {date(2013, 7, 1): "x"}})[1] is None  # walked: a key JSON cannot hold
