"""Kind `partitions`: the disk's partition table, for checks that judge a partition (WinRE's free space).

Only a disk image has partitions. A WIM or an extracted directory holds the files of one volume, and
the EFI system and recovery partitions of a host built from a WIM are made when the image is deployed;
a bare volume image has no partition table. A check that needs partitions is then skipped, and the
inventory says why, instead of "completing" with nothing to judge and reporting the image clean.
(The report's partitions section is the boot kind's, which reads them whether or not a check needs them.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgscan.artefacts.lacking import COLLECTIONS
from imgscan.kinds import Kind

if TYPE_CHECKING:
    from imgscan.image.partitions import Partition
    from imgscan.kinds import Loader


def absent(art: Loader) -> str:
    """Why there are no partitions, in the words of the container the image came in."""
    return {
        "wim": "a WIM has no partitions: the EFI system and recovery partitions are made when the image is deployed",
        "directory": "an extracted directory has no partitions: scan the disk image it came from",
        "raw-volume": "a volume image has no partition table: scan the whole disk",
        **dict.fromkeys(COLLECTIONS, "a triage collection holds files, not the disk's partitions: scan the disk image"),
    }.get(art.container, "the disk's partition table lists no partition")


def load(art: Loader) -> list[Partition]:
    return list(art.partitions)


PARTITIONS = Kind(
    name="partitions",
    paths=(),  # read from the disk's partition table, not from files
    load=load,
    absent=absent,
    reading="reading the partitions",
)
