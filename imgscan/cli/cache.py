"""Where a single scan's verdict cache lives, and what happens when it cannot be used.

The default is the user's cache directory by the XDG rule (`$XDG_CACHE_HOME/imgscan`, else
`~/.cache/imgscan`); `--cache-dir DIR` names another, `--no-cache` turns it off. The cache is never
written next to the evidence: a directory that is the image's own folder or inside a directory image is
refused (one line, exit 2). A cache that cannot be created is a warning and the scan goes on without it;
a file SQLite cannot read is discarded with a one-line warning and started anew, never trusted.

An entry's checksum catches damage, not a forger, who can write a matching one: a cached "valid" for an
expired catalog would pass the gate. So, as OpenSSH does with its keys, a cache another user could have
written (its folder or file owned by someone else, or writable by group or others: a shared CI runner's
folder) is not used, with a one-line warning; imgscan creates its folder and file for the user alone.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from imgscan.errors import ImgscanError

if TYPE_CHECKING:
    from imgscan.fleet.database import SQLite
    from imgscan.signing.scan_cache import ScanCache

FILE = "verdicts.sqlite"


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "imgscan"


def _next_to_evidence(directory: Path, image: Path) -> bool:
    """`directory` is the folder of the image (as named, or of the file a link names) or in a directory image."""
    # os.path.realpath, not Path.resolve: a symbolic-link loop is a bad input, not a RuntimeError
    directory, real = Path(os.path.realpath(directory)), Path(os.path.realpath(image))
    folders = (real, real.parent, Path(os.path.realpath(image.absolute().parent)))
    return directory in folders or (real.is_dir() and real in directory.parents)


@contextmanager
def scan_cache(directory: Path | None, image: Path, quiet: bool) -> Iterator[ScanCache | None]:
    """The cache for one scan of `image` (None with `--no-cache`, i.e. `directory` None), closed afterwards."""
    if directory is None:
        yield None
        return
    if _next_to_evidence(directory, image):
        raise ImgscanError(str(directory), "the verdict cache would be written next to the evidence", "give another --cache-dir")

    def warn(message: str) -> None:
        if not quiet:
            print(f"imgscan: warning: {message}", file=sys.stderr)

    path = directory / FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if why := _others_could_write(directory, path):
            warn(f"{why}: verdict cache not used, as its verdicts could be forged; every catalog is judged (chmod go-w it)")
            yield None
            return
        if not path.exists():  # SQLite would create it as the umask allows (group-writable under umask 002)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db, cache = _open(path, warn)
    except OSError as exc:
        warn(f"{directory}: cannot keep the verdict cache ({exc}); every catalog is judged")
        yield None
        return
    try:
        yield cache
        cache.close()
    finally:
        db.close()
        if cache.failure:
            damaged = not isinstance(cache.failure, sqlite3.OperationalError)
            why = str(cache.failure).splitlines()[0] if str(cache.failure) else type(cache.failure).__name__
            warn(f"{path}: {'damaged verdict cache discarded' if damaged else 'verdict cache not used'} ({why})")
            if damaged:
                _discard(path)


def _others_could_write(directory: Path, path: Path) -> str | None:
    """Why a user other than this one could have written the cache folder or file (so its entries), or None.
    The journal files SQLite keeps beside the file take the file's owner and mode."""
    for target in (directory, path):
        try:
            status = target.stat()
        except FileNotFoundError:
            continue
        if status.st_uid != os.geteuid():
            return f"{target} belongs to another user (uid {status.st_uid})"
        if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"{target} is writable by other users"
    return None


def _open(path: Path, warn: Callable[[str], None]) -> tuple[SQLite, ScanCache]:
    """The cache file opened and its tables created; a file SQLite cannot read is discarded once. SQLite's
    OperationalError (cannot open, locked, disk full) is no damage: the cache is left alone, the scan goes on."""
    from imgscan.fleet.database import SQLite
    from imgscan.signing.scan_cache import RECENCY, ScanCache
    from imgscan.signing.verdict_cache import SCHEMA

    for attempt in (1, 2):
        db = None
        try:
            db = SQLite(path)
            db.create(SCHEMA + ";" + RECENCY)
            return db, ScanCache(db)
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            if isinstance(exc, sqlite3.OperationalError) or attempt == 2:
                raise OSError(str(exc)) from None
            warn(f"{path}: damaged verdict cache discarded ({str(exc).splitlines()[0]})")
            _discard(path)
    raise AssertionError("the second attempt returns or raises")


def _discard(path: Path) -> None:
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        name.unlink(missing_ok=True)
