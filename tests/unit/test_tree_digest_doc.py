"""docs/formats.md says how a directory's `sha256` (imgscan-tree-v1) is made, so that anyone can check a report's
digest of an extracted image without imgscan. This implements that text, and nothing else, and compares."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from imgscan.hashing import tree_sha256


def _documented(root: Path) -> str:
    digest = hashlib.sha256(b"imgscan-tree-v1\n")

    def record(kind: bytes, path: bytes, value: bytes) -> bytes:
        return kind + struct.pack(">I", len(path)) + path + struct.pack(">I", len(value)) + value

    def walk(folder: Path, relative: bytes) -> None:
        for name in sorted(os.listdir(os.fsencode(folder))):  # byte order of the names, depth first
            path, rel = folder / os.fsdecode(name), relative + b"/" + name if relative else name
            if path.is_symlink():
                digest.update(record(b"l", rel, os.fsencode(os.readlink(path))))
            elif path.is_dir():
                digest.update(record(b"d", rel, b""))
                walk(path, rel)
            else:
                digest.update(record(b"f", rel, hashlib.sha256(path.read_bytes()).digest()))

    walk(root, b"")
    return digest.hexdigest()


def test_the_documented_tree_digest_is_the_one_reports_give(tmp_path: Path) -> None:
    (tmp_path / "Windows" / "System32" / "config").mkdir(parents=True)
    (tmp_path / "Windows" / "System32" / "config" / "SOFTWARE").write_bytes(b"regf" + bytes(60))
    (tmp_path / "Windows" / "a.log").write_text("x")
    (tmp_path / "B").write_bytes(b"")
    (tmp_path / "link").symlink_to("Windows/a.log")
    (tmp_path / os.fsdecode(b"caf\xe9")).write_bytes(b"latin-1 name")  # a name that is not UTF-8
    assert tree_sha256(tmp_path) == _documented(tmp_path)
