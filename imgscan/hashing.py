"""SHA-256 of the input, recorded in every report so a finding can be tied to the exact evidence."""

from __future__ import annotations

import hashlib
from pathlib import Path

from imgscan.progress import byte_bar

CHUNK = 4 * 1024 * 1024


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh, byte_bar(f"sha256 {path.name}", path.stat().st_size) as bar:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def tree_sha256(root: Path) -> str:
    """Hash of a directory tree: SHA-256 over sorted `relative-path NUL file-sha256 LF` lines.

    A directory has no bytes of its own; this hash changes when any file's
    name or content changes, and not when only timestamps do.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    for path in files:
        digest.update(f"{path.relative_to(root).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
