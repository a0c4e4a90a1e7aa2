"""Reports are written whole or not at all: a failure or a Ctrl-C while writing leaves the previous report (or
nothing) and no temporary file beside it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from imgscan.cli import outputs
from imgscan.errors import ImgscanError


def test_a_new_report_gets_the_usual_permissions(tmp_path: Path):
    target = tmp_path / "r.json"
    outputs.write(target, '{"a": 1}\n')
    mask = os.umask(0)
    os.umask(mask)
    assert target.read_text() == '{"a": 1}\n'
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_existing_report_keeps_its_permissions(tmp_path: Path):
    target = tmp_path / "r.sarif"
    target.write_text("old")
    target.chmod(0o640)
    outputs.write(target, "new")
    assert (target.read_text(), target.stat().st_mode & 0o777) == ("new", 0o640)


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_write_cut_short_leaves_the_old_report_and_no_temporary_file(tmp_path: Path, monkeypatch, failure):
    target = tmp_path / "r.html"
    target.write_text("the previous report")

    def cut(*_args):
        raise failure

    monkeypatch.setattr(os, "replace", cut)
    with pytest.raises(ImgscanError if isinstance(failure, OSError) else KeyboardInterrupt) as raised:
        outputs.write(target, "<html>" * 100_000)
    if isinstance(failure, OSError):
        assert str(raised.value) == f"{target}: cannot write the report: No space left on device"
    assert target.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_device_is_written_in_place(tmp_path: Path):
    assert outputs.unwritable(Path("/dev/null")) is None
    outputs.write(Path("/dev/null"), "discarded")
    assert Path("/dev/null").is_char_device()


def test_what_cannot_take_a_report(tmp_path: Path):
    assert outputs.unwritable(tmp_path) == f"{tmp_path} is a directory (give a file name, e.g. {tmp_path / 'report.json'})"
    assert outputs.unwritable(tmp_path / "no" / "r.json") == f"{tmp_path / 'no'}: no such directory (create it first)"
    assert outputs.unwritable(tmp_path / "r.json") is None
    assert list(tmp_path.iterdir()) == []  # the check leaves nothing behind


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("r.json", "json"), ("R.SARIF", "sarif"), ("r.sarif.json", "sarif"), ("r.htm", "html"), ("r.xml", "junit"), ("r", None)],
)
def test_the_format_a_name_announces(name: str, fmt: str | None):
    assert outputs.format_of(Path(name)) == fmt


def test_a_symbolic_link_is_written_through(tmp_path: Path):
    (tmp_path / "reports").mkdir()
    real = tmp_path / "reports" / "latest.json"
    real.write_text("old")
    link = tmp_path / "r.json"
    link.symlink_to(real)
    outputs.write(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
