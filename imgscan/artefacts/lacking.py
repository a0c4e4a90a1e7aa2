"""What a triage collection lacks: the files a kind declares that the collection does not hold.

A collection (a tar or zip of a volume's files, a KAPE VHDX) holds what its collector chose: usually the
hives and the logs, often not the catalogs (`CatRoot`, `servicing\\Packages`), never the boot partition.
A check whose kind is absent is skipped; on a collection its reason also names the kind's declared paths
(its `Kind.paths`, the files the kind reads) that the collection holds none of, so a responder knows what to
collect again. The collection is *partial* when it lacks a kind every installed Windows volume has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgscan.artefacts.catalogs import CATALOGS
from imgscan.artefacts.machine_hives import MACHINE_HIVES
from imgscan.artefacts.packages import PACKAGES
from imgscan.artefacts.user_hives import USER_HIVES
from imgscan.image.volume import WindowsVolume, has_match
from imgscan.kinds import Kind

COLLECTIONS = ("tar", "zip", "kape-vhdx")  # containers of collected files, not of a volume
# kinds every installed Windows (Vista and later) has on its system volume: the machine hives and the
# Default profile's, the servicing packages and their catalogs; a collection without them left them out
EVERY_WINDOWS_HAS: tuple[Kind[Any], ...] = (MACHINE_HIVES, USER_HIVES, PACKAGES, CATALOGS)


def lacking(container: str, volume: WindowsVolume, paths: Sequence[str]) -> list[str]:
    """The declared `paths` of a kind that match no file of a collection, as Windows writes them (none for
    another container: what a disk image or a WIM lacks, the hosts built from it lack too)."""
    if container not in COLLECTIONS:
        return []
    return [path.lstrip("/").replace("/", "\\") for path in paths if not has_match(volume, path)]


def lacking_note(missing: Sequence[str]) -> str:
    """`; the collection holds none of X, Y` for a skipped check's reason, or nothing."""
    return f"; the collection holds none of {', '.join(missing)}" if missing else ""
