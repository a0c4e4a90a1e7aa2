"""What a fleet scan reads: image files, directories of them, globs, or a manifest CSV (`path,host,...`).

A directory that is itself an extracted Windows volume is one image; any other
directory is searched (recursively) for image files, recognised by their magic
bytes; a file there whose name says it is an image but whose header is not one
is kept too, so that it becomes an error row instead of vanishing. Extra
manifest columns are kept as labels, except `target_firmware` (2011-only, 2023, unknown, or a db
export file relative to the manifest: what that host's Secure Boot db holds, entries included, as
`--target-firmware` says for one scan) and `target_dbx` (that host's exported dbx, as `--target-dbx`).

An image is identified by its resolved path (symbolic links followed, made
absolute), so `a.vhdx`, `./a.vhdx`, `/abs/a.vhdx` and a link to it are one
image: one database row, one summary line, never rescanned by `--resume`.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from imgscan.errors import ImgscanError
from imgscan.image.sniff import read_header
from imgscan.signing.firmware_db import UNKNOWN, FirmwareTarget, SignatureDatabase, firmware_target, read_dbx

T = TypeVar("T")
SKIPPED = {"unknown"}
IMAGE_EXTENSIONS = {".vhd", ".vhdx", ".vmdk", ".e01", ".wim", ".esd", ".swm", ".img", ".raw"}


@dataclass(frozen=True)
class Target:
    path: str
    host: str | None = None  # from the manifest; else the scan's ComputerName, else the file name
    labels: dict[str, str] = field(default_factory=dict)
    target_firmware: FirmwareTarget = UNKNOWN  # the manifest's optional target_firmware column (see --target-firmware)
    target_dbx: SignatureDatabase | None = None  # the manifest's optional target_dbx column (see --target-dbx)

    def settings(self) -> str:
        """What this host's scan depends on beyond the fleet's options: --resume scans a host again when it changes."""
        return f"{self.target_firmware.setting()}:{self.target_dbx.sha256 if self.target_dbx else ''}"


def _is_windows_tree(path: Path) -> bool:
    return any(p.name.lower() == "windows" and (p / "System32" / "config").is_dir() for p in path.iterdir() if p.is_dir())


def _is_image(path: Path) -> bool:
    """A file to scan: one imgscan can open (of a split WIM set only part 1, by the header's part number
    at offset 40), or one named like an image whose header is not one, so that it becomes an error row."""
    try:
        header = read_header(path)
    except OSError:
        return path.suffix.lower() in IMAGE_EXTENSIONS
    if header.wim_part is not None:
        return header.wim_part <= 1
    return header.format not in SKIPPED or path.suffix.lower() in IMAGE_EXTENSIONS


def _manifest(path: Path) -> list[Target]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "path" not in rows[0]:
        raise ImgscanError(str(path), "a manifest needs a header row with a 'path' column (and optionally 'host')")
    targets = []
    for row in rows:
        image = Path(row["path"])
        if not image.is_absolute():
            image = path.parent / image
        labels = {k: v for k, v in row.items() if k not in ("path", "host", "target_firmware", "target_dbx") and v}
        firmware = _column(row, "target_firmware", path, image, lambda text: firmware_target(text or "unknown", path.parent))
        dbx = _column(row, "target_dbx", path, image, lambda text: read_dbx(text, path.parent) if text else None)
        targets.append(Target(str(image), row.get("host") or None, labels, firmware, dbx))
    return targets


def _column(row: dict[str, str], name: str, manifest: Path, image: Path, read: Callable[[str], T]) -> T:
    """One optional column of a manifest row, read; a bad value is an error naming the row and column."""
    try:
        return read((row.get(name) or "").strip())
    except ImgscanError as exc:
        raise ImgscanError(str(manifest), f"row for {image}: {name} {exc}", exc.advice) from None


def collect(inputs: list[str]) -> list[Target]:
    """Every image named by `inputs`, in a stable order, each once."""
    found: dict[str, Target] = {}
    for text in inputs:
        paths = [Path(p) for p in sorted(glob.glob(text))] if any(c in text for c in "*?[") else [Path(text)]
        if not paths:
            raise ImgscanError(text, "the pattern matches no file")
        for path in paths:
            if path.is_file() and path.suffix.lower() == ".csv":
                targets = _manifest(path)
            elif path.is_dir() and not _is_windows_tree(path):
                targets = [Target(str(p)) for p in sorted(path.rglob("*")) if p.is_file() and _is_image(p)]
            elif path.exists():
                targets = [Target(str(path))]
            else:
                raise ImgscanError(str(path), "no such file or directory")
            for target in targets:
                resolved = dataclasses.replace(target, path=_resolved(target.path))
                found.setdefault(resolved.path, resolved)
    return list(found.values())


def _resolved(path: str) -> str:
    return str(Path(path).resolve())
