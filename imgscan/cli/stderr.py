"""Warnings and progress that a reader's going away cannot turn into a failed gate.

`imgscan scan IMAGE 2>&1 | head -1` closes the pipe stderr writes to: the next warning raised
BrokenPipeError, which escaped as an uncaught exception, and the run exited 1, the code of a gate that
found something, with the report already delivered. What goes to stderr is diagnostics: once nobody
reads it, it is dropped (the descriptor is pointed at /dev/null, so that tqdm, logging and the flush at
exit write nowhere instead of failing again), and the exit code stays the run's own.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class Diagnostics:
    """sys.stderr, less the failure of a reader that went away."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop()

    def _drop(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding...: the stream's own
        return getattr(self._stream, name)


def guard() -> None:
    """Make sys.stderr a `Diagnostics` (once: one process runs several commands in the tests)."""
    if not isinstance(sys.stderr, Diagnostics):
        sys.stderr = Diagnostics(sys.stderr)
