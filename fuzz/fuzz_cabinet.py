"""The cabinet reader of preflight (`imgscan.preflight.cabinet`: cabextract's listing read into members,
its errors into one line, and the expansion into a private folder).

Input: a cabinet's bytes (.cab or .msu). cabextract (libmspack) runs as a child process, so the
coverage is that of imgscan's side: the listing and error readers, the size check.

Contract (the module's docstring):
- list_members returns `Member`s (a name without a leading slash or `..` part, a size of at least 0)
  or raises `UpdateUnreadable` with a one-line message; nothing else;
- expand writes only inside the folder it is given, and only when the listing's sizes add up to at
  most MAX_EXPANDED; it raises nothing but `UpdateUnreadable`;
- 1 GB and 10 s of CPU per input at most (the child's time is bounded by cabextract's own TIMEOUT).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fuzz.engine import Limits, fuzz, instrumented

with instrumented(__name__):
    from imgscan.preflight.cabinet import Member, UpdateUnreadable, expand, list_members

LIMITS = Limits(rss_mb=1024, seconds=10, max_len=16384, ci_runs=150)


@functools.cache
def _work() -> Path:
    """One private folder for the run: the cabinet's file and, beside it, the folder it expands into."""
    return Path(tempfile.mkdtemp(prefix="imgscan-fuzz-cab-"))


def _inside(root: Path) -> list[Path]:
    """Everything under `root`, asserted to resolve inside it (no member may escape the folder)."""
    found = list(root.rglob("*"))
    assert all(p.resolve().is_relative_to(root.resolve()) for p in found), found
    return found


def check(data: bytes) -> None:
    work = _work()
    cabinet, into = work / "fuzzed.cab", work / "expanded"
    cabinet.write_bytes(data)
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir()
    try:
        members = list_members(cabinet)
    except UpdateUnreadable as exc:
        assert "\n" not in str(exc), repr(str(exc))
        return
    assert members and all(isinstance(m, Member) and m.size >= 0 and m.name for m in members)
    try:
        expand(cabinet, into)
    except UpdateUnreadable as exc:
        assert "\n" not in str(exc), repr(str(exc))
    _inside(into)
    assert {p.name for p in work.iterdir()} == {"fuzzed.cab", "expanded"}, "written beside the folder"


def seeds() -> Iterator[bytes]:
    """Small cabinets as gcab writes them (stored and MSZIP), of the sample updates' manifests."""
    import subprocess

    from sample_images.updates import SAMPLES, _mum

    spec = next(iter(SAMPLES.values()))
    with tempfile.TemporaryDirectory(prefix="imgscan-fuzz-cab-seeds-") as folder:
        work = Path(folder)
        (work / "update.mum").write_bytes(_mum(spec, f"Package_for_{spec.kb}", None))
        (work / "payload.bin").write_bytes(bytes(range(256)) * 4)
        (work / "sub").mkdir()
        (work / "sub" / "a.txt").write_bytes(b"member in a folder\r\n")
        for flags in ([], ["-z"]):
            for names in (["update.mum"], ["update.mum", "payload.bin", "sub/a.txt"]):
                target = work / "out.cab"
                subprocess.run(["gcab", "-c", *flags, str(target), *names], cwd=work, check=True, capture_output=True)
                yield target.read_bytes()


if __name__ == "__main__":
    fuzz(check, LIMITS)
