"""Every file the artefact readers open is one the WIM backend extracts.

The WIM backend extracts only the paths in `imgscan.image.wim.WANTED`; a reader that opens a path
outside them works on a disk image and silently finds nothing in a WIM. This test gathers the
artefacts of sample trees through a volume that records each file opened, and checks every one
against WANTED.
"""

from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path

import pytest

from imgscan.artefacts import gather
from imgscan.image.volume import directory_volume
from imgscan.image.wim import WANTED
from sample_images.scenario import load, write_tree


class RecordingVolume:
    """A WindowsVolume that remembers the path of every file opened."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.opened: list[str] = []

    def open(self, path: str):
        self.opened.append(path)
        return self.inner.open(path)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def _wanted(path: str) -> bool:
    posix = "/" + path.replace("\\", "/")
    return any(fnmatch.fnmatch(posix.lower(), pattern.lower()) for pattern in WANTED)


@pytest.mark.parametrize("scenario", ["seed000", "seed001", "healthy"])
def test_every_opened_path_is_extracted_from_a_wim(tmp_path: Path, scenario: str):
    tree = write_tree(load(scenario), tmp_path / scenario)
    # the logs a host can also carry: WindowsUpdate.log and a .NET setup log in a profile's Temp
    (tree / "Windows" / "WindowsUpdate.log").write_text("2013-07-01\t09:00:00:000\t 1\t 1\tAgent\tstarted\n")
    temp = tree / "Users" / "Default" / "AppData" / "Local" / "Temp"
    temp.mkdir(parents=True)
    (temp / "KB2656368.html").write_text("<html></html>")
    volume = RecordingVolume(directory_volume(tree))
    art = gather(volume, date(2013, 7, 1))
    for user in art.user_hives:
        user.open()  # what the WinTrust check reads
    assert volume.opened, "nothing was read"
    outside = sorted(p for p in volume.opened if not _wanted(p))
    assert not outside, f"read but never extracted from a WIM: {outside}"
    assert any(p.endswith("WindowsUpdate.log") for p in volume.opened)
    assert any(p.lower().endswith("kb2656368.html") for p in volume.opened)
