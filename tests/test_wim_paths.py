"""Every artefact kind declares every path its loader opens, so a WIM extracts all a scan reads.

The WIM backend extracts only the registry's `paths()`, the union of the kinds' paths; a loader that opened
a path its kind does not declare would work on a disk image and find nothing in a WIM. Each kind is
loaded here through a volume that records every file opened, and checked against its own paths.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from imgscan.artefacts import Artefacts, builtin_registry
from imgscan.image import ImageIdentity, OpenedImage
from imgscan.image.volume import directory_volume
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


def _declared(path: str, patterns: tuple[str, ...]) -> bool:
    posix = "/" + path.replace("\\", "/")
    return any(fnmatch.fnmatch(posix.lower(), pattern.lower()) for pattern in patterns)


@pytest.mark.parametrize("scenario", ["ws-acc-0417", "ref-w7-2012q3", "healthy"])
def test_each_kind_opens_only_the_paths_it_declares(tmp_path: Path, scenario: str):
    spec = load(scenario)
    spec.image_state = "IMAGE_STATE_COMPLETE"  # and a Windows\Setup\State\State.ini to read
    tree = write_tree(spec, tmp_path / scenario)
    # the logs a host can also carry: WindowsUpdate.log and a .NET setup log in a profile's Temp
    (tree / "Windows" / "WindowsUpdate.log").write_text("2013-07-01\t09:00:00:000\t 1\t 1\tAgent\tstarted\n")
    temp = tree / "Users" / "Default" / "AppData" / "Local" / "Temp"
    temp.mkdir(parents=True)
    (temp / "KB2656368.html").write_text("<html></html>")
    volume = RecordingVolume(directory_volume(tree))
    registry = builtin_registry()
    art = Artefacts(OpenedImage(volume, ImageIdentity(str(tree), "0" * 64, "directory")), registry)
    read = []
    for kind in registry.kinds:  # in load order (requires first), so a kind's own reads are told apart from its inputs'
        volume.opened = []
        art.get(kind)
        outside = sorted(p for p in volume.opened if not _declared(p, kind.paths))
        assert not outside, f"kind {kind.name} read paths it does not declare: {outside}"
        read += volume.opened
    assert any(p.endswith("WindowsUpdate.log") for p in read)
    assert any(p.lower().endswith("kb2656368.html") for p in read)
    assert any(p.lower().endswith("state.ini") for p in read)
    assert all(_declared(p, registry.paths()) for p in read)
