"""What the NTFS harnesses share: a small volume of recognisable bytes, MFT records on it built the
way dissect.ntfs builds them, and seeds taken from the sample disk images' own NTFS volumes."""

from __future__ import annotations

import functools
import io
from typing import Any

CLUSTER = 4096
CLUSTERS = 64


class Volume(io.BytesIO):
    """The volume's bytes (cluster n holds bytes n, n+1, ...), counting what is asked of it."""

    def __init__(self) -> None:
        super().__init__(b"".join(bytes((n + i) % 251 for i in range(256)) * (CLUSTER // 256) for n in range(CLUSTERS)))
        self.asked = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.asked += (len(self.getbuffer()) - self.tell()) if size is None or size < 0 else size
        return super().read(size)


def ntfs(volume: Volume) -> Any:
    """The parts of a dissect.ntfs NTFS object the record and index readers use."""
    from types import SimpleNamespace

    return SimpleNamespace(fh=volume, cluster_size=CLUSTER, cluster_size_shift=CLUSTER.bit_length() - 1, mft=None)


def record(data: bytes, volume: Volume) -> Any:
    """An MftRecord over `data` as dissect makes one (`MftRecord.from_bytes`), with the update sequence
    already applied: the fuzzer varies what the readers see, not the fixup dissect checks first."""
    from dissect.ntfs.c_ntfs import c_ntfs
    from dissect.ntfs.mft import MftRecord

    made = MftRecord()
    made.ntfs = ntfs(volume)
    made.data = data
    made.header = c_ntfs._FILE_RECORD_SEGMENT_HEADER(data)
    return made


@functools.cache
def samples() -> tuple[tuple[bytes, ...], tuple[tuple[bytes, bytes], ...]]:
    """The MFT records (fixed up) of every file and directory of two sample disk images (their own
    NTFS volumes, written by ntfs-3g), and each directory's ($INDEX_ROOT value, $INDEX_ALLOCATION
    stream)."""
    from fuzz.sources import REPO
    from imgscan.image.disk import open_disk

    records: list[bytes] = []
    indexes: list[tuple[bytes, bytes]] = []
    for image in sorted((REPO / "sample_images" / "built").glob("*.vhdx"))[:2]:
        volume = open_disk(image, "vhdx")[0]
        pending = [volume._fs.get("/")]  # type: ignore[attr-defined]
        while pending:
            directory = pending.pop()
            live = directory.entry
            records.append(live.data)
            try:
                allocation = live.open("$I30", 0xA0).read()
            except FileNotFoundError:
                allocation = b""
            indexes.append((live.open("$I30", 0x90).read(), allocation))
            for child in directory.scandir():
                if child.name in (".", "$Extend"):
                    continue
                got = child.get()
                if got.is_dir(follow_symlinks=False):
                    pending.append(got)
                else:
                    records.append(got.entry.data)
    return tuple(records), tuple(indexes)
