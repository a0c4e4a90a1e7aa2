"""Where the seed inputs come from: the sample image builders (sample_images/) and the real files
written by Windows in ../shared/realdata (read in place, never copied into the repository).

The real files are optional here as everywhere in the tests: without them the seeds are the
builders' files alone."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO.parent / "shared" / "realdata"
SCENARIOS = ("ws-acc-0417", "ref-w7-2012q3", "uefi-healthy", "bootmgr-tampered", "component-store")


@functools.cache
def scenario_files(name: str) -> dict[str, bytes]:
    """Every file of a sample scenario's Windows volume, by path (forward slashes)."""
    from sample_images.scenario import load, volume_files

    files: dict[str, bytes] = volume_files(load(name))  # sample_images is not type-checked from here (pyproject)
    return files


def sample_files(suffix: str) -> Iterator[bytes]:
    """The sample scenarios' files whose path ends with `suffix` (case-insensitive)."""
    for name in SCENARIOS:
        for path, data in sorted(scenario_files(name).items()):
            if path.lower().endswith(suffix.lower()):
                yield data


def real_files(folder: str, suffix: str = "") -> Iterator[bytes]:
    """The real files of ../shared/realdata/<folder> whose name ends with `suffix` (xz-compressed
    ones decompressed)."""
    import lzma

    directory = REALDATA / folder
    for path in sorted(directory.glob("*")) if directory.is_dir() else []:
        name = path.name.removesuffix(".xz")
        if path.is_file() and name.lower().endswith(suffix.lower()):
            data = path.read_bytes()
            yield lzma.decompress(data) if path.suffix == ".xz" else data
