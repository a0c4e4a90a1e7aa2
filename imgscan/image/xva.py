"""The disks of a XenServer/XCP-ng export (.xva), read in place from the tar.

xapi writes each disk (a VDI, `Ref:N` in ova.xml) as tar members `Ref:N/00000000`, `Ref:N/00000001`, ...
of 1 MiB each, leaving out blocks of zeros, each with a `.checksum` (SHA-1) or `.xxhash` member. dissect's
XvaLoader finds the disks and their sizes; its block reader (dissect.archive 1.8, `_iter_block_files`)
loses the disk's last block (a block is emitted only when the next one starts) and takes `Ref:2` blocks
for `Ref:20`'s too (a prefix match), so the end of a Windows volume (a recovery partition, the NTFS
backup boot sector) would read as zeros. This reader keeps dissect's placement of blocks, including its
handling of empty block members (an empty member does not advance the offset), and fixes both.
"""

from __future__ import annotations

import tarfile
from bisect import bisect_right
from typing import Any

from dissect.target.containers.raw import RawContainer
from dissect.util.stream import AlignedStream

from imgscan.numerals import ascii_int

BLOCK = 1024 * 1024


class XvaDisk(AlignedStream):  # type: ignore[misc,unused-ignore]  # dissect.util ships no type information
    """One VDI of the XVA as a stream of `size` bytes; what no block covers reads as zeros."""

    def __init__(self, tar: tarfile.TarFile, ref: str, size: int) -> None:
        self.tar = tar
        self.offsets: list[int] = []
        self.members: list[tarfile.TarInfo] = []
        blocks = sorted(
            (index, member)
            for member in tar.getmembers()
            for folder, _, name in [member.name.partition("/")]
            if folder == ref and (index := ascii_int(name)) is not None and member.isfile()
        )
        offset, previous = 0, -1
        for index, member in blocks:
            offset += max(index - previous - 1, 0) * BLOCK  # the blocks of zeros xapi left out
            if member.size:
                self.offsets.append(offset)
                self.members.append(member)
                offset += member.size
            previous = index
        super().__init__(size, align=BLOCK)

    def _read(self, offset: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            at = offset + len(out)
            i = bisect_right(self.offsets, at) - 1
            data = b""
            if i >= 0 and at < self.offsets[i] + self.members[i].size:
                block = self.tar.extractfile(self.members[i])
                data = block.read()[at - self.offsets[i] :] if block is not None else b""
            out += data or bytes(BLOCK - at % BLOCK)
        return bytes(out[:length])


def map_xva(loader: Any, target: Any) -> None:
    """Add each disk of the XVA dissect's `loader` read to `target`, as dissect's XvaLoader.map does, with
    the size ova.xml gives it (read by dissect)."""
    for ref in loader.xva.disks():
        size = int(loader.xva.open(ref).size)
        target.disks.add(RawContainer(XvaDisk(loader.xva.tar, ref, size)))
