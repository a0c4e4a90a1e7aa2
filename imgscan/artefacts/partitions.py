"""Kind `partitions`: the disk's partition table, for checks that judge a partition (WinRE's free space).

Only a disk image has partitions. A WIM or an extracted directory holds the files of one volume, and
the EFI system and recovery partitions of a host built from a WIM are made when the image is deployed;
a bare volume image has no partition table. A check that needs partitions is then skipped, and the
inventory says why, instead of "completing" with nothing to judge and reporting the image clean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader
    from imgscan.image.partitions import Partition

PATHS: tuple[str, ...] = ()  # read from the disk's partition table, not from files


def ABSENT(art: ArtefactLoader) -> str:  # noqa: N802 - the name every kind module uses for its absence reason
    """Why there are no partitions, in the words of the container the image came in."""
    return {
        "wim": "a WIM has no partitions: the EFI system and recovery partitions are made when the image is deployed",
        "directory": "an extracted directory has no partitions: scan the disk image it came from",
        "raw-volume": "a volume image has no partition table: scan the whole disk",
    }.get(art.container, "the disk's partition table lists no partition")


def load(art: ArtefactLoader) -> list[Partition]:
    return list(art.partitions)
