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
    ("failure", "may_write", "why"),
    [
        (errno.EACCES, False, "you may not create files in {folder} (Permission denied)"),
        # root, or an ACL or security module the permission bits do not show: the folder refuses, says so
        (errno.EACCES, True, "{folder} takes no new files (the system says 'Permission denied')"),
        (errno.EROFS, True, "Read-only file system"),
    ],
)
def test_a_folder_that_takes_no_report_is_said_to_in_words_true_of_it(tmp_path: Path, monkeypatch, failure, may_write, why):
    """`-o /proc/r.json` said "cannot write in /proc: No such file or directory" of a folder that is there, and a
    folder this user may not write to gave the same bare words as one that is read-only for everyone."""

    def refuse(*_args, **_kwargs):
        raise OSError(failure, os.strerror(failure))

    monkeypatch.setattr(outputs.tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(outputs.os, "access", lambda *_args: may_write)
    target = tmp_path / "r.json"
    assert outputs.unwritable(target) == f"cannot create {target}: " + why.format(folder=tmp_path)


def test_a_pseudo_file_system_is_said_to_take_no_files():
    """/proc is there, and root may write to it by its permissions: "No such file or directory" alone misled."""
    expected = "cannot create /proc/r.json: /proc takes no new files (the system says 'No such file or directory')"
    assert outputs.unwritable(Path("/proc/r.json")) == expected


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


# -- a run that writes no report leaves no earlier one (discard_stale) and writes its reports together ----------------


@pytest.fixture
def run():
    """A new run of the CLI's output state, forgotten afterwards."""
    outputs.begin()
    yield
    outputs.begin()


def _stale(path: Path, text: str = "last night's report\n") -> Path:
    path.write_text(text)
    return path


def test_an_earlier_report_this_run_did_not_write_is_removed(tmp_path: Path, run, capsys):
    a, b, c = _stale(tmp_path / "a.sarif"), _stale(tmp_path / "b.json"), _stale(tmp_path / "fixes.reg")
    outputs.expect([a, b, c])
    outputs.discard_stale()
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().err == f"imgscan: removed {a}, {b} and {c}, an earlier run's reports (this run wrote none)\n"
    one = _stale(tmp_path / "one.json")
    outputs.expect([one, tmp_path / "never-there.json"])
    outputs.discard_stale()
    assert capsys.readouterr().err == f"imgscan: removed {one}, an earlier run's report (this run wrote none)\n"


def test_quiet_removes_without_a_word(tmp_path: Path, run, capsys):
    outputs.expect([_stale(tmp_path / "a.json")], quiet=True)
    outputs.discard_stale()
    assert (list(tmp_path.iterdir()), capsys.readouterr().err) == ([], "")


def test_a_report_this_run_wrote_is_kept(tmp_path: Path, run, capsys):
    ours, theirs = _stale(tmp_path / "ours.json"), _stale(tmp_path / "theirs.json")
    link = tmp_path / "link.json"
    link.symlink_to(ours)
    outputs.expect([link, theirs])
    outputs.write(link, "this run's\n")  # through the link, to ours.json
    outputs.discard_stale()
    assert (ours.read_text(), link.is_symlink(), theirs.exists()) == ("this run's\n", True, False)


def test_a_symbolic_link_to_an_earlier_report_is_removed_not_the_file_it_names(tmp_path: Path, run, capsys):
    (tmp_path / "runs").mkdir()
    kept = _stale(tmp_path / "runs" / "run-41.sarif")
    link = tmp_path / "latest.sarif"
    link.symlink_to(kept)
    outputs.expect([link])
    outputs.discard_stale()
    assert not link.is_symlink() and not link.exists()
    assert kept.read_text() == "last night's report\n"
    assert capsys.readouterr().err == f"imgscan: removed {link}, an earlier run's report (this run wrote none)\n"


def test_what_is_no_earlier_report_is_never_removed(tmp_path: Path, run, capsys):
    folder = tmp_path / "folder.json"
    folder.mkdir()
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    to_fifo = tmp_path / "to-pipe.json"
    to_fifo.symlink_to(fifo)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "gone.json")
    image = tmp_path / "golden.csv"  # -f csv -o golden.csv: a disk image, whatever its name
    image.write_bytes(b"vhdxfile" + bytes(1024))
    disowned = _stale(tmp_path / "host.vhdx")  # fleet: found to be a host's image
    given = [folder, fifo, to_fifo, dangling, image, disowned, Path("/dev/null")]
    outputs.expect(given)
    outputs.disown(disowned)
    outputs.discard_stale()
    assert all(os.path.lexists(path) for path in given)
    assert capsys.readouterr().err == ""


def test_an_open_file_named_through_dev_or_proc_is_never_removed(tmp_path: Path, run, monkeypatch, capsys):
    """-o /dev/stdout with stdout redirected to a file (`> out.txt`): /dev/stdout leads to a regular file, and was
    a symbolic link a failed run as root would remove."""

    def refused(path: Path, *_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"would remove {path}")

    monkeypatch.setattr(Path, "unlink", refused)
    with open(tmp_path / "out.txt", "w") as redirected:
        fd = redirected.fileno()
        names = [Path(f"/dev/fd/{fd}"), Path(f"/proc/self/fd/{fd}"), Path(f"/proc/{os.getpid()}/fd/{fd}")]
        assert all(name.is_file() for name in names)  # a regular file, through the links
        outputs.expect([*names, Path("/dev/stdout"), Path("/dev/stderr")])
        outputs.discard_stale()
    assert capsys.readouterr().err == ""


def test_a_report_that_cannot_be_removed_is_an_error_even_with_quiet(tmp_path: Path, run, monkeypatch, capsys):
    stuck = _stale(tmp_path / "r.json")

    def refused(path: Path, *_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(Path, "unlink", refused)
    outputs.expect([stuck], quiet=True)
    outputs.discard_stale()
    assert capsys.readouterr().err == f"imgscan: error: cannot remove {stuck}, an earlier run's report: Permission denied\n"


def test_reports_written_together_are_renamed_at_the_end(tmp_path: Path, run):
    a, b = _stale(tmp_path / "a.json"), _stale(tmp_path / "b.sarif")
    with outputs.together():
        outputs.write(a, "new a")
        outputs.write(b, "new b")
        assert a.read_text() == b.read_text() == "last night's report\n"  # not yet
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.sarif"]
    assert outputs.written == [str(a), str(b)]


@pytest.mark.parametrize(
    "failure", [ImgscanError("b.sarif", "cannot write the report: No space left on device"), KeyboardInterrupt()]
)
def test_reports_written_together_are_all_or_none(tmp_path: Path, run, failure):
    """A failure (a report that cannot be written, a bug, Ctrl-C) after the first of two reports used to leave
    that one, this run's, beside an earlier run's second: now neither is replaced, and no temporary file is left."""
    a, b = _stale(tmp_path / "a.json"), _stale(tmp_path / "b.sarif")
    with pytest.raises(type(failure)):
        with outputs.together():
            outputs.write(a, "new a")
            raise failure
    assert a.read_text() == b.read_text() == "last night's report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.sarif"]
    assert outputs.written == []


def test_a_rename_that_fails_takes_back_the_ones_before_it(tmp_path: Path, run, monkeypatch):
    a, b, c = (_stale(tmp_path / name) for name in ("a.json", "b.sarif", "c.html"))
    real = os.replace

    def replace(source, target):
        if Path(target).name == "b.sarif":
            raise OSError(errno.EIO, "Input/output error")
        real(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(ImgscanError, match="b.sarif: cannot write the report: Input/output error"):
        with outputs.together():
            for path in (a, b, c):
                outputs.write(path, f"new {path.name}")
    assert not a.exists()  # this run's, taken back: its reports are all there or none is
    assert (b.read_text(), c.read_text()) == ("last night's report\n",) * 2  # what discard_stale then removes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.sarif", "c.html"]
    assert outputs.written == []
