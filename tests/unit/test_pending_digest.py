"""The image's SHA-256 is worked out beside the scan (imgscan.hashing.PendingDigest): the report must
still carry exactly the file's hash, a hashing error must reach whoever asks for it, and a scan that ends
early must not leave a thread reading the evidence."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from imgscan.hashing import CHUNK, PendingDigest
from imgscan.image import ImageIdentity


def test_the_pending_digest_is_the_files_sha256(tmp_path: Path) -> None:
    data = os.urandom(CHUNK * 2 + 12345)  # more than one chunk, and a partial last one
    image = tmp_path / "disk.raw"
    image.write_bytes(data)
    identity = ImageIdentity(str(image), PendingDigest(image), "raw")
    assert identity.sha256 == hashlib.sha256(data).hexdigest()
    assert identity.sha256 == hashlib.sha256(data).hexdigest()  # asked twice, the same answer


def test_a_hashing_error_is_raised_to_whoever_asks(tmp_path: Path) -> None:
    missing = tmp_path / "gone.vhdx"
    pending = PendingDigest(missing)
    with pytest.raises(FileNotFoundError):
        pending.result()


def test_cancel_stops_the_thread_before_the_last_byte(tmp_path: Path) -> None:
    image = tmp_path / "big.raw"
    with image.open("wb") as fh:
        fh.truncate(CHUNK * 256)  # 1 GiB sparse: far longer to hash than to cancel
    pending = PendingDigest(image)
    pending.cancel()
    assert not any(t.name == "sha256 big.raw" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="cancelled"):
        pending.result()


def test_a_known_digest_is_given_as_is() -> None:
    identity = ImageIdentity("memory:x", "ab" * 32, "memory")
    identity.cancel()  # nothing under way: a no-op
    assert identity.sha256 == "ab" * 32


def _blocked(thread: threading.Thread) -> int:
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16)


def test_the_hashing_thread_leaves_ctrl_c_and_sigterm_to_the_main_thread(tmp_path: Path) -> None:
    image = tmp_path / "long.raw"
    with image.open("wb") as fh:
        fh.truncate(CHUNK * 256)
    pending = PendingDigest(image)
    try:
        (thread,) = (t for t in threading.enumerate() if t.name == "sha256 long.raw")
        both = 1 << (signal.SIGINT - 1) | 1 << (signal.SIGTERM - 1)
        deadline = time.monotonic() + 5  # the thread blocks them as its first step
        while _blocked(thread) & both != both and time.monotonic() < deadline:
            time.sleep(0.001)
        assert _blocked(thread) & both == both
    finally:
        pending.cancel()


def test_cancel_returns_even_when_the_hashing_thread_is_stuck(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C can interrupt the main thread's import at the moment it holds the interpreter's import lock;
    a hashing thread then importing anything waits for ever, and a scan unwinding through cancel() hung
    with it (seen in tests/test_interrupt.py). cancel() waits a bounded time for a thread that only reads."""
    import imgscan.hashing as hashing

    stuck = threading.Event()
    monkeypatch.setattr(hashing, "_file_digest", lambda path, stop: stuck.wait(30) and None)
    monkeypatch.setattr(hashing, "CANCEL_WAIT", 0.2)
    pending = PendingDigest(tmp_path / "any.raw")
    started = time.monotonic()
    pending.cancel()
    assert time.monotonic() - started < 5
    stuck.set()
