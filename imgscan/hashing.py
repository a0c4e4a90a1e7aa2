"""SHA-256 of the input, recorded in every report so a finding can be tied to the exact evidence."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import struct
import threading
from pathlib import Path

from tqdm import tqdm

from imgscan.progress import byte_bar

CHUNK = 4 * 1024 * 1024
CANCEL_WAIT = 5.0  # seconds a cancelled hash may take to notice (it looks between chunks of CHUNK bytes)


def file_sha256(path: Path) -> str:
    found = _file_digest(path, None)
    assert found is not None  # only a stop makes none
    return found


def _file_digest(path: Path, stop: threading.Event | None) -> str | None:
    """The file's SHA-256, or None when `stop` was set before the last byte."""
    digest = hashlib.sha256()
    with path.open("rb") as fh, byte_bar(f"sha256 {path.name}", path.stat().st_size) as bar:
        while chunk := fh.read(CHUNK):
            if stop is not None and stop.is_set():
                return None
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


class PendingDigest:
    """A file's SHA-256 worked out on a thread while the scan reads the image. Hashing reads every byte,
    about the whole read floor, while a scan reads a small part of the image: on a second core it costs
    no wall time (hashlib and file reads release the GIL). `result()` waits for it and raises what the
    hashing raised; `cancel()` stops it when the scan ends without it (an error, Ctrl-C)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stop = threading.Event()
        self._value: str | None = None
        self._error: Exception | None = None
        # the bar's lock imports multiprocessing the first time: made here, in the scan's thread, since an
        # import in the hashing thread waits for ever when Ctrl-C interrupted the main thread's own import
        # at the moment it held the interpreter's import lock
        tqdm.get_lock()
        self._thread = threading.Thread(target=self._run, name=f"sha256 {path.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Ctrl-C and SIGTERM are the main thread's: the kernel hands them to a thread that does not block
        # them, and where the main thread blocks them for a moment this one must not take them instead
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self._value = _file_digest(self._path, self._stop)
        except Exception as exc:  # handed to whoever asks for the result, in its thread
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._value is None:
            raise RuntimeError(f"the SHA-256 of {self._path} was cancelled")
        return self._value

    def cancel(self) -> None:
        """Stop the hashing, waiting a bounded time: a scan unwinding after Ctrl-C must end even if the thread
        is stuck (it only reads the input, so a daemon thread left behind writes nothing and ends with us)."""
        self._stop.set()
        self._thread.join(CANCEL_WAIT)


def tree_sha256(root: Path) -> str:
    """Hash of a directory tree (`imgscan-tree-v1`), stable across runs, machines and file systems.

    The tree is walked without recursion (any depth) and without following symbolic links.
    Entries are visited in the byte order of their names, depth first; names are taken as
    the bytes the file system stores (`os.fsencode`), so names that are not UTF-8 hash like any
    other. Each entry contributes one record:

        kind (1 byte: d directory, f file, l link, o other, u unreadable)
        u32 length + relative path bytes (b'/' between components)
        u32 length + value: a file's SHA-256, a link's target bytes, the error of an entry
                       that cannot be read (its errno name); empty for directories and others

    with big-endian lengths, and the digest is SHA-256 over the records. So the hash changes
    when a name, a content, a link target or the shape of the tree changes, not with times
    or permissions alone; an unreadable entry is part of the hash instead of an error.
    """
    digest = hashlib.sha256(b"imgscan-tree-v1\n")
    # one open directory descriptor per level of the current path, so no path string grows past
    # PATH_MAX however deep the tree is; a level that cannot be opened is recorded as unreadable
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    stack: list[tuple[int, bytes, list[os.DirEntry[str]]]] = [(root_fd, b"", _listing(root_fd))]
    with byte_bar(f"sha256 {root.name}", None) as bar:
        while stack:
            fd, relative, pending = stack[-1]
            if not pending:
                os.close(fd)
                stack.pop()
                continue
            entry = pending.pop()
            name = os.fsencode(entry.name)  # scandir on a descriptor gives str names (surrogate-escaped)
            rel = relative + b"/" + name if relative else name
            kind, value = _entry(fd, entry, bar)
            if kind == b"d":
                try:
                    child = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                    children = _listing(child)
                except OSError as exc:
                    digest.update(_record(b"u", rel, _errno(exc)))
                    continue
                digest.update(_record(kind, rel, value))
                stack.append((child, rel, children))
            else:
                digest.update(_record(kind, rel, value))
    return digest.hexdigest()


def _listing(fd: int) -> list[os.DirEntry[str]]:
    """A directory's entries in reverse byte order of their names (popped from the end: name order)."""
    with os.scandir(fd) as listing:
        return sorted(listing, key=lambda e: os.fsencode(e.name), reverse=True)


def _entry(fd: int, entry: os.DirEntry[str], bar: tqdm) -> tuple[bytes, bytes]:
    try:
        if entry.is_symlink():
            return b"l", os.fsencode(os.readlink(entry.name, dir_fd=fd))
        if entry.is_dir(follow_symlinks=False):
            return b"d", b""
        if not entry.is_file(follow_symlinks=False):
            return b"o", b""  # FIFO, socket, device: never opened
        file_digest = hashlib.sha256()
        handle = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        with open(handle, "rb") as fh:
            while chunk := fh.read(CHUNK):
                file_digest.update(chunk)
                bar.update(len(chunk))
        return b"f", file_digest.digest()
    except OSError as exc:
        return b"u", _errno(exc)


def _record(kind: bytes, path: bytes, value: bytes) -> bytes:
    return kind + struct.pack(">I", len(path)) + path + struct.pack(">I", len(value)) + value


def _errno(exc: OSError) -> bytes:
    return (errno.errorcode.get(exc.errno or 0) or type(exc).__name__).encode()
