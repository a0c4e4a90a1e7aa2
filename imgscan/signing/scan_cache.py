"""The verdict cache of single scans: one SQLite file in the user's cache directory, bounded in size.

CI scans the same golden image every night, rebuilt with a handful of changed catalogs; with this cache
only those are judged again. It is the fleet's `VerdictCache` (same key, same tables, same JSON entries)
in a file of its own, plus what a cache on a user's disk needs:

- a size bound: each entry's size and last use are kept (`recency`); past the bound, the least recently
  used entries go until a fifth of the room is free again, then the certificates no entry names;
- several scans at once: SQLite's WAL journal lets readers go on while one scan writes, and writes are
  transactions (`BEGIN IMMEDIATE`), so two scans of one image both store their results whole;
- damage: an entry or certificate that does not match its checksum is judged again; a file SQLite itself
  cannot read (`sqlite3.DatabaseError`) makes this scan stop using the cache (`failure` says why), and
  whoever opened it discards the file unless SQLite only could not get at it (`imgscan.cli.cache`).
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from imgscan.signing.verdict_cache import Connection, VerdictCache
from imgscan.signing.verdict_codec import Undecodable, cert_ids

if TYPE_CHECKING:
    from imgscan.signing.catalog_workers import Known

RECENCY = "CREATE TABLE IF NOT EXISTS recency (key TEXT PRIMARY KEY, used INTEGER NOT NULL, size INTEGER NOT NULL)"
DEFAULT_LIMIT = 512 * 1024 * 1024  # bytes of entries and certificates
HEADROOM = 0.8  # an eviction leaves the cache at this fraction of its bound


class ScanCache(VerdictCache):
    """A VerdictCache that records when each entry was last used and stays under `limit` bytes."""

    def __init__(self, db: Connection, limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(db)
        self.limit = limit
        self.failure: sqlite3.DatabaseError | None = None  # why SQLite failed; the cache is then not used
        self._used: set[str] = set()

    def get_many(self, wanted: dict[str, str]) -> dict[str, Known]:
        if self.failure:
            self.misses += len(wanted)
            return {}
        try:
            found = super().get_many(wanted)
        except sqlite3.DatabaseError as exc:
            self._damage(exc, len(wanted))
            return {}
        self._used.update(found)
        return found

    def put(self, results: dict[str, Known]) -> None:
        if self.failure:
            return
        try:
            super().put(results)
        except sqlite3.DatabaseError as exc:
            self._damage(exc)

    def close(self) -> None:
        """Note the entries this scan reused as recently used (one write for the whole scan)."""
        if self.failure or not self._used:
            return
        try:
            with self._db.transaction():
                self._db.executemany(
                    "UPDATE recency SET used = ? WHERE key = ?", [(time.time_ns(), k) for k in sorted(self._used)]
                )
        except sqlite3.DatabaseError as exc:
            self._damage(exc)
        self._used.clear()

    def _damage(self, exc: sqlite3.DatabaseError, misses: int = 1) -> None:
        self.failure = exc
        self.misses += misses

    def _write(self, entries: dict[str, bytes], certs: dict[str, bytes]) -> None:
        super()._write(entries, certs)
        now = time.time_ns()
        self._db.executemany(
            "INSERT INTO recency (key, used, size) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET used = excluded.used, "
            "size = excluded.size",
            [(key, now, len(key) + len(entry)) for key, entry in sorted(entries.items())],
        )
        self._evict()

    def _evict(self) -> None:
        """Inside the write's transaction: past the bound, drop the least recently used entries (never one
        this scan just wrote or used if older ones are left), then the certificates no entry names."""
        (entries,) = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM recency").fetchone()
        (certs,) = self._db.execute("SELECT COALESCE(SUM(LENGTH(der)), 0) FROM certificates").fetchone()
        if entries + certs <= self.limit:
            return
        excess = entries + certs - int(self.limit * HEADROOM)
        doomed: list[str] = []
        for key, size in self._db.execute("SELECT key, size FROM recency ORDER BY used, key"):
            if excess <= 0:
                break
            doomed.append(key)
            excess -= size
        self._db.executemany("DELETE FROM verdicts WHERE key = ?", [(k,) for k in doomed])
        self._db.executemany("DELETE FROM recency WHERE key = ?", [(k,) for k in doomed])
        named: set[str] = set()
        for (entry,) in self._db.execute("SELECT result FROM verdicts"):
            try:
                named |= cert_ids(bytes(entry))
            except Undecodable:
                continue  # an unreadable entry is judged again and replaced; its certificates come back with it
        unnamed = [(name,) for (name,) in self._db.execute("SELECT id FROM certificates") if name not in named]
        self._db.executemany("DELETE FROM certificates WHERE id = ?", unnamed)
