"""An in-memory Windows volume for the unit tests: the files of a scenario (paths -> bytes), read
through the same `WindowsVolume` interface a disk image or a directory gives the scan."""

from __future__ import annotations

import io
from datetime import date

from imgscan.image import ImageIdentity, OpenedImage
from imgscan.image.volume import ArtefactUnreadable
from imgscan.loader import load_checks
from imgscan.scan import Options, ScanResult, scan_volume
from sample_images.scenario import Scenario, volume_files


class MemoryVolume:
    """Files by path (either separator, any case); directories are implied by the paths below them.
    A path mapped to None is an entry that exists but cannot be read as a file."""

    def __init__(self, files: dict[str, bytes | None]) -> None:
        self._files = {self._key(path): (path.replace("/", "\\"), data) for path, data in files.items()}
        self._dirs: dict[str, dict[str, str]] = {}
        for stored, _ in self._files.values():
            parts = stored.split("\\")
            for depth in range(len(parts)):
                parent = "\\".join(parts[:depth]).lower()
                self._dirs.setdefault(parent, {})[parts[depth].lower()] = parts[depth]

    @staticmethod
    def _key(path: str) -> str:
        return "\\".join(p for p in path.replace("/", "\\").lower().split("\\") if p)

    def open(self, path: str) -> io.BytesIO:
        key = self._key(path)
        if key not in self._files:
            if key in self._dirs:
                raise ArtefactUnreadable(path, "a directory where a file is expected")
            raise FileNotFoundError(path)
        data = self._files[key][1]
        if data is None:
            raise ArtefactUnreadable(path, "not a regular file (a FIFO, socket or device)")
        return io.BytesIO(data)

    def exists(self, path: str) -> bool:
        key = self._key(path)
        return key in self._files or key in self._dirs

    def is_dir(self, path: str) -> bool:
        return self._key(path) in self._dirs

    def listdir(self, path: str) -> list[str]:
        return sorted(self._dirs.get(self._key(path), {}).values())


def memory_scan(
    scenario: Scenario,
    as_of: date,
    files: dict[str, bytes | None] | None = None,
    horizon_days: int = 365,
    options: Options | None = None,
) -> ScanResult:
    """Scan a scenario's files in-process, without building any image (`options`: instead of the defaults)."""
    volume = MemoryVolume(files if files is not None else dict(volume_files(scenario)))
    opened = OpenedImage(
        volume=volume,
        info=ImageIdentity(f"memory:{scenario.name}", "0" * 64, "memory"),
    )
    return scan_volume(opened, as_of, load_checks(), options or Options(horizon_days=horizon_days))
