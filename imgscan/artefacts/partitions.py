"""Kind `partitions`: the disk's partition table, for checks that judge a partition (WinRE's free space).

Only a disk image has partitions. A WIM or an extracted directory holds the files of one volume, and
the EFI system and recovery partitions of a host built from a WIM are made when the image is deployed;
a bare volume image has no partition table. A check that needs partitions is then skipped, and the
inventory says why, instead of "completing" with nothing to judge and reporting the image clean.

A fleet host can say how much its recovery partition has free (imgscan.hosts): that partition is the
host's, made when the image was deployed, so it replaces the free space of the image's own recovery
partition, or, where the image has none (a WIM), stands in for it (scheme "host").
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from imgscan.artefacts.lacking import COLLECTIONS
from imgscan.image.partitions import Partition

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS: tuple[str, ...] = ()  # read from the disk's partition table, not from files


def ABSENT(art: ArtefactLoader) -> str:  # noqa: N802 - the name every kind module uses for its absence reason
    """Why there are no partitions, in the words of the container the image came in."""
    return {
        "wim": "a WIM has no partitions: the EFI system and recovery partitions are made when the image is deployed",
        "directory": "an extracted directory has no partitions: scan the disk image it came from",
        "raw-volume": "a volume image has no partition table: scan the whole disk",
        **dict.fromkeys(COLLECTIONS, "a triage collection holds files, not the disk's partitions: scan the disk image"),
    }.get(art.container, "the disk's partition table lists no partition")


def load(art: ArtefactLoader) -> list[Partition]:
    partitions = list(art.partitions)
    free = art.host_facts.recovery_free_bytes
    if free is None:
        return partitions
    if any(p.role == "recovery" for p in partitions):
        return [replace(p, free_bytes=free) if p.role == "recovery" else p for p in partitions]
    return [*partitions, Partition(0, "host", "", "recovery", "the host's recovery partition", -1, 0, free_bytes=free)]
