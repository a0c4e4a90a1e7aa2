"""The verdict cache: each distinct catalog parsed and judged once, for a fleet or for every scan on a machine.

Captures of hosts built from one golden image hold the same catalogs, judged against the same trust
stores: their verdicts are the same; so are those of tonight's rebuild of a golden image and last night's,
but for the few catalogs that changed. The cache keys a catalog's parse and verdicts by what decides them:
the catalog's SHA-256, whether its member hashes are kept, the trust stores and installed mitigations of
the image (`Judge.fingerprint`), the imgscan version and the entry format. A scan still reads every
catalog (its SHA-256 is the key) but judges only catalogs the cache has not seen.

Two tables, in the fleet database (its `SCHEMA` is created by the fleet's store) or in a single scan's
cache file (`scan_cache`): entries as checksummed JSON (`verdict_codec`; no pickle, so a tampered row
cannot run code, and a damaged one is judged again), and the certificates they name, once each. Both
understand the statements below, SQLite and PostgreSQL alike, once placeholders are translated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from imgscan import __version__
from imgscan.signing.certs import Cert, shared_cert
from imgscan.signing.verdict_codec import Decoder, Undecodable, encode

if TYPE_CHECKING:
    from imgscan.signing.catalog_record import Catalog
    from imgscan.signing.catalog_workers import Known
    from imgscan.signing.validity import Judge

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, result BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS certificates (id TEXT PRIMARY KEY, der BLOB NOT NULL)"
)
FORMAT = "json1"  # the entry format (verdict_codec), part of the key: entries of another format are not looked at
LOOKUP_BATCH = 500  # keys per look-up: below SQLite's limit of bound parameters on any version


class Connection(Protocol):
    """What the cache needs of the fleet database's connection (imgscan.fleet.database.Database)."""

    def execute(self, sql: str, params: Sequence[object] = ...) -> Any: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...

    def transaction(self) -> AbstractContextManager[Any]: ...


class VerdictCache:
    """Results by key in the cache's tables; counts its hits and misses (the fleet summary shows them).
    A certificate is read from its table and parsed once per cache (and shared with every other parse of
    it in this process, `shared_cert`), however many entries name it.

    A fleet worker scans capture after capture of the same images: an entry this process decoded for the
    cache before it (the previous image's scan) is taken as decoded when its row is byte for byte the one
    decoded, so that each read of an image does not decode its thousands of entries again (an eighth of a
    worker's time per capture, bench/catalogs.py). Only the previous cache's entries are kept, with this
    one's: the memory of at most two images' verdicts, which their scans hold anyway."""

    _latest: dict[str, tuple[bytes, Known]] = {}  # the entries the newest cache of this process decoded, by key

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._certs: dict[str, Cert] = {}
        self._decoder = Decoder(self._certificate)
        self.hits = 0
        self.misses = 0
        self._earlier = VerdictCache._latest
        self._decoded: dict[str, tuple[bytes, Known]] = {}
        VerdictCache._latest = self._decoded

    @staticmethod
    def key(judge: Judge, sha256: str, members: bool) -> str:
        return f"{__version__}:{FORMAT}:{judge.fingerprint()}:{sha256}:{int(members)}"

    def get(self, key: str, path: str) -> Known | None:
        """The cached result of one catalog (see `get_many`)."""
        return self.get_many({key: path}).get(key)

    def get_many(self, wanted: dict[str, str]) -> dict[str, Known]:
        """The cached results of `wanted` (key -> the catalog's own path, the one record that names a file),
        read LOOKUP_BATCH keys per query; a key the cache lacks, or whose entry cannot be read back (it is
        then judged again and replaced), is left out."""
        rows = dict(self._rows("key, result", list(wanted)))
        found: dict[str, Known] = {}
        for key, path in wanted.items():
            row = rows.get(key)
            if row is None:
                continue
            entry = bytes(row)
            seen = self._decoded.get(key) or self._earlier.get(key)
            if seen is not None and seen[0] == entry:
                found[key] = _at(seen[1], path)
                self._decoded[key] = seen
                continue
            try:
                found[key] = self._decoder.decode(entry, path)
            except (Undecodable, KeyError):
                continue
            self._decoded[key] = (entry, found[key])
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        return found

    def _rows(self, columns: str, keys: list[str]) -> list[Any]:
        """`columns` of the entries of `keys`, LOOKUP_BATCH keys per query (one round trip each, not one per key)."""
        rows: list[Any] = []
        for start in range(0, len(keys), LOOKUP_BATCH):
            batch = keys[start : start + LOOKUP_BATCH]
            query = f"SELECT {columns} FROM verdicts WHERE key IN ({', '.join('?' * len(batch))})"
            rows += self._db.execute(query, batch).fetchall()
        return rows

    def _certificate(self, name: str) -> Cert:
        cert = self._certs.get(name)
        if cert is None:
            row = self._db.execute("SELECT der FROM certificates WHERE id = ?", (name,)).fetchone()
            der = bytes(row[0]) if row is not None else b""
            if hashlib.sha256(der).hexdigest() != name:  # missing, or not the certificate the entry names
                raise KeyError(name)
            cert = self._certs[name] = shared_cert(der)
        return cert

    def known(self, keys: set[str]) -> set[str]:
        """Which of `keys` the cache holds (not counted as hits: nothing is read back)."""
        return {row[0] for row in self._rows("key", sorted(keys))}

    def put(self, results: dict[str, Known]) -> None:
        """Store `results`; one JSON cannot carry exactly (see `verdict_codec.encode`) is left out."""
        entries: dict[str, bytes] = {}
        certs: dict[str, bytes] = {}
        for key, known in results.items():
            try:
                entries[key], named = encode(known)
            except Undecodable:
                continue
            certs.update(named)
        with self._db.transaction():
            self._write(entries, certs)

    def _write(self, entries: dict[str, bytes], certs: dict[str, bytes]) -> None:
        """Inside the put's transaction: certificates first, so that no entry names one that is missing."""
        self._db.executemany(
            "INSERT INTO certificates (id, der) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", sorted(certs.items())
        )
        self._db.executemany(
            # an entry replaced: one that could not be read back is judged again and written anew
            "INSERT INTO verdicts (key, result) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET result = excluded.result",
            sorted(entries.items()),
        )


def _at(known: Known, path: str) -> Known:
    """`known` for the catalog at `path`: the record names its own file (nested signatures too)."""
    catalog = known[0]
    if catalog is None or catalog.path == path:
        return known
    return (_moved(catalog, path), *known[1:])


def _moved(catalog: Catalog, path: str) -> Catalog:
    return replace(catalog, path=path, nested=tuple(_moved(n, path) for n in catalog.nested))
