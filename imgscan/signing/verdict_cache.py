"""The fleet's verdict cache: each distinct catalog parsed and judged once for a whole fleet.

Captures of hosts built from one golden image hold the same catalogs, judged against the same trust
stores: their verdicts are the same. The cache keys a catalog's parse and verdicts by what decides
them: the catalog's SHA-256, whether its member hashes are kept, the trust stores and installed
mitigations of the image (`Judge.fingerprint`) and the imgscan version. A host's scan still reads
every catalog (its SHA-256 is the key) but judges only catalogs no host has shown before.

It is a table in the fleet database, shared by the fleet's local worker processes through SQLite.
Entries are pickles of imgscan's own records, read back with an unpickler that builds nothing else,
so a tampered database cannot run code.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgscan import __version__

if TYPE_CHECKING:
    from imgscan.signing.catalog_workers import Known
    from imgscan.signing.validity import Judge

SCHEMA = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, result BLOB NOT NULL)"
# what a cached result may be made of: imgscan's records, and the types inside them
ALLOWED = {
    ("imgscan.signing.catalog", "Catalog"),
    ("imgscan.signing.catalog", "Timestamp"),
    ("imgscan.signing.validity", "Verdict"),
    ("imgscan.signing.certs", "shared_cert"),
    ("datetime", "datetime"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
    ("builtins", "frozenset"),
    ("builtins", "set"),
    ("builtins", "object"),
    ("copyreg", "_reconstructor"),
}


class _RecordsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"verdict cache entry names {module}.{name}, which is not an imgscan record")
        return super().find_class(module, name)


class VerdictCache:
    """Results by key in one SQLite table; counts its hits and misses for the fleet summary."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self.hits = 0
        self.misses = 0

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def key(judge: Judge, sha256: str, members: bool) -> str:
        return f"{__version__}:{judge.fingerprint()}:{sha256}:{int(members)}"

    def get(self, key: str, path: str) -> Known | None:
        """The cached result, with the catalog's own path (the one record that names a file)."""
        row = self._db.execute("SELECT result FROM verdicts WHERE key = ?", (key,)).fetchone()
        known: Known | None = None
        if row is not None:
            try:
                known = _RecordsOnly(io.BytesIO(row[0])).load()
            except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
                known = None  # an unreadable entry is judged again and replaced
        if known is None:
            self.misses += 1
            return None
        self.hits += 1
        catalog, verdict, problem, verdicts = known
        return (dataclasses.replace(catalog, path=path) if catalog else None, verdict, problem, verdicts)

    def put(self, results: dict[str, Known]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO verdicts (key, result) VALUES (?, ?)",
                [(key, pickle.dumps(known, protocol=pickle.HIGHEST_PROTOCOL)) for key, known in results.items()],
            )
