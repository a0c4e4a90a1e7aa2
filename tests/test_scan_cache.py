"""Issue 28, part 2: a single scan's persistent verdict cache. Reports are byte-identical with and without
it and with any --jobs; it is bounded (least recently used entries go), shared safely by scans running at
once, never written next to the image, and a damaged file is discarded with one warning, never trusted."""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import multiprocessing.synchronize
import os
import sqlite3
import stat
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

from imgscan.fleet.database import SQLite
from imgscan.signing.catalog_workers import judge_one
from imgscan.signing.certs import CertCache
from imgscan.signing.scan_cache import RECENCY, ScanCache
from imgscan.signing.trust_store import build_store
from imgscan.signing.validity import Judge, Verdict
from imgscan.signing.verdict_cache import SCHEMA, VerdictCache
from imgscan.signing.verdict_codec import Decoder, Undecodable, cert_id, encode
from sample_images.catalog_writer import Signature, write_catalog
from sample_images.pki import make_pki, utc
from tests.conftest import REALDATA, REPO, run_imgscan
from tests.realdata import needs_realdata

SAMPLES = [REPO / "sample_images" / "built" / f"{name}.vhdx" for name in ("ref-w7-2012q3", "healthy")]
REAL = sorted((REALDATA / "catalogs").glob("*.cat"))
AS_OF = "2013-07-01"


def _judge() -> Judge:
    certs = CertCache()
    return Judge(build_store(certs, None), certs, None)


@functools.cache
def _judged() -> dict[str, tuple]:
    """Every real catalog, a dual-signed one (sample_images' writer) and a truncated one, judged."""
    pki = make_pki()
    dual = write_catalog(
        [b"a"],
        utc("2016-01-01T00:00:00"),
        pki.signer("Dual Vendor (SHA-1)", "2015-01-01T00:00:00", "2017-01-01T00:00:00"),
        [pki.code_pca, pki.stamp_pca],
        (pki.tsa_good, utc("2016-01-01T00:00:00")),
        nested=[Signature(pki.signer("Dual Vendor (SHA-2)", "2015-01-01T00:00:00", "2019-01-01T00:00:00"), [pki.code_pca])],
    )
    files = {path.name: path.read_bytes() for path in REAL} | {"dual.cat": dual, "truncated.cat": REAL[0].read_bytes()[:700]}
    judge = _judge()
    return {name: judge_one(judge, name, data, True) for name, data in files.items()}


def _certs(catalog) -> list:
    stamp = catalog.timestamp
    found = [*catalog.certificates, catalog.signer, *((stamp.signer, *stamp.certificates) if stamp else ())]
    return [c for c in found if c] + [c for nested in catalog.nested for c in _certs(nested)]


@needs_realdata
def test_every_real_catalog_comes_back_from_json_exactly():
    assert len(REAL) >= 20
    judged = _judged()
    assert any(k[0] and k[0].nested for k in judged.values()) and any(k[0] is None for k in judged.values())
    for name, known in judged.items():
        entry, certs = encode(known)
        by_id = {cert_id(c): c for c in (_certs(known[0]) if known[0] else [])}
        assert set(certs) == set(by_id)
        assert Decoder(by_id.__getitem__).decode(entry, name) == known, name


@needs_realdata
def test_one_decoder_shares_chains_and_verdicts_without_mixing_entries_up():
    """A cache decodes every entry with one Decoder, which builds a chain or verdict once for all the
    entries naming it: each entry still comes back as its own catalog, and equal parts are one object."""
    judged = _judged()
    entries = {name: encode(known) for name, known in judged.items()}
    by_id = {cert_id(c): c for known in judged.values() if known[0] for c in _certs(known[0])}
    decoder = Decoder(by_id.__getitem__)
    decoded = {name: decoder.decode(entry, name) for name, (entry, _) in entries.items()}
    assert decoded == judged
    verdicts = [k[1] for k in decoded.values() if k[1]]
    assert len({id(v) for v in verdicts}) == len(set(verdicts)) < len(verdicts)
    chains = [k[0].certificates for k in decoded.values() if k[0] and k[0].certificates]
    assert len({id(c) for c in chains}) == len(set(chains)) < len(chains)


def test_verdicts_that_differ_in_any_one_field_decode_apart():
    """The decoder shares equal verdicts: two that differ in one field only must still come back apart."""
    base = Verdict("expires", "no-timestamp", utc("2011-01-01T00:00:00"), utc("2014-03-01T00:00:00"), "r", "0x800B0101")
    changed = {"status": "valid", "cause": "x", "valid_from": None, "valid_until": None, "reason": "other", "hresult": None}
    variants = [replace(base, **{f.name: changed.get(f.name, "KB2749655")}) for f in fields(Verdict)]
    decoder = Decoder(lambda name: pytest.fail("a verdict names no certificate"))
    decoded = [decoder.decode(encode((None, v, None, None))[0], "x.cat")[1] for v in [base, *variants]]
    assert decoded == [base, *variants] and len(set(decoded)) == len(fields(Verdict)) + 1


@needs_realdata
def test_a_flipped_bit_or_a_pickle_is_refused():
    known = next(iter(_judged().values()))
    entry, _ = encode(known)
    flipped = entry[:100] + bytes([entry[100] ^ 1]) + entry[101:]
    for bad in (flipped, entry[:-1], b"\x80\x04K\x01.", b""):
        with pytest.raises(Undecodable):
            Decoder(lambda name: pytest.fail("a refused entry names no certificate")).decode(bad, "x.cat")


def _cache(path: Path, limit: int) -> tuple[SQLite, ScanCache]:
    db = SQLite(path)
    db.create(SCHEMA + ";" + RECENCY)
    return db, ScanCache(db, limit)


@needs_realdata
def test_least_recently_used_entries_go_first_and_the_bound_holds(tmp_path):
    judged = list(_judged().values())
    sizes = [len(encode(k)[0]) for k in judged]
    limit = 6 * max(sizes) + 20_000  # room for a few entries and their certificates
    db, cache = _cache(tmp_path / "c.sqlite", limit)
    cache.put({"k0": judged[0]})
    cache.put({"k1": judged[1]})
    assert cache.get("k0", "a.cat") is not None
    cache.close()  # k0 now used after k1
    for n, known in enumerate(judged[2:], 2):
        cache.put({f"k{n}": known})
        used = db.execute("SELECT COALESCE(SUM(size), 0) FROM recency").fetchone()[0]
        assert used + db.execute("SELECT SUM(LENGTH(der)) FROM certificates").fetchone()[0] <= limit
    left = {row[0] for row in db.execute("SELECT key FROM verdicts")}
    assert f"k{len(judged) - 1}" in left and len(left) < len(judged)
    assert "k1" not in left and ("k0" in left or "k2" not in left)  # k1 went before k0, used later
    named = set().union(*(encode(judged[int(k[1:])])[1] for k in left))
    assert {row[0] for row in db.execute("SELECT id FROM certificates")} == named  # no certificate kept for nothing
    db.close()


def _put_many(path: str, offset: int) -> None:
    judged = list(_judged().values())
    db, cache = _cache(Path(path), 10**9)
    for n in range(60):
        cache.put({f"k{offset + n}": judged[n % len(judged)]})
        assert cache.get(f"k{n}", "x.cat") is None or cache.failure is None
    cache.close()
    assert cache.failure is None
    db.close()


@needs_realdata
def test_two_processes_write_one_cache_at_once(tmp_path):
    path = tmp_path / "c.sqlite"
    code = "import sys; from tests.test_scan_cache import _put_many; _put_many(sys.argv[1], int(sys.argv[2]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), str(o)], cwd=REPO) for o in (0, 1000)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone() == (120,)
    db2, cache = _cache(path, 10**9)
    assert all(cache.get(f"k{n}", "x.cat") is not None for n in (*range(60), *range(1000, 1060)))
    db2.close()


def _scan(image: Path, out: Path, *options: object) -> str:
    run = run_imgscan("scan", image, "--as-of", AS_OF, "-f", "json", "-o", out, *options)
    assert run.code in (0, 1), run.stderr
    return run.stderr


@pytest.mark.parametrize("image", SAMPLES, ids=lambda p: p.stem)
def test_report_is_the_same_with_and_without_the_cache_and_any_jobs(image, tmp_path):
    cache_dir = tmp_path / "cache"
    _scan(image, tmp_path / "none.json", "--no-cache", "--jobs", "1")
    _scan(image, tmp_path / "cold.json", "--cache-dir", cache_dir, "--jobs", "2")
    with sqlite3.connect(cache_dir / "verdicts.sqlite") as db:
        stored = dict(db.execute("SELECT key, used FROM recency"))
    assert stored  # the cold scan kept its verdicts
    _scan(image, tmp_path / "warm1.json", "--cache-dir", cache_dir, "--jobs", "1")
    _scan(image, tmp_path / "warm2.json", "--cache-dir", cache_dir, "--jobs", "2")
    with sqlite3.connect(cache_dir / "verdicts.sqlite") as db:
        again = dict(db.execute("SELECT key, used FROM recency"))
    assert again.keys() == stored.keys() and all(again[k] > stored[k] for k in stored)  # every one reused
    reference = (tmp_path / "none.json").read_bytes()
    for name in ("cold", "warm1", "warm2"):
        assert (tmp_path / f"{name}.json").read_bytes() == reference, name


def _open_when_told(path: Path, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    SQLite(path).close()  # raises, and the process exits non-zero, when SQLite answers "database is locked"


def test_processes_opening_a_new_cache_together_all_get_it(tmp_path):
    """Turning a new file to SQLite's WAL journal needs it alone and is answered "locked" at once, without
    SQLite's busy wait: one of two scans started together on a new cache went without it, now and then."""
    forked = multiprocessing.get_context("fork")
    for attempt in range(12):
        path = tmp_path / f"{attempt}.sqlite"
        start = forked.Barrier(4)
        opening = [forked.Process(target=_open_when_told, args=(path, start)) for _ in range(4)]
        for process in opening:
            process.start()
        for process in opening:
            process.join(60)
        assert [p.exitcode for p in opening] == [0] * 4, attempt
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_two_scans_at_once_share_the_cache(tmp_path):
    cache_dir = tmp_path / "cache"
    _scan(SAMPLES[0], tmp_path / "none.json", "--no-cache")
    command = [
        sys.executable,
        "-m",
        "imgscan",
        "scan",
        str(SAMPLES[0]),
        "--as-of",
        AS_OF,
        "-f",
        "json",
        "--cache-dir",
        str(cache_dir),
    ]
    procs = [subprocess.Popen([*command, "-o", str(tmp_path / f"{n}.json")], stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    for proc in procs:
        said = [line for line in proc.stderr.read().splitlines() if "-day horizon" not in line]  # the sample's 2019 SHA-2 day
        assert proc.wait(timeout=300) in (0, 1) and not [line for line in said if "warning" in line]
    reference = (tmp_path / "none.json").read_bytes()
    assert (tmp_path / "1.json").read_bytes() == reference == (tmp_path / "2.json").read_bytes()


def test_a_damaged_cache_is_discarded_with_one_warning(tmp_path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "verdicts.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 8192)
    _scan(SAMPLES[0], tmp_path / "none.json", "--no-cache")
    stderr = _scan(SAMPLES[0], tmp_path / "damaged.json", "--cache-dir", cache_dir)
    warnings = [line for line in stderr.splitlines() if "verdict cache" in line]
    assert len(warnings) == 1 and "damaged verdict cache discarded" in warnings[0] and "Traceback" not in stderr
    assert (tmp_path / "damaged.json").read_bytes() == (tmp_path / "none.json").read_bytes()
    with sqlite3.connect(cache_dir / "verdicts.sqlite") as db:  # started anew, and filled
        assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] > 0


def test_a_tampered_entry_is_judged_again_not_trusted(tmp_path):
    cache_dir = tmp_path / "cache"
    _scan(SAMPLES[0], tmp_path / "none.json", "--cache-dir", cache_dir)
    with sqlite3.connect(cache_dir / "verdicts.sqlite") as db:
        for key, result in db.execute("SELECT key, result FROM verdicts").fetchall():
            forged = (
                bytes(result)
                .replace(b'"status":"expires"', b'"status":"valid"')
                .replace(b'"status":"untrusted"', b'"status":"valid"')
            )
            db.execute("UPDATE verdicts SET result = ? WHERE key = ?", (forged, key))
    _scan(SAMPLES[0], tmp_path / "again.json", "--cache-dir", cache_dir)
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "none.json").read_bytes()


def _forge_valid(cache_dir: Path) -> None:
    """What a forger who may write the cache does: every expiring verdict made valid, with a matching checksum."""
    with sqlite3.connect(cache_dir / "verdicts.sqlite") as db:
        for key, result in db.execute("SELECT key, result FROM verdicts").fetchall():
            text = bytes(result)[64:].replace(b'"status":"expires"', b'"status":"valid"')
            db.execute("UPDATE verdicts SET result = ? WHERE key = ?", (hashlib.sha256(text).hexdigest().encode() + text, key))


@pytest.mark.parametrize("shared", ["writable by group and others", "owned by another user"])
def test_a_cache_another_user_could_have_written_is_not_used(shared, tmp_path):
    """A checksum cannot stop a forger: a cache only its user may write is used, any other is not, and the
    folder and file imgscan creates are its user's alone whatever the umask."""
    cache_dir = tmp_path / "cache"
    _scan(SAMPLES[0], tmp_path / "none.json", "--no-cache")
    old = os.umask(0o002)  # a CI runner's usual: new files group-writable
    try:
        _scan(SAMPLES[0], tmp_path / "cold.json", "--cache-dir", cache_dir)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache_dir / "verdicts.sqlite").stat().st_mode) == 0o600
    _forge_valid(cache_dir)
    forged = _scan(SAMPLES[0], tmp_path / "forged.json", "--cache-dir", cache_dir)
    assert "verdict cache" not in forged  # its own user's cache is trusted: the forgery is believed
    assert (tmp_path / "forged.json").read_bytes() != (tmp_path / "none.json").read_bytes()
    if shared == "writable by group and others":
        (cache_dir / "verdicts.sqlite").chmod(0o666)
        why = f"{cache_dir / 'verdicts.sqlite'} is writable by other users"
    else:
        os.chown(cache_dir, 65534, 65534)  # nobody
        why = f"{cache_dir} belongs to another user (uid 65534)"
    stderr = _scan(SAMPLES[0], tmp_path / "again.json", "--cache-dir", cache_dir)
    warnings = [line for line in stderr.splitlines() if "verdict cache" in line]
    assert warnings == [
        f"imgscan: warning: {why}: verdict cache not used, as its verdicts could be forged; every catalog "
        "is judged (chmod go-w it)"
    ]
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "none.json").read_bytes()


def test_the_cache_is_never_written_next_to_the_image(tmp_path):
    image = tmp_path / "ref-w7-2012q3.vhdx"
    image.symlink_to(SAMPLES[0])
    run = run_imgscan("scan", image, "--as-of", AS_OF, "--cache-dir", tmp_path)
    assert run.code == 2 and "next to the evidence" in run.stderr and len(run.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref-w7-2012q3.vhdx"]


@needs_realdata
def test_the_fleet_cache_reads_what_it_wrote(tmp_path):
    db = SQLite(tmp_path / "fleet.sqlite")
    db.create(SCHEMA)
    judged = _judged()
    VerdictCache(db).put(judged)
    fresh = VerdictCache(db)
    for name, known in judged.items():
        back = fresh.get(name, name)
        assert back is not None and encode(back)[0] == encode(known)[0]
    assert (fresh.hits, fresh.misses) == (len(judged), 0)
    db.close()


@needs_realdata
def test_the_next_cache_of_a_process_takes_decoded_entries_only_when_their_rows_are_unchanged(tmp_path):
    """A fleet worker's next image reuses what the previous one decoded, at the path it gives (nested
    signatures too), but a row that changed since (rewritten, damaged) is decoded again, never taken."""
    db = SQLite(tmp_path / "fleet.sqlite")
    db.create(SCHEMA)
    judged = _judged()
    VerdictCache(db).put(judged)
    first = VerdictCache(db).get_many({name: f"C:/a/{name}" for name in judged})
    assert first.keys() == judged.keys()
    [forged] = [name for name, known in judged.items() if known[1] is not None and known[1].status != "valid"][:1]
    (row,) = db.execute("SELECT result FROM verdicts WHERE key = ?", (forged,)).fetchone()
    db.execute("UPDATE verdicts SET result = ? WHERE key = ?", (bytes(row).replace(b'"status":"', b'"status":"x'), forged))
    nxt = VerdictCache(db)
    again = nxt.get_many({name: f"D:/b/{name}" for name in judged})
    assert forged not in again and nxt.misses == 1
    dual = again["dual.cat"][0]
    assert dual is not None and dual.path == "D:/b/dual.cat" and [n.path for n in dual.nested] == ["D:/b/dual.cat"]
    for name, known in again.items():
        assert known[1] is first[name][1]  # taken as decoded, not decoded again
        assert encode(known)[0] == encode(_decoded_anew(db, name, f"D:/b/{name}"))[0]
    db.close()


def _decoded_anew(db: SQLite, key: str, path: str) -> tuple:
    (row,) = db.execute("SELECT result FROM verdicts WHERE key = ?", (key,)).fetchone()
    return Decoder(VerdictCache(db)._certificate).decode(bytes(row), path)
