"""Text lines from a binary log stream, with bounded memory and any of Windows' log encodings.

Encoding from the byte-order mark (UTF-16 LE/BE, UTF-8), else UTF-8; invalid
bytes become U+FFFD instead of failing. Lines longer than MAX_LINE characters
are cut there (the rest of that line is read and dropped, never held), so a
2 GB log without a newline costs MAX_LINE characters of memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO

MAX_LINE = 64 * 1024
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def sniff_encoding(head: bytes) -> str:
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    if len(head) >= 4 and head[1:4:2] == b"\0\0" and head[0:4:2] != b"\0\0":
        return "utf-16-le"  # UTF-16 without a BOM: ASCII text with every other byte zero
    return "utf-8"


def lines(fh: BinaryIO) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without the line end, whether it was cut) for every line of `fh`."""
    buffered = fh if isinstance(fh, io.BufferedReader) else io.BufferedReader(_Raw(fh), buffer_size=1 << 20)
    encoding = sniff_encoding(buffered.peek(4)[:4])
    text = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline=None)
    number = 0
    while True:
        line = text.readline(MAX_LINE)
        if not line:
            return
        number += 1
        cut = not line.endswith("\n")
        if cut:
            while (rest := text.readline(MAX_LINE)) and not rest.endswith("\n"):
                pass
            cut = bool(rest) or len(line) >= MAX_LINE
        yield number, line.rstrip("\r\n"), cut


class _Raw(io.RawIOBase):
    """Adapts any object with read() (dissect file handles, cabinet members) to RawIOBase."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._fh.read(len(view))
        view[: len(data)] = data
        return len(data)
